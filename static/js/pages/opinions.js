// Written opinions (/?view=opinions): the office (secretary, chair, admin) sees every
// request with its deadline and how many have answered; a point or a person sees what was
// asked of them, whether it still needs an answer, and a reminder as the deadline nears.
import { roles, session } from "../app.js";
import { api } from "../api.js";
import { formatTime, t } from "../i18n.js";
import { MANAGER_ROLES, NEW_HREF, SENDER_ROLES, opinionHref, phaseBadge, reminderText } from "../opinions.js";
import { el } from "../ui.js";

function answerState(item, manager) {
  if (item.to_answer > 0) {
    return item.phase === "open"
      ? el("span", { class: "badge opinion-due-badge" }, t("opinion.state_to_answer"))
      : el("span", { class: "badge opinion-missed" }, t("opinion.state_missed"));
  }
  // A manager is listed every request: "answered" only where they were asked.
  return item.asked > 0 ? el("span", { class: "badge opinion-done" }, t("opinion.state_answered")) : null;
}

function row(item, manager) {
  const zone = session.zone;
  return el(
    "li",
    { class: "opinion", "data-opinion": item.id, "data-phase": item.phase },
    el(
      "div",
      { class: "what" },
      el("a", { href: opinionHref(item.id), class: "title" }, item.title),
      phaseBadge(item.phase),
      answerState(item, manager),
    ),
    el(
      "div",
      { class: "facts-line" },
      el(
        "span",
        {},
        item.closed_at
          ? t("opinion.closed_at", { time: formatTime(item.closed_at, zone) })
          : t("opinion.deadline_at", { time: formatTime(item.deadline, zone) }),
      ),
      manager && item.recipients !== null
        ? el("span", { class: "answered" }, t("opinion.answered_of", { answered: item.answered, recipients: item.recipients }))
        : null,
      el("span", { class: "role" }, t("opinion.sent_by", { name: item.created_by })),
    ),
    item.reminder_hours && item.to_answer > 0
      ? el("p", { class: "opinion-reminder" }, reminderText(item.deadline))
      : null,
  );
}

export async function render(view) {
  const { items } = await api("/api/opinions");
  const mine = roles();
  const manager = MANAGER_ROLES.some((r) => mine.has(r));
  const sender = SENDER_ROLES.some((r) => mine.has(r));
  const groups = { open: [], closed: [] };
  for (const item of items) groups[item.phase].push(item);

  view.append(
    el(
      "section",
      { class: "card" },
      el("h1", {}, t("opinion.list_title")),
      el("p", { class: "hint" }, manager ? t("opinion.list_hint_manager") : t("opinion.list_hint_recipient")),
      sender
        ? el("div", { class: "actions" }, el("a", { class: "button primary", href: NEW_HREF, id: "new-opinion" }, t("opinion.new")))
        : null,
    ),
  );
  for (const [phase, list] of Object.entries(groups)) {
    view.append(
      el(
        "section",
        { class: "card", "aria-labelledby": `opinions-${phase}-title`, id: `opinions-${phase}` },
        el("h2", { id: `opinions-${phase}-title` }, t(`opinion.group_${phase}`)),
        list.length
          ? el("ul", { class: "opinions" }, list.map((item) => row(item, manager)))
          : el("p", { class: "empty" }, t("opinion.none")),
      ),
    );
  }
}
