// One meeting: when, who, the agenda, the invitations, and what the caller may do.
import { session, showError } from "../app.js";
import { api } from "../api.js";
import { documentsHref } from "../documents.js";
import { minutesHref } from "../minutes.js";
import { readinessCard } from "../readiness.js";
import { formatClock, formatTime, t } from "../i18n.js";
import { el, notify } from "../ui.js";

export function conflictList(warnings) {
  if (!warnings?.length) return null;
  return el(
    "section",
    { class: "card warning", role: "status", id: "conflicts" },
    el("h2", {}, t("meeting.conflicts")),
    el(
      "ul",
      {},
      warnings.map((w) =>
        el(
          "li",
          {},
          t("meeting.conflict_line", {
            count: w.points.length,
            title: w.meeting_title ?? t("meeting.conflict_hidden"),
            time: `${formatTime(w.starts_at, session.zone)}–${formatClock(w.ends_at, session.zone)}`,
          }),
        ),
      ),
    ),
  );
}

// Conflicts found while creating a meeting, shown once on its page.
const pending = new Map();
export function showWarningsNext(meetingId, warnings) {
  if (warnings?.length) pending.set(meetingId, warnings);
}

export async function render(view, { params }, warnings = null) {
  const id = Number(params[0]);
  if (warnings === null && pending.has(id)) {
    warnings = pending.get(id);
    pending.delete(id);
  }
  const [meeting, agenda, invitations, recordings] = await Promise.all([
    api(`/api/meetings/${id}`),
    api(`/api/meetings/${id}/agenda`),
    api(`/api/meetings/${id}/invitations`),
    api(`/api/meetings/${id}/recordings`),
  ]);
  const zone = session.zone;
  const rerender = async (newWarnings) => {
    view.replaceChildren();
    try {
      await render(view, { params }, newWarnings);
    } catch (error) {
      showError(error);
    }
  };

  const actions = el(
    "div",
    { class: "actions" },
    meeting.allowed_actions.map((action) =>
      el(
        "button",
        {
          type: "button",
          class: action === "cancel" ? "danger" : "primary",
          onclick: async () => {
            if (action === "cancel" && !confirm(t("action.confirm_cancel"))) return;
            try {
              const result = await api(`/api/meetings/${id}/${action}`, { method: "POST" });
              await rerender(result.warnings);
            } catch (error) {
              showError(error);
            }
          },
        },
        t(`action.${action}`),
      ),
    ),
    ["scheduled", "live"].includes(meeting.status)
      ? el("a", { class: "button primary", href: `/meetings/${id}/room` }, t("dash.enter_room"))
      : null,
    el("a", { class: "button", href: documentsHref(id), id: "documents-link" }, t("meeting.documents")),
    // Minutes are drafted once the meeting has been held.
    ["live", "ended", "closed"].includes(meeting.status)
      ? el("a", { class: "button", href: minutesHref(id), id: "minutes-link" }, t("meeting.minutes_link"))
      : null,
    el("a", { class: "button", href: `/api/meetings/${id}.ics`, download: `meeting-${id}.ics` }, t("meeting.calendar")),
    meeting.can_edit
      ? el("a", { class: "button", href: `/api/meetings/${id}/attendance?format=csv` }, t("meeting.attendance"))
      : null,
  );

  const answer =
    meeting.my_invitation && ["scheduled", "live"].includes(meeting.status)
      ? el(
          "div",
          { class: "actions", id: "my-answer" },
          el("span", {}, t("meeting.your_answer", { state: t(`invite.${meeting.my_invitation}`) })),
          ["accepted", "declined"].map((state) =>
            el(
              "button",
              {
                type: "button",
                "aria-pressed": meeting.my_invitation === state ? "true" : "false",
                onclick: async () => {
                  try {
                    await api(`/api/meetings/${id}/invitations/me`, { method: "PUT", body: { state } });
                    await rerender();
                  } catch (error) {
                    showError(error);
                  }
                },
              },
              t(state === "accepted" ? "meeting.answer_accept" : "meeting.answer_decline"),
            ),
          ),
        )
      : null;

  const facts = el(
    "dl",
    { class: "facts" },
    el("dt", {}, t("meeting.when")),
    el("dd", {}, `${formatTime(meeting.starts_at, zone)} – ${formatClock(meeting.ends_at, zone)}`),
    el("dt", {}, t("meeting.host")),
    el("dd", {}, meeting.host_unit.name),
    el("dt", {}, t("meeting.chair")),
    el("dd", {}, meeting.chair.full_name),
    el("dt", {}, t("meeting.secretary")),
    el("dd", {}, meeting.secretary.full_name),
    el("dt", {}, t("meeting.classification")),
    el("dd", {}, t(`class.${meeting.classification}`)),
    el("dt", {}, t("meeting.invited")),
    el("dd", {}, t("meeting.invited_counts", { points: meeting.invited_points, users: meeting.invited_users })),
  );

  view.append(
    el(
      "section",
      { class: "card" },
      el("h1", {}, meeting.title, " ", el("span", { class: `badge status-${meeting.status}`, id: "meeting-status" }, t(`status.${meeting.status}`))),
      meeting.description ? el("p", { class: "description" }, meeting.description) : null,
      facts,
      actions,
      answer,
    ),
    conflictList(warnings) ?? "",
    readinessCard(meeting),
    el(
      "section",
      { class: "card", "aria-labelledby": "agenda-title" },
      el("h2", { id: "agenda-title" }, t("meeting.agenda")),
      agenda.length
        ? el(
            "ol",
            { class: "agenda" },
            agenda.map((item) =>
              el(
                "li",
                {},
                el("span", { class: "name" }, item.title),
                item.presenter_name ? el("span", { class: "role" }, item.presenter_name) : null,
                el("span", { class: "role" }, t("meeting.minutes", { n: item.planned_minutes })),
              ),
            ),
          )
        : el("p", { class: "empty" }, t("meeting.agenda_none")),
    ),
    recordings.length
      ? el(
          "section",
          { class: "card", "aria-labelledby": "recordings-title" },
          el("h2", { id: "recordings-title" }, t("meeting.recordings")),
          el(
            "ul",
            { class: "list recordings" },
            recordings.map((r) =>
              el(
                "li",
                {},
                el(
                  "span",
                  { class: "name" },
                  t("meeting.recording", {
                    n: r.number,
                    time: formatTime(r.started_at, zone),
                    minutes: Math.max(1, Math.round(r.seconds / 60)),
                  }) + (r.agenda_item_title ? ` — ${r.agenda_item_title}` : ""),
                ),
                el("video", { controls: true, preload: "none", src: r.url, "aria-label": t("meeting.recording_play", { n: r.number }) }),
                el("a", { href: r.url, download: "" }, t("meeting.recording_download")),
              ),
            ),
          ),
        )
      : "",
    el(
      "section",
      { class: "card", "aria-labelledby": "invitations-title" },
      el("h2", { id: "invitations-title" }, t("meeting.invitations")),
      el(
        "p",
        {},
        Object.entries(invitations.counts)
          .filter(([, n]) => n)
          .map(([state, n]) => `${t(`invite.${state}`)}: ${n}`)
          .join(" · "),
      ),
      el(
        "ul",
        { class: "list columns", id: "invitation-list" },
        invitations.items.map((i) =>
          el("li", { "data-state": i.state }, el("span", { class: "name" }, i.name), el("span", { class: "role" }, t(`invite.${i.state}`))),
        ),
      ),
    ),
  );
  if (warnings === null && new URLSearchParams(location.search).get("created")) {
    notify(t("new.created", { points: meeting.invited_points }));
  }
}
