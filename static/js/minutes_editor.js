// The pieces of the minutes editor: rows that are added, removed and reordered from the
// keyboard, what the server filled from the meeting, the minutes as text, the diff.

import { t } from "./i18n.js";
import { el } from "./ui.js";

// A list of rows the editor adds to, removes from and reorders (sections, decisions,
// approvers). draw() redraws it; after a move the same button of the moved row keeps
// the focus, so the keyboard can carry on.
export function reorderable({ list, items, row, label, onChange = () => {} }) {
  function move(index, step) {
    const to = index + step;
    [items[index], items[to]] = [items[to], items[index]];
    onChange();
    draw();
    // At an end the same button is disabled: the other one keeps the focus instead.
    const moved = list.children[to];
    const same = moved?.querySelector(step < 0 ? ".move-up" : ".move-down");
    (same?.disabled ? moved.querySelector(step < 0 ? ".move-down" : ".move-up") : same)?.focus();
  }
  function remove(index) {
    items.splice(index, 1);
    onChange();
    draw();
    (list.children[Math.min(index, items.length - 1)]?.querySelector("input, textarea, button") ?? list).focus?.();
  }
  function draw() {
    list.replaceChildren(
      ...items.map((item, index) => {
        const up = el("button", { type: "button", class: "move-up", disabled: index === 0, onclick: () => move(index, -1) }, "↑");
        const down = el("button", { type: "button", class: "move-down", disabled: index === items.length - 1, onclick: () => move(index, 1) }, "↓");
        const drop = el("button", { type: "button", class: "danger remove", onclick: () => remove(index) }, t("minutes.remove_short"));
        // The buttons are named after the row ("Move “Kết luận” up"), as it is typed.
        const name = () => {
          const what = label(item, index);
          up.setAttribute("aria-label", t("minutes.move_up", { what }));
          down.setAttribute("aria-label", t("minutes.move_down", { what }));
          drop.setAttribute("aria-label", t("minutes.remove", { what }));
        };
        name();
        return el("li", { class: "editable-row", oninput: name }, row(item, index), el("div", { class: "actions row-actions" }, up, down, drop));
      }),
    );
  }
  return { draw };
}

// What the server filled from the meeting: shown, not edited (it is the record).
export function meetingFacts(content) {
  const meeting = content.meeting ?? {};
  const attendance = content.attendance ?? {};
  const names = (list) => (list?.length ? list.join(", ") : t("minutes.nobody"));
  return el(
    "details",
    { class: "facts-box", id: "minutes-facts" },
    el("summary", {}, t("minutes.from_meeting")),
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, t("meeting.when")),
      el("dd", {}, meeting.time ?? ""),
      el("dt", {}, t("minutes.place")),
      el("dd", {}, meeting.place ?? ""),
      el("dt", {}, t("meeting.chair")),
      el("dd", {}, meeting.chair ?? ""),
      el("dt", {}, t("meeting.secretary")),
      el("dd", {}, meeting.secretary ?? ""),
      el("dt", {}, t("minutes.points_present")),
      el("dd", { id: "points-present" }, names(attendance.points_present)),
      el("dt", {}, t("minutes.points_absent")),
      el("dd", { id: "points-absent" }, names(attendance.points_absent)),
      el("dt", {}, t("minutes.people")),
      el("dd", {}, names(attendance.people)),
    ),
    el("h3", {}, t("meeting.agenda")),
    content.agenda?.length
      ? el(
          "ol",
          {},
          content.agenda.map((item) => el("li", {}, item.title, item.presenter ? ` (${item.presenter})` : "")),
        )
      : el("p", { class: "empty" }, t("meeting.agenda_none")),
  );
}

// The minutes as text, for those who read them here rather than in the PDF.
export function readOnly(content) {
  return el(
    "div",
    { class: "minutes-text", id: "minutes-text" },
    el("h3", {}, content.title ?? ""),
    meetingFacts(content),
    content.decisions?.length
      ? [
          el("h4", {}, t("minutes.decisions")),
          el("ul", {}, content.decisions.map((d) => el("li", {}, `${d.title} — ${d.result}`))),
        ]
      : null,
    (content.sections ?? []).flatMap((s) => [el("h4", {}, s.heading), el("p", { class: "prewrap" }, s.text)]),
  );
}

export function diffView(text, from, to) {
  const lines = text.split("\n").filter((line) => !line.startsWith("---") && !line.startsWith("+++"));
  if (!lines.length) return el("p", { class: "empty", id: "diff" }, t("minutes.diff_same", { from, to }));
  return el(
    "div",
    { class: "diff", id: "diff", role: "region", tabindex: "0", "aria-label": t("minutes.diff_label", { from, to }) },
    lines.map((line) => {
      if (line.startsWith("@@")) return el("div", { class: "diff-hunk" }, t("minutes.diff_hunk"));
      const body = line.slice(1);
      if (line.startsWith("+"))
        return el("div", { class: "diff-line added" }, el("span", { class: "visually-hidden" }, t("minutes.diff_added")), el("ins", {}, `+ ${body}`));
      if (line.startsWith("-"))
        return el("div", { class: "diff-line removed" }, el("span", { class: "visually-hidden" }, t("minutes.diff_removed")), el("del", {}, `− ${body}`));
      return el("div", { class: "diff-line same" }, `  ${body}`);
    }),
  );
}
