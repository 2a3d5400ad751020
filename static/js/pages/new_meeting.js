// A secretary schedules a meeting: time, chair, who is invited (whole units or single
// points), the agenda; then it is scheduled and the invitations go out.
import { go, session, showError } from "../app.js";
import { api } from "../api.js";
import { t } from "../i18n.js";
import { el, field, uid } from "../ui.js";
import { showWarningsNext } from "./meeting.js";

// "2026-12-01" + "08:00" in the province's zone -> "2026-12-01T08:00:00+07:00".
export function zonedIso(date, time, zone) {
  const probe = new Date(`${date}T${time}:00Z`);
  const name = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" })
    .formatToParts(probe)
    .find((part) => part.type === "timeZoneName").value;
  const offset = name === "GMT" ? "+00:00" : name.replace("GMT", "");
  return `${date}T${time}:00${offset}`;
}

function flatten(nodes, depth = 0, out = []) {
  for (const node of nodes) {
    out.push({ ...node, depth });
    flatten(node.children, depth + 1, out);
  }
  return out;
}

function agendaRow(list) {
  const title = el("input", { maxlength: 300, class: "agenda-title" });
  const presenter = el("input", { maxlength: 200, class: "agenda-presenter" });
  const minutes = el("input", { type: "number", min: 1, max: 600, value: 15, class: "agenda-minutes" });
  const row = el(
    "li",
    { class: "agenda-row" },
    field(t("new.agenda_title"), title),
    field(t("new.agenda_presenter"), presenter),
    field(t("new.agenda_minutes"), minutes),
    el("button", { type: "button", onclick: () => row.remove() }, t("new.agenda_remove")),
  );
  list.append(row);
  return row;
}

export async function render(view) {
  const [chairs, units] = await Promise.all([
    api("/api/users/directory?role=chair"),
    api("/api/units"),
  ]);
  const flat = flatten(units);
  const tomorrow = new Intl.DateTimeFormat("en-CA", { timeZone: session.zone }).format(new Date(Date.now() + 86400000));

  const title = el("input", { name: "title", required: true, maxlength: 300 });
  const description = el("textarea", { name: "description", rows: 3 });
  const date = el("input", { type: "date", name: "date", required: true, value: tomorrow });
  const start = el("input", { type: "time", name: "start", required: true, value: "08:00" });
  const end = el("input", { type: "time", name: "end", required: true, value: "10:00" });
  const chair = el(
    "select",
    { name: "chair", required: true },
    el("option", { value: "" }, t("new.pick")),
    chairs.map((c) => el("option", { value: c.id }, c.full_name)),
  );
  if (chairs.length === 1) chair.value = String(chairs[0].id);
  const host = el(
    "select",
    { name: "host", required: true },
    flat.map((u) => el("option", { value: u.id }, `${"  ".repeat(u.depth)}${u.name}`)),
  );
  const confidential = el("input", { type: "checkbox", name: "confidential" });
  const inviteUnits = el(
    "select",
    { name: "invite_units", multiple: true, size: 8 },
    flat.map((u) => el("option", { value: u.id }, `${"\u00a0\u00a0".repeat(u.depth)}${u.name} (${u.point_count})`)),
  );

  // Single points, found by search.
  const chosen = new Map();
  const chosenList = el("ul", { class: "chips", "aria-live": "polite" });
  const results = el("ul", { class: "list" });
  const search = el("input", { type: "search", name: "point_search" });
  const drawChosen = () =>
    chosenList.replaceChildren(
      ...[...chosen.entries()].map(([pointId, name]) =>
        el(
          "li",
          {},
          name,
          el("button", { type: "button", "aria-label": `${t("new.agenda_remove")} ${name}`, onclick: () => { chosen.delete(pointId); drawChosen(); } }, "×"),
        ),
      ),
    );
  let searchTimer;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      if (search.value.trim().length < 2) return results.replaceChildren();
      try {
        const found = await api(`/api/points?q=${encodeURIComponent(search.value.trim())}&limit=20`);
        results.replaceChildren(
          ...found.items.map((p) =>
            el(
              "li",
              {},
              el("span", { class: "name" }, p.name),
              el("span", { class: "role" }, p.unit.name),
              el("button", { type: "button", onclick: () => { chosen.set(p.id, p.name); drawChosen(); } }, "+"),
            ),
          ),
        );
      } catch (error) {
        showError(error);
      }
    }, 250);
  });

  const agendaList = el("ol", { class: "agenda-rows" });
  agendaRow(agendaList);
  const scheduleNow = el("input", { type: "checkbox", name: "schedule_now", checked: true });
  const checkbox = (box, text) => {
    box.id ||= uid("c");
    return el("div", { class: "check" }, box, el("label", { for: box.id }, text));
  };

  const submit = el("button", { type: "submit", class: "primary" }, t("new.submit"));
  const form = el(
    "form",
    { id: "new-meeting", class: "stack" },
    field(t("new.name"), title),
    field(t("new.description"), description),
    el("div", { class: "row" }, field(t("new.date"), date), field(t("new.start"), start), field(t("new.end"), end)),
    el("div", { class: "row" }, field(t("new.chair"), chair), field(t("new.host"), host)),
    checkbox(confidential, t("new.confidential")),
    el("fieldset", {}, el("legend", {}, t("meeting.invited")), field(t("new.invite_units"), inviteUnits), field(t("new.search_points"), search), results, chosenList),
    el(
      "fieldset",
      {},
      el("legend", {}, t("new.agenda")),
      agendaList,
      el("button", { type: "button", onclick: () => agendaRow(agendaList).querySelector("input").focus() }, t("new.agenda_add")),
    ),
    checkbox(scheduleNow, t("new.schedule_now")),
    submit,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const meeting = await api("/api/meetings", {
        method: "POST",
        body: {
          title: title.value.trim(),
          description: description.value,
          host_unit_id: Number(host.value),
          chair_id: Number(chair.value),
          starts_at: zonedIso(date.value, start.value, session.zone),
          ends_at: zonedIso(date.value, end.value, session.zone),
          classification: confidential.checked ? "confidential" : "normal",
        },
      });
      let warnings = [];
      const unitIds = [...inviteUnits.selectedOptions].map((o) => Number(o.value));
      if (unitIds.length || chosen.size) {
        const invited = await api(`/api/meetings/${meeting.id}/invitations`, {
          method: "POST",
          body: { unit_ids: unitIds, point_ids: [...chosen.keys()] },
        });
        warnings = invited.warnings;
      }
      for (const row of agendaList.querySelectorAll(".agenda-row")) {
        const itemTitle = row.querySelector(".agenda-title").value.trim();
        if (!itemTitle) continue;
        await api(`/api/meetings/${meeting.id}/agenda`, {
          method: "POST",
          body: {
            title: itemTitle,
            presenter_name: row.querySelector(".agenda-presenter").value.trim(),
            planned_minutes: Number(row.querySelector(".agenda-minutes").value) || 15,
          },
        });
      }
      if (scheduleNow.checked) {
        const scheduled = await api(`/api/meetings/${meeting.id}/schedule`, { method: "POST" });
        warnings = scheduled.warnings;
      }
      showWarningsNext(meeting.id, warnings);
      go(`/meetings/${meeting.id}?created=1`);
    } catch (error) {
      submit.disabled = false;
      showError(error);
    }
  });

  view.append(el("section", { class: "card" }, el("h1", {}, t("new.title")), form));
  title.focus();
}
