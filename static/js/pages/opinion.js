// One written-opinion request (/?view=opinion&id=N): the question, its documents and
// deadline for everyone it concerns; for a recipient, one large button per option, a
// comment and "Gửi ý kiến" (changeable until the deadline, read-only after it); for the
// office, the count per option, every recipient's answer, exports, a new deadline, closing.
import { session, showError } from "../app.js";
import { api, ApiError } from "../api.js";
import { formatTime, t } from "../i18n.js";
import {
  LIST_HREF,
  attachFiles,
  documentHref,
  opinionProblem,
  phaseBadge,
  progressMeter,
  timeLeft,
  zonedParts,
} from "../opinions.js";
import { el, field, notify, uid } from "../ui.js";
import { zonedIso } from "./new_meeting.js";

function fail(error, where = null) {
  if (error instanceof ApiError && error.status === 401) return showError(error);
  const text = opinionProblem(error);
  notify(text, "error");
  if (where) {
    where.textContent = text;
    where.classList.add("error");
  }
}

function when(iso) {
  return iso ? formatTime(iso, session.zone) : "";
}

function pct(value) {
  return `${Number(value).toLocaleString(document.documentElement.lang === "en" ? "en-GB" : "vi-VN", { maximumFractionDigits: 1 })}%`;
}

function recipientLabel(r) {
  return r.unit && r.unit.name !== r.name ? `${r.name} (${r.unit.name})` : r.name;
}

function documentsList(request) {
  if (!request.documents.length) return el("p", { class: "empty" }, t("opinion.no_documents"));
  return el(
    "ul",
    { class: "list opinion-documents", id: "opinion-documents" },
    request.documents.map((d) =>
      el(
        "li",
        {},
        el("a", { href: documentHref(request.id, d.id), class: "name", download: d.filename }, d.title),
        el("span", { class: "role" }, t("opinion.document_facts", { pages: d.pages, kb: Math.ceil(d.bytes / 1024) })),
      ),
    ),
  );
}

// The caller's answer: which recipient (when several), the options, a comment, send.
function answerCard(request, rerender, keep) {
  const mine = request.mine;
  const open = request.phase === "open";
  const heading = el("h2", { id: "answer-title" }, t("opinion.your_answer"));
  if (!open) {
    const closedEarly = request.closed_at && new Date(request.closed_at) < new Date(request.deadline);
    return el(
      "section",
      { class: "card", id: "answer-card", "aria-labelledby": "answer-title" },
      heading,
      el(
        "p",
        { class: "opinion-expired", id: "answer-closed" },
        t("opinion.expired"),
        closedEarly ? ` ${t("opinion.closed_early", { time: when(request.closed_at) })}` : "",
      ),
      mine.map((r) =>
        el(
          "dl",
          { class: "facts opinion-given", "data-recipient": r.id },
          mine.length > 1 ? [el("dt", {}, t("opinion.answer_for")), el("dd", {}, recipientLabel(r))] : null,
          el("dt", {}, t("opinion.col_answer")),
          el("dd", { class: "given-option" }, r.option_text ?? t("opinion.not_answered")),
          r.comment ? [el("dt", {}, t("opinion.col_comment")), el("dd", { class: "prewrap" }, r.comment)] : null,
          r.answered_at
            ? [
                el("dt", {}, t("opinion.col_answered_by")),
                el("dd", {}, t("opinion.answered_by_at", { name: r.answered_by, time: when(r.answered_at) })),
              ]
            : null,
        ),
      ),
    );
  }

  // After an answer the same recipient stays chosen; else the first still to answer.
  let current = mine.find((r) => r.id === keep) ?? mine.find((r) => r.answered_at === null) ?? mine[0];
  let chosen = null;
  const status = el("p", { class: "form-status", id: "answer-status", role: "status" });
  const comment = el("textarea", { name: "comment", rows: 4, maxlength: 5000 });
  const buttons = request.options.map((option, index) =>
    el(
      "button",
      { type: "button", class: "opinion-option", "aria-pressed": "false", "data-option": index, onclick: () => choose(index) },
      el("span", { class: "mark", "aria-hidden": "true" }),
      option,
    ),
  );
  const choose = (index) => {
    chosen = index;
    buttons.forEach((b, i) => b.setAttribute("aria-pressed", i === index ? "true" : "false"));
  };
  const show = () => {
    choose(current.option);
    comment.value = current.comment ?? "";
    status.classList.remove("error", "good");
    status.textContent = current.answered_at
      ? t("opinion.answered_status", { option: current.option_text, time: when(current.answered_at), name: current.answered_by })
      : t("opinion.not_answered_yet");
  };

  const chooser =
    mine.length > 1
      ? el(
          "fieldset",
          { class: "opinion-for", id: "answer-for" },
          el("legend", {}, t("opinion.answer_for")),
          mine.map((r) => {
            const radio = el("input", { type: "radio", name: "recipient", value: r.id, id: uid("for"), checked: r.id === current.id });
            radio.addEventListener("change", () => {
              current = r;
              show();
            });
            return el(
              "div",
              { class: "check" },
              radio,
              el(
                "label",
                { for: radio.id },
                recipientLabel(r),
                " — ",
                r.answered_at ? t("opinion.answered_short", { option: r.option_text }) : t("opinion.not_answered"),
              ),
            );
          }),
        )
      : null;

  const submit = el("button", { type: "submit", class: "primary huge", id: "send-answer" }, t("opinion.send_answer"));
  const form = el(
    "form",
    { class: "stack", id: "answer-form" },
    chooser,
    el(
      "div",
      { role: "group", "aria-labelledby": "options-label", class: "opinion-options" },
      el("p", { id: "options-label", class: "big" }, t("opinion.choose")),
      buttons,
    ),
    field(t("opinion.comment"), comment),
    status,
    submit,
    el("p", { class: "hint" }, t("opinion.change_until", { time: when(request.deadline) })),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (chosen === null) {
      status.textContent = t("opinion.choose_first");
      status.classList.add("error");
      return;
    }
    submit.disabled = true;
    try {
      const body = { option: chosen, comment: comment.value };
      if (mine.length > 1) body.recipient_id = current.id;
      const saved = await api(`/api/opinions/${request.id}/answer`, { method: "PUT", body });
      notify(t("opinion.answer_saved", { option: saved.option_text, name: saved.name }));
      await rerender({ keep: saved.id });
    } catch (error) {
      submit.disabled = false;
      fail(error, status);
      // The deadline passed or the request was closed while the page was open: show it so.
      if (error instanceof ApiError && error.code === "opinion_closed") await rerender({ focus: false });
    }
  });
  show();
  return el("section", { class: "card", id: "answer-card", "aria-labelledby": "answer-title" }, heading, form);
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
      fail(error, deadlineStatus);
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
          fail(error);
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
      fail(error, uploadStatus);
    }
  });

  return [
    el("h3", {}, t("opinion.deadline_new")),
    el("p", { class: "hint" }, t("opinion.deadline_zone", { zone: session.zone })),
    deadlineForm,
    deadlineStatus,
    el("h3", {}, t("opinion.close_title")),
    el("p", { class: "hint" }, t("opinion.close_hint")),
    close,
    ...(request.phase === "open" ? [el("h3", {}, t("opinion.attach_more")), attach] : []),
  ];
}

