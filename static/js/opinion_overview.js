// The office's side of a written-opinion request (secretary, chair, admin): the count per
// option with bars, every recipient's answer with a filter for the missing, the exports,
// and while the request is not closed a new deadline, closing early, more documents.
import { session } from "./app.js";
import { api } from "./api.js";
import { t } from "./i18n.js";
import { attachFiles, opinionFail, progressMeter, when, zonedParts } from "./opinions.js";
import { el, field, notify } from "./ui.js";
import { zonedIso } from "./pages/new_meeting.js";

function pct(value) {
  return `${Number(value).toLocaleString(document.documentElement.lang === "en" ? "en-GB" : "vi-VN", { maximumFractionDigits: 1 })}%`;
}

function countTable(count) {
  return el(
    "table",
    { class: "opinion-count", id: "opinion-count" },
    el("caption", {}, t("opinion.count_caption")),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { scope: "col" }, t("opinion.col_option")),
        el("th", { scope: "col" }, t("opinion.col_count")),
        el("th", { scope: "col" }, t("opinion.col_pct_recipients")),
        el("th", { scope: "col" }, t("opinion.col_pct_answered")),
      ),
    ),
    el(
      "tbody",
      {},
      count.options.map((option, i) => {
        const fill = el("span", { class: "opinion-bar-fill" });
        fill.style.width = `${Math.min(100, count.pct_of_recipients[i])}%`;
        return el(
          "tr",
          { "data-option": i },
          el("th", { scope: "row" }, option),
          el("td", { class: "count" }, String(count.counts[i])),
          el(
            "td",
            { class: "pct" },
            el(
              "div",
              { class: "pct-wrap" },
              el("span", { class: "opinion-bar", "aria-hidden": "true" }, fill),
              el("span", {}, pct(count.pct_of_recipients[i])),
            ),
          ),
          el("td", { class: "pct-answered" }, pct(count.pct_of_answered[i])),
        );
      }),
      el(
        "tr",
        { class: "not-answered" },
        el("th", { scope: "row" }, t("opinion.not_answered")),
        el("td", { class: "count" }, String(count.not_answered)),
        el("td", { class: "pct" }, pct(count.recipients ? (100 * count.not_answered) / count.recipients : 0)),
        el("td", {}, ""),
      ),
    ),
  );
}

function recipientsTable(request) {
  const onlyMissing = el("input", { type: "checkbox", id: "only-missing" });
  const rows = request.recipients.map((r) =>
    el(
      "tr",
      { "data-recipient": r.id, "data-answered": r.answered_at ? "yes" : "no" },
      el("th", { scope: "row" }, r.name, el("span", { class: "kind" }, t(`opinion.kind_${r.kind}`))),
      el("td", {}, r.unit?.name ?? ""),
      el("td", { class: "answer" }, r.option_text ?? el("span", { class: "missing" }, t("opinion.not_answered"))),
      el("td", { class: "prewrap comment" }, r.comment),
      el("td", {}, r.answered_by),
      el("td", { class: "time" }, when(r.answered_at)),
      el("td", { class: "time" }, r.first_seen_at ? when(r.first_seen_at) : t("opinion.not_seen")),
      el("td", {}, r.reminders_sent.length ? r.reminders_sent.map((h) => t("opinion.hours_before", { hours: h })).join(", ") : "—"),
    ),
  );
  const shown = el("p", { class: "hint", role: "status", id: "recipients-shown" });
  const filter = () => {
    let visible = 0;
    for (const row of rows) {
      row.hidden = onlyMissing.checked && row.dataset.answered === "yes";
      visible += row.hidden ? 0 : 1;
    }
    shown.textContent = t("opinion.rows_shown", { shown: visible, total: rows.length });
  };
  onlyMissing.addEventListener("change", filter);
  filter();
  return [
    el("div", { class: "check" }, onlyMissing, el("label", { for: onlyMissing.id }, t("opinion.only_missing"))),
    shown,
    el(
      "div",
      { class: "table-scroll", tabindex: "0", role: "region", "aria-labelledby": "recipients-caption" },
      el(
        "table",
        { class: "opinion-recipients", id: "opinion-recipients" },
        el("caption", { id: "recipients-caption", class: "visually-hidden" }, t("opinion.recipients_caption")),
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            ["col_name", "col_unit", "col_answer", "col_comment", "col_answered_by", "col_answered_at", "col_first_seen", "col_reminders"].map((key) =>
              el("th", { scope: "col" }, t(`opinion.${key}`)),
            ),
          ),
        ),
        el("tbody", {}, rows),
      ),
    ),
  ];
}

