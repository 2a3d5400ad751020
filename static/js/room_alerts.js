// The room's alerts for the chair and the secretary: points of this meeting that dropped
// out, left, degraded or fell silent (GET /api/alerts?meeting_id=…), asked every 5 s and
// listed above the room without blocking it; a new one is said aloud, and each goes away
// when the server clears it.
import { api } from "./api.js";
import { alertDetail, alertLine } from "./health.js";
import { t } from "./i18n.js";

const EVERY_MS = 5000;
const ORGANIZERS = new Set(["chair", "secretary"]);

function node(tag, props = {}, ...children) {
  const made = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) made.setAttribute(key, value);
  made.append(...children.filter((c) => c !== null));
  return made;
}

export function watchAlerts({ meetingId, zone, you }) {
  const title = node("h2", { id: "room-alerts-title" }, t("alert.room_title", { count: 0 }));
  const list = node("ul", { class: "list alerts", id: "room-alerts-list" });
  const section = node("section", { id: "room-alerts", class: "card alerts-card", "aria-labelledby": "room-alerts-title" }, title, list);
  section.hidden = true;
  // Always on the page, so screen readers hear what is put in it.
  const announce = node("p", { id: "room-alerts-live", class: "visually-hidden", "aria-live": "assertive" });
  const room = document.getElementById("room");
  room.prepend(section, announce);

  let shown = new Map(); // alert id -> alert
  const draw = (alerts) => {
    const now = new Map(alerts.map((a) => [a.id, a]));
    const raised = alerts.filter((a) => !shown.has(a.id));
    const cleared = [...shown.values()].filter((a) => !now.has(a.id));
    shown = now;
    section.hidden = !alerts.length;
    title.textContent = t("alert.room_title", { count: alerts.length });
    list.replaceChildren(
      ...alerts.map((a) => {
        const detail = alertDetail(a);
        return node(
          "li",
          { "data-alert": String(a.id), "data-kind": a.kind, "data-alert-point": String(a.point_id) },
          node("span", { class: "sign", "aria-hidden": "true" }, "!"),
          node("span", { class: "name" }, alertLine(a, zone)),
          detail ? node("span", { class: "role" }, detail) : null,
        );
      }),
    );
    const said = [
      ...raised.map((a) => alertLine(a, zone)),
      ...cleared.map((a) => t("alert.cleared", { name: a.point_name })),
    ];
    if (said.length) announce.textContent = said.join(". ");
  };

  const tick = async () => {
    try {
      if (ORGANIZERS.has(you()?.role)) draw(await api(`/api/alerts?meeting_id=${meetingId}`));
      else if (shown.size) draw([]);
    } catch {
      // Offline for a moment: the room says so itself; ask again at the next tick.
    } finally {
      setTimeout(tick, EVERY_MS);
    }
  };
  tick();
}
