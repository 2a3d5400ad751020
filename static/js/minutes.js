// Minutes (biên bản), shared by the editor, the approval page and the meeting page:
// links, refusals in words, who is who in the chain, and the chain's progress.

import { session } from "./app.js";
import { api, ApiError } from "./api.js";
import { formatTime, problemText, t } from "./i18n.js";
import { el } from "./ui.js";

export function minutesHref(meetingId) {
  return `/meetings/${meetingId}?view=minutes`;
}

export function approvalHref(meetingId) {
  return `/meetings/${meetingId}?view=approval`;
}

export function minutesApi(meetingId) {
  return `/api/meetings/${meetingId}/minutes`;
}

// The meeting's minutes, or null while none have been drafted.
export async function loadMinutes(meetingId) {
  try {
    return await api(minutesApi(meetingId));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.code === "not_found") return null;
    throw error;
  }
}

// A refusal in words. Some codes mean something else here than elsewhere: a signing
// session (not the sign-in) expires; what is missing is the minutes, not the meeting.
export function minutesProblem(error) {
  if (!(error instanceof ApiError)) return t("error.generic", { detail: String(error) });
  if (error.code === "wrong_pin") {
    const left = error.data?.tries_left;
    return left === undefined ? t("minutes.wrong_pin_plain") : t("minutes.wrong_pin", { tries: left });
  }
  if (error.code === "session_expired" && error.status === 410) return t("minutes.signing_expired");
  if (error.code === "not_found") return t("minutes.not_found");
  return problemText(error.code, error.detail);
}

// user id -> name, from what the page knows: the meeting's chair and secretary, the chain
// (names of the current approvers), and the directory when the caller may read it.
export async function peopleNames(meeting, minutes, { directory = null } = {}) {
  const names = new Map();
  for (const person of [meeting.chair, meeting.secretary]) if (person) names.set(person.id, person.full_name);
  for (const person of directory ?? []) names.set(person.id, person.full_name);
  for (const approver of minutes?.approvers ?? []) if (approver.name) names.set(approver.id, approver.name);
  if (session.me?.kind === "user") names.set(session.me.user.id, session.me.user.full_name);
  return names;
}

// The directory of people who may approve (chair or secretary role), or null when the
// caller may not read it.
export async function approverDirectory() {
  try {
    const people = await api("/api/users/directory");
    return people.filter((p) => p.roles.includes("chair") || p.roles.includes("secretary"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return null;
    throw error;
  }
}

export function nameOf(names, id) {
  return names.get(id) ?? t("minutes.person_n", { id });
}

export function myId() {
  return session.me?.kind === "user" ? session.me.user.id : null;
}

export function signedCount(minutes) {
  return minutes.approvers.filter((a) => a.signed).length;
}

export function statusBadge(minutes) {
  return el(
    "span",
    { class: `badge minutes-${minutes.status}`, id: "minutes-status" },
    t(`minutes.status_${minutes.status}`),
  );
}

// Who signed (when, how), who is next, who waits; and every rejection with its comment.
export function chainProgress(minutes, names) {
  const zone = session.zone;
  const me = myId();
  const signedSteps = minutes.steps.filter((s) => s.outcome === "signed" && s.version === minutes.submitted_version);
  const items = minutes.approvers.map((approver, index) => {
    const step = signedSteps.find((s) => s.approver_id === approver.id);
    const next = minutes.next_approver === approver.id;
    const state = approver.signed ? "signed" : next ? "next" : "waiting";
    const who = nameOf(names, approver.id) + (approver.id === me ? ` ${t("minutes.you")}` : "");
    let detail;
    if (approver.signed && step)
      detail = t("minutes.signed_at", {
        time: formatTime(step.at, zone),
        method: t(step.method === "external" ? "minutes.method_external" : "minutes.method_server_key"),
      });
    else detail = t(`minutes.chain_${state}`);
    return el(
      "li",
      { class: `chain-step ${state}`, "data-state": state, "data-approver": approver.id, "aria-current": next ? "step" : null },
      el("span", { class: "mark", "aria-hidden": "true" }, { signed: "✓", next: "➜", waiting: "…" }[state]),
      el("span", { class: "name" }, `${index + 1}. ${who}`),
      el("span", { class: "role" }, detail),
    );
  });
  const rejections = minutes.steps
    .filter((s) => s.outcome === "rejected")
    .reverse()
    .map((s) =>
      el(
        "li",
        { class: "rejection" },
        el(
          "span",
          { class: "name" },
          t("minutes.rejected_line", { version: s.version, name: nameOf(names, s.approver_id), time: formatTime(s.at, zone) }),
        ),
        el("q", { class: "comment" }, s.comment),
      ),
    );
  return el(
    "div",
    { class: "chain", id: "chain" },
    items.length
      ? [
          el("p", { class: "big", id: "chain-summary" }, chainSummary(minutes, names)),
          el("ol", { class: "chain-steps", "aria-label": t("minutes.chain") }, items),
        ]
      : el("p", { class: "empty", id: "chain-summary" }, t("minutes.chain_none")),
    rejections.length
      ? [el("h3", {}, t("minutes.rejections")), el("ul", { class: "list rejections", id: "rejections" }, rejections)]
      : null,
  );
}

function chainSummary(minutes, names) {
  const signed = signedCount(minutes);
  const total = minutes.approvers.length;
  if (minutes.status === "final") return t("minutes.summary_final", { total });
  if (minutes.next_approver === null) return t("minutes.summary_draft");
  if (minutes.next_approver === myId()) return t("minutes.summary_your_turn", { signed, total });
  return t("minutes.summary_waiting", { signed, total, name: nameOf(names, minutes.next_approver) });
}

// The latest rejection, if it is what the draft answers to (no approval since).
export function lastRejection(minutes) {
  const last = minutes.steps[minutes.steps.length - 1];
  return minutes.status === "draft" && last?.outcome === "rejected" ? last : null;
}

// Links to the document in approval (with the signatures so far) or the final record.
export function documentLink(minutes) {
  if (!minutes.document_url) return null;
  return el(
    "a",
    { class: `button${minutes.final ? " primary" : ""}`, href: minutes.document_url, download: "", id: "minutes-download" },
    t(minutes.final ? "minutes.download_final" : "minutes.download_current"),
  );
}
