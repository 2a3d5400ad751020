// Check the signatures of any PDF (/?view=verify, anyone signed in): each signature's
// signer, time, timestamp, trust, integrity and what changed after it, with the verdict
// in the reader's language. Secretaries also find out whom a leaked copy was issued to.
import { roles, session, showError } from "../app.js";
import { ApiError, upload } from "../api.js";
import { formatTime, language, problemText, t } from "../i18n.js";
import { readerHref } from "../documents.js";
import { el, field, notify } from "../ui.js";

// The last report, kept so that switching the language redraws it in the other one.
const last = { owner: null, report: null, name: "", trace: null };

function fail(error, where) {
  if (error instanceof ApiError && error.status === 401) return showError(error);
  const text = error instanceof ApiError ? problemText(error.code, error.detail) : t("error.generic", { detail: String(error) });
  notify(text, "error");
  where.replaceChildren(el("p", { class: "error big" }, text));
}

const yesNo = (value) => t(value ? "verify.yes" : "verify.no");

function when(iso) {
  return iso ? formatTime(iso, session.zone) : t("verify.none");
}

function changesAfter(signature) {
  const level = signature.modification_level;
  const what = level ? t(`verify.level_${level.toLowerCase()}`) : t("verify.none");
  return `${what} — ${t(signature.changes_allowed ? "verify.changes_allowed" : "verify.changes_not_allowed")}`;
}

function signatureCard(signature, index) {
  const stamp = signature.kind === "document_timestamp";
  const verdict = language() === "en" ? signature.verdict_en : signature.verdict_vi;
  const rows = [
    [t("verify.signer"), signature.signer],
    [t("verify.signing_time"), when(signature.signing_time)],
    [t("verify.timestamp"), when(signature.timestamp)],
    [t("verify.trusted"), yesNo(signature.trusted)],
    [t("verify.intact"), yesNo(signature.intact && signature.valid)],
    [t("verify.changes"), changesAfter(signature)],
    [t("verify.chain"), signature.chain.length ? signature.chain.join(" › ") : t("verify.none")],
    [t("verify.field"), signature.field],
  ];
  return el(
    "li",
    { class: `signature verdict-${signature.verdict}`, "data-verdict": signature.verdict, "data-kind": signature.kind },
    el(
      "h3",
      {},
      stamp ? t("verify.stamp_n", { n: index + 1 }) : t("verify.signature_n", { n: index + 1, signer: signature.signer }),
    ),
    el("p", { class: "verdict" }, el("span", { class: "mark", "aria-hidden": "true" }, signature.verdict === "valid" ? "✓ " : "✗ "), verdict),
    el("dl", { class: "facts" }, rows.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)])),
  );
}

function reportView(report, name) {
  const stamps = report.signatures.filter((s) => s.kind === "document_timestamp").length;
  const count = report.signatures.length - stamps;
  const key = report.overall === "valid" && stamps ? "verify.overall_valid_stamped" : `verify.overall_${report.overall}`;
  const overall = el("p", { class: `big overall-${report.overall}`, id: "verify-overall", "data-overall": report.overall }, t(key, { count, stamps }));
  return [
    el("h2", { id: "verify-result-title" }, t("verify.result", { name })),
    overall,
    report.signatures.length ? el("ol", { class: "signatures", id: "signatures" }, report.signatures.map(signatureCard)) : null,
  ];
}

function traceView(found) {
  const what = found.pack
    ? t("trace.pack")
    : found.document_id
      ? el("a", { href: readerHref(found.meeting_id, found.document_id, 1, found.version) }, t("trace.document", { id: found.document_id, version: found.version ?? "" }))
      : t("verify.none");
  return el(
    "dl",
    { class: "facts", id: "trace-found" },
    el("dt", {}, t("trace.recipient")),
    el("dd", { id: "trace-recipient" }, found.recipient.name || `#${found.recipient.id}`, " ", el("span", { class: "role" }, `(${t(found.recipient.kind === "point" ? "role.point" : "trace.person")})`)),
    el("dt", {}, t("trace.label")),
    el("dd", {}, found.label),
    el("dt", {}, t("trace.issued_at")),
    el("dd", {}, formatTime(found.issued_at, session.zone)),
    el("dt", {}, t("trace.meeting")),
    el("dd", {}, el("a", { href: `/meetings/${found.meeting_id}` }, t("trace.meeting_link", { id: found.meeting_id }))),
    el("dt", {}, t("trace.what")),
    el("dd", {}, what),
    el("dt", {}, t("trace.identifier")),
    el("dd", { class: "code" }, found.identifier),
  );
}

// A file form posting to `path`; done(result, fileName) draws the answer into `out`.
function fileForm({ id, label, button, path, out, done }) {
  const file = el("input", { type: "file", accept: "application/pdf,.pdf", required: true, name: "file" });
  const submit = el("button", { type: "submit", class: "primary" }, button);
  const form = el("form", { class: "inline", id }, field(label, file), submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return file.focus();
    const data = new FormData();
    data.append("file", chosen);
    submit.disabled = true;
    out.replaceChildren(el("p", { role: "status" }, t("verify.checking", { name: chosen.name })));
    try {
      done(await upload(path, data), chosen.name);
    } catch (error) {
      fail(error, out);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function render(view) {
  const owner = session.me?.kind === "user" ? `u${session.me.user.id}` : `p${session.me?.point?.id}`;
  if (last.owner !== owner) Object.assign(last, { owner, report: null, name: "", trace: null });

  const result = el("div", { id: "verify-result", "aria-live": "polite" });
  const drawReport = () => result.replaceChildren(...(last.report ? reportView(last.report, last.name) : []));
  drawReport();
  const verifyForm = fileForm({
    id: "verify-form",
    label: t("verify.file"),
    button: t("verify.check"),
    path: "/api/verify",
    out: result,
    done: (report, name) => {
      Object.assign(last, { report, name });
      drawReport();
    },
  });
  view.append(
    el(
      "section",
      { class: "card", "aria-labelledby": "verify-title" },
      el("h1", { id: "verify-title" }, t("verify.title")),
      el("p", { class: "hint" }, t("verify.explain")),
      verifyForm,
      result,
    ),
  );

  const mine = roles();
  if (mine.has("secretary") || mine.has("admin")) {
    const found = el("div", { id: "trace-result", "aria-live": "polite" });
    if (last.trace) found.replaceChildren(traceView(last.trace));
    view.append(
      el(
        "section",
        { class: "card", "aria-labelledby": "trace-title" },
        el("h2", { id: "trace-title" }, t("trace.title")),
        el("p", { class: "hint" }, t("trace.explain")),
        fileForm({
          id: "trace-form",
          label: t("trace.file"),
          button: t("trace.find"),
          path: "/api/documents/trace",
          out: found,
          done: (answer) => {
            last.trace = answer;
            found.replaceChildren(traceView(answer));
          },
        }),
        found,
      ),
    );
  }
}
