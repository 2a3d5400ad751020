// Written opinions (lấy ý kiến bằng văn bản), shared by the list, the form, the request
// page and the reminders on the dashboard: links, the time left, refusals in words, and
// PDF attachments sent one after another with their progress.

import { session, showError } from "./app.js";
import { api, ApiError, upload } from "./api.js";
import { formatTime, problemText, t } from "./i18n.js";
import { el, notify } from "./ui.js";

export const LIST_HREF = "/?view=opinions";
export const NEW_HREF = "/?view=new_opinion";

export function opinionHref(id) {
  return `/?view=opinion&id=${id}`;
}

export function documentHref(requestId, documentId) {
  return `/api/opinions/${requestId}/documents/${documentId}`;
}

// Who follows every request (the server's managers), and who of them sends requests.
export const MANAGER_ROLES = ["secretary", "chair", "admin"];
export const SENDER_ROLES = ["secretary", "chair"];

export function phaseBadge(phase, id = undefined) {
  return el("span", { class: `badge opinion-${phase}`, id }, t(`opinion.phase_${phase}`));
}

// "Còn 2 ngày 3 giờ", "Còn 5 giờ 10 phút", "Còn 40 phút"; "" once the deadline passed.
export function timeLeft(deadline, now = Date.now()) {
  const minutes = Math.ceil((new Date(deadline).getTime() - now) / 60000);
  if (minutes <= 0) return "";
  const hours = Math.floor(minutes / 60);
  if (hours >= 48) return t("opinion.left_days", { days: Math.floor(hours / 24), hours: hours % 24 });
  if (hours >= 1) return t("opinion.left_hours", { hours, minutes: minutes % 60 });
  return t("opinion.left_minutes", { minutes });
}

// The reminder a recipient sees once a reminder lead time is reached (the server says so
// with reminder_hours): how long is left, in whole hours while there are some.
export function reminderText(deadline, now = Date.now()) {
  const minutes = Math.ceil((new Date(deadline).getTime() - now) / 60000);
  if (minutes < 60) return t("opinion.reminder_minutes", { minutes: Math.max(minutes, 0) });
  return t("opinion.reminder_hours", { hours: Math.floor(minutes / 60) });
}

// A refusal in words; a missing request is not a missing meeting.
export function opinionProblem(error) {
  if (error instanceof ApiError && error.status === 404 && error.code === "not_found") return t("opinion.not_found");
  return error instanceof ApiError ? problemText(error.code, error.detail) : t("error.generic", { detail: String(error) });
}

// An API failure in words: in the page's notice, and beside the control when given; an
// expired session goes to sign-in.
export function opinionFail(error, where = null) {
  if (error instanceof ApiError && error.status === 401) return showError(error);
  const text = opinionProblem(error);
  notify(text, "error");
  if (where) {
    where.textContent = text;
    where.classList.add("error");
  }
}

// A moment in the province's time ("" for none).
export function when(iso) {
  return iso ? formatTime(iso, session.zone) : "";
}

// "2026-12-01T10:00:00Z" -> {date: "2026-12-01", time: "17:00"} in the province's zone,
// for the date and time inputs.
export function zonedParts(iso, zone) {
  const moment = new Date(iso);
  const date = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(moment);
  const time = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(moment);
  return { date, time };
}

// A progress bar with its label and percentage, for attachments being sent.
export function progressMeter(id) {
  const bar = el("progress", { id: `${id}-progress`, max: 100, value: 0 });
  const percent = el("span", { class: "percent", id: `${id}-percent` }, "0%");
  const label = el("label", { for: bar.id }, t("opinion.upload_progress"));
  const element = el("div", { class: "progress", hidden: true }, label, bar, percent);
  return {
    element,
    show(fraction, name) {
      const value = Math.round(fraction * 100);
      element.hidden = false;
      label.textContent = t("opinion.upload_progress_of", { name });
      bar.setAttribute("value", String(value));
      percent.textContent = `${value}%`;
    },
  };
}

// Send the chosen PDFs one after another; each refusal is said with its file's name and
// the others still go. Returns the documents received and the failures in words.
export async function attachFiles(requestId, files, meter, status) {
  const sent = [];
  const failed = [];
  for (const file of files) {
    const form = new FormData();
    form.append("file", file, file.name);
    status.textContent = t("opinion.uploading", { name: file.name });
    meter.show(0, file.name);
    try {
      const document = await upload(`/api/opinions/${requestId}/documents`, form, (f) => meter.show(f, file.name));
      meter.show(1, file.name);
      sent.push(document);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) throw error;
      failed.push(t("opinion.upload_failed", { name: file.name, reason: opinionProblem(error) }));
    }
  }
  status.textContent = [
    sent.length ? t("opinion.uploaded", { count: sent.length }) : "",
    ...failed,
  ]
    .filter(Boolean)
    .join(" ");
  status.classList.toggle("error", failed.length > 0);
  return { sent, failed };
}

// The requests the caller still has to answer, with the time left: on the dashboard, which
// is also the home of a conference point's kiosk. Nothing when there is nothing to answer.
export async function reminderCard(zone) {
  const { items } = await api("/api/opinions?phase=open");
  const due = items.filter((item) => item.to_answer > 0);
  if (!due.length) return null;
  const card = el(
    "section",
    { class: "card opinion-reminders", id: "opinion-reminders", "aria-labelledby": "opinion-reminders-title" },
    el("h2", { id: "opinion-reminders-title" }, t("opinion.to_answer_title", { count: due.length })),
    el(
      "ul",
      { class: "opinion-due" },
      due.map((item) =>
        el(
          "li",
          { "data-opinion": item.id },
          el(
            "div",
            { class: "what" },
            el("a", { href: opinionHref(item.id), class: "title" }, item.title),
            el(
              "span",
              { class: "when" },
              t("opinion.deadline_at", { time: formatTime(item.deadline, zone) }),
              " · ",
              el("strong", { class: item.reminder_hours ? "soon left" : "left", "data-deadline": item.deadline }, timeLeft(item.deadline)),
              item.to_answer > 1 ? [" ", el("span", { class: "badge" }, t("opinion.to_answer_many", { count: item.to_answer }))] : null,
            ),
          ),
          el(
            "a",
            { href: opinionHref(item.id), class: "button primary", "aria-label": t("opinion.answer_now_named", { title: item.title }) },
            t("opinion.answer_now"),
          ),
        ),
      ),
    ),
  );
  // A kiosk keeps this page open for hours: the time left follows the clock.
  const timer = setInterval(() => {
    if (!card.isConnected) return clearInterval(timer);
    for (const left of card.querySelectorAll(".left")) left.textContent = timeLeft(left.dataset.deadline) || t("opinion.expired");
  }, 60000);
  return card;
}