function overviewCards(request, rerender) {
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

export async function render(view, { query }, keep = null) {
  const id = Number(query.get("id"));
  let request;
  try {
    if (!Number.isInteger(id) || id <= 0) throw new ApiError(404, "not_found", "");
    request = await api(`/api/opinions/${id}`);
  } catch (error) {
    fail(error);
    if (error instanceof ApiError && error.status === 401) return;
    view.append(
      el(
        "section",
        { class: "card" },
        el("h1", {}, t("opinion.list_title")),
        el("p", { class: "error" }, opinionProblem(error)),
        el("a", { class: "button", href: LIST_HREF }, t("opinion.back")),
      ),
    );
    return;
  }
  const rerender = async ({ keep = null, focus = true } = {}) => {
    view.replaceChildren();
    try {
      await render(view, { query: new URLSearchParams({ id: String(id) }) }, keep);
    } catch (error) {
      showError(error);
    }
    if (focus) view.focus({ preventScroll: true });
  };
  const open = request.phase === "open";
  const left = open ? timeLeft(request.deadline) : "";
  const facts = el(
    "dl",
    { class: "facts" },
    el("dt", {}, t("opinion.sender")),
    el("dd", {}, request.created_by),
    el("dt", {}, t("opinion.sent_at")),
    el("dd", {}, when(request.created_at)),
    el("dt", {}, t("opinion.deadline")),
    el("dd", { id: "opinion-deadline" }, when(request.deadline), left ? el("strong", { class: "left" }, ` · ${left}`) : null),
    el("dt", {}, t("opinion.phase")),
    el(
      "dd",
      {},
      phaseBadge(request.phase, "opinion-phase"),
      !open ? el("span", { class: "opinion-expired" }, " ", t("opinion.expired")) : null,
    ),
  );
  view.append(
    el(
      "section",
      { class: "card", id: "opinion-request" },
      el("div", { class: "actions top" }, el("a", { href: LIST_HREF }, t("opinion.back"))),
      el("h1", {}, request.title),
      facts,
      el("h2", {}, t("opinion.question")),
      el("div", { class: "opinion-question prewrap", id: "opinion-question" }, request.question),
      el("h2", {}, t("opinion.documents")),
      documentsList(request),
    ),
    request.mine.length ? answerCard(request, rerender, keep) : "",
    ...(request.manager ? overviewCards(request, rerender) : []),
  );
  const created = query.get("created");
  if (created) {
    history.replaceState(null, "", `/?view=opinion&id=${id}`);
    notify(t("opinion.created", { count: created }));
  }
}