function exportLinks(id) {
  return el(
    "div",
    { class: "actions" },
    el("a", { class: "button", href: `/api/opinions/${id}/export.csv`, download: `y-kien-${id}.csv`, id: "export-csv" }, t("opinion.export_csv")),
    el("a", { class: "button", href: `/api/opinions/${id}/export.pdf`, download: `y-kien-${id}.pdf`, id: "export-pdf" }, t("opinion.export_pdf")),
  );
}

// The office's controls while the request is not closed: a new deadline (which also
// reopens one whose deadline passed), closing early, another document.
function managerActions(request, rerender) {
  const id = request.id;
  if (request.closed_at) return null;

  const parts = zonedParts(request.deadline, session.zone);
  const date = el("input", { type: "date", required: true, value: parts.date });
  const time = el("input", { type: "time", required: true, value: parts.time });
  const deadlineStatus = el("p", { class: "form-status", role: "status" });
  const deadlineForm = el(
    "form",
    { class: "inline", id: "deadline-form" },
    field(t("opinion.deadline_date"), date),
    field(t("opinion.deadline_time"), time),
    el("button", { type: "submit" }, t("opinion.change_deadline")),
  );
  deadlineForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`/api/opinions/${id}`, { method: "PATCH", body: { deadline: zonedIso(date.value, time.value, session.zone) } });
      notify(t("opinion.deadline_changed", { time: `${date.value.split("-").reverse().join("/")} ${time.value}` }));
      await rerender();
    } catch (error) {
      opinionFail(error, deadlineStatus);
    }
  });

  const close = el(
    "button",
    {
      type: "button",
      class: "danger",
      id: "close-opinion",
      onclick: async () => {
        if (!confirm(t("opinion.confirm_close"))) return;
        try {
          await api(`/api/opinions/${id}/close`, { method: "POST" });
          notify(t("opinion.closed_done"));
          await rerender();
        } catch (error) {
          opinionFail(error);
        }
      },
    },
    t("opinion.close"),
  );

  const files = el("input", { type: "file", accept: "application/pdf,.pdf", multiple: true });
  const meter = progressMeter("more");
  const uploadStatus = el("p", { class: "upload-status", id: "more-status", role: "status" });
  const attach = el(
    "form",
    { class: "stack", id: "attach-form" },
    field(t("opinion.attach_files"), files),
    el("div", { class: "actions" }, el("button", { type: "submit" }, t("opinion.attach_send"))),
    meter.element,
    uploadStatus,
  );
  attach.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!files.files.length) return;
    try {
      const { sent } = await attachFiles(id, [...files.files], meter, uploadStatus);
      if (sent.length) {
        notify(uploadStatus.textContent, uploadStatus.classList.contains("error") ? "error" : "info");
        await rerender();
      }
    } catch (error) {
      opinionFail(error, uploadStatus);
    }
  });

  const send = el(
    "button",
    {
      type: "button",
      class: "primary",
      id: "send-opinion",
      onclick: async () => {
        try {
          await api(`/api/opinions/${id}/send`, { method: "POST" });
          notify(t("opinion.sent_done"));
          await rerender();
        } catch (error) {
          opinionFail(error);
        }
      },
    },
    t("opinion.send"),
  );

  return [
    ...(request.phase === "draft"
      ? [el("h3", {}, t("opinion.send_title")), el("p", { class: "hint" }, t("opinion.send_hint")), send]
      : []),
    el("h3", {}, t("opinion.deadline_new")),
    el("p", { class: "hint" }, t("opinion.deadline_zone", { zone: session.zone })),
    deadlineForm,
    deadlineStatus,
    el("h3", {}, t("opinion.close_title")),
    el("p", { class: "hint" }, t("opinion.close_hint")),
    close,
    ...(request.phase === "closed" ? [] : [el("h3", {}, t("opinion.attach_more")), attach]),
  ];
}

export function overviewCards(request, rerender) {
  const count = request.count;
  const managing = managerActions(request, rerender);
  return [
    el(
      "section",
      { class: "card", id: "overview", "aria-labelledby": "overview-title" },
      el("h2", { id: "overview-title" }, t("opinion.overview")),
      el("p", { class: "big", id: "opinion-answered" }, t("opinion.answered_of", { answered: count.answered, recipients: count.recipients })),
      countTable(count),
      exportLinks(request.id),
    ),
    el(
      "section",
      { class: "card", id: "recipients", "aria-labelledby": "recipients-title" },
      el("h2", { id: "recipients-title" }, t("opinion.recipients_title", { count: request.recipients.length })),
      recipientsTable(request),
    ),
    managing
      ? el("section", { class: "card", id: "manage", "aria-labelledby": "manage-title" }, el("h2", { id: "manage-title" }, t("opinion.manage")), managing)
      : null,
  ].filter(Boolean);
}

