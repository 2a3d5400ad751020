// One written-opinion request (/?view=opinion&id=N): the question, its documents and
// deadline for everyone it concerns; for a recipient, one large button per option, a
// comment and "Gửi ý kiến" (changeable until the deadline, read-only after it); for the
// office, the overview (opinion_overview.js).
import { showError } from "../app.js";
import { api, ApiError } from "../api.js";
import { t } from "../i18n.js";
import { overviewCards } from "../opinion_overview.js";
import { LIST_HREF, documentHref, opinionFail, opinionProblem, phaseBadge, timeLeft, when } from "../opinions.js";
import { el, field, notify, uid } from "../ui.js";

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
      opinionFail(error, status);
      // The deadline passed or the request was closed while the page was open: show it so.
      if (error instanceof ApiError && error.code === "opinion_closed") await rerender({ focus: false });
    }
  });
  show();
  return el("section", { class: "card", id: "answer-card", "aria-labelledby": "answer-title" }, heading, form);
}

export async function render(view, { query }, keep = null) {
  const id = Number(query.get("id"));
  let request;
  try {
    if (!Number.isInteger(id) || id <= 0) throw new ApiError(404, "not_found", "");
    request = await api(`/api/opinions/${id}`);
  } catch (error) {
    opinionFail(error);
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
      request.phase === "closed" ? el("span", { class: "opinion-expired" }, " ", t("opinion.expired")) : null,
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
