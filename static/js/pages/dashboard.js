// My meetings: today, upcoming, past; above them, the written opinions still to answer
// (this is also the home of a conference point's kiosk).
import { session, showError } from "../app.js";
import { api } from "../api.js";
import { formatClock, formatDay, t } from "../i18n.js";
import { reminderCard } from "../opinions.js";
import { selfTestInvite } from "../selftest.js";
import { el } from "../ui.js";

const HISTORY_DAYS = 60;

function dayKey(iso, zone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(
    new Date(iso),
  );
}

export function meetingCard(meeting) {
  const zone = session.zone;
  const enter =
    meeting.status === "live" || meeting.status === "scheduled"
      ? el("a", { class: "button primary", href: `/meetings/${meeting.id}/room` }, t("dash.enter_room"))
      : null;
  return el(
    "li",
    { class: "meeting", "data-status": meeting.status },
    el(
      "div",
      { class: "when" },
      el("span", { class: "day" }, formatDay(meeting.starts_at, zone)),
      el("span", { class: "time" }, `${formatClock(meeting.starts_at, zone)}–${formatClock(meeting.ends_at, zone)}`),
    ),
    el(
      "div",
      { class: "what" },
      el("a", { href: `/meetings/${meeting.id}`, class: "title" }, meeting.title),
      el("span", { class: `badge status-${meeting.status}` }, t(`status.${meeting.status}`)),
      meeting.classification === "confidential" ? el("span", { class: "badge confidential" }, t("class.confidential")) : null,
      meeting.my_invitation ? el("span", { class: "badge" }, t(`invite.${meeting.my_invitation}`)) : null,
      el("span", { class: "host" }, meeting.host_unit.name),
    ),
    enter,
  );
}

export async function render(view) {
  const from = new Date(Date.now() - HISTORY_DAYS * 86400000).toISOString();
  const page = await api(`/api/meetings?from=${encodeURIComponent(from)}&limit=200`);
  const zone = session.zone;
  const today = dayKey(new Date().toISOString(), zone);
  const groups = { today: [], upcoming: [], past: [] };
  for (const meeting of page.items) {
    const day = dayKey(meeting.starts_at, zone);
    if (day === today || meeting.status === "live") groups.today.push(meeting);
    else if (day > today) groups.upcoming.push(meeting);
    else groups.past.push(meeting);
  }
  groups.past.reverse();
  view.append(el("h1", {}, t("dash.title")));
  if (session.me?.kind === "point") view.append(selfTestInvite());
  try {
    const reminders = await reminderCard(zone);
    if (reminders) view.append(reminders);
  } catch (error) {
    showError(error); // the meetings still show
  }
  for (const [key, meetings] of Object.entries(groups)) {
    view.append(
      el(
        "section",
        { class: "card", "aria-labelledby": `dash-${key}`, id: `meetings-${key}` },
        el("h2", { id: `dash-${key}` }, t(`dash.${key}`)),
        meetings.length
          ? el("ul", { class: "meetings" }, meetings.map(meetingCard))
          : el("p", { class: "empty" }, t("dash.none")),
      ),
    );
  }
}
