// A leader approves the minutes (/meetings/{id}?view=approval): reads the pages of the
// document in approval (images, no PDF plugin), then signs with the signing PIN (key
// held by the server), or with this browser's own key (WebCrypto: prepare, sign the
// signed attributes here, finish), or returns the minutes with a comment.
import { showError } from "../app.js";
import { api, ApiError } from "../api.js";
import { fromBase64, signBytes, storedKey, supported } from "../browserkey.js";
import { browserKey, heldCertificate, LocalProblem, myCertificates, passwordInput, pinSetupForm, problemWords } from "../certificates.js";
import { widthFor } from "../documents.js";
import { t } from "../i18n.js";
import {
  approverDirectory,
  chainProgress,
  documentLink,
  loadMinutes,
  minutesApi,
  minutesHref,
  myId,
  nameOf,
  peopleNames,
  signedCount,
  statusBadge,
} from "../minutes.js";
import { el, field, notify } from "../ui.js";

// Refusals that mean the page shows an old state of the chain.
const STALE = new Set(["stale_step", "stale_version", "not_in_approval", "not_your_turn", "already_signed", "minutes_final"]);

// The pages one after another; how many there are is learnt when one is missing (the
// API does not say). `version` changes with every signature and submission, so a page
// cached from an earlier state of the document is never shown for this one.
function documentPages(meetingId, version) {
  const box = el("div", { class: "minutes-pages", id: "minutes-pages" });
  const status = el("p", { class: "empty", role: "status", id: "pages-status" }, t("reader.loading"));
  let width = 0;
  function load(n) {
    const image = el("img", { alt: t("approval.page_alt", { page: n }), decoding: "async", "data-page": n });
    const figure = el("figure", { class: "page-view" }, image, el("figcaption", {}, t("reader.page_n", { page: n })));
    figure.hidden = true;
    box.append(figure);
    image.addEventListener("load", () => {
      figure.hidden = false;
      status.textContent = t("approval.pages_loading", { count: n });
      load(n + 1);
    });
    image.addEventListener("error", () => {
      figure.remove();
      status.textContent = n > 1 ? t("approval.pages_count", { count: n - 1 }) : t("reader.page_failed");
      box.dataset.pages = String(n - 1);
    });
    width ||= widthFor(box);
    image.src = `${minutesApi(meetingId)}/document/pages/${n}.webp?width=${width}&state=${version}`;
  }
  return { element: el("div", {}, status, box), start: () => load(1) };
}

function signingCard({ id, minutes, certs, rerender }) {
  const me = myId();
  const version = minutes.submitted_version;
  const step = signedCount(minutes);
  const status = el("p", { class: "form-status", role: "status", id: "sign-status" });
  const buttons = [];
  const say = (text, kind = "") => {
    status.textContent = text;
    status.className = `form-status ${kind}`;
  };
  const busy = (on) => buttons.forEach((b) => (b.disabled = on));
  const failed = async (error, focus = null) => {
    if (error instanceof ApiError && error.status === 401) return showError(error);
    const text = problemWords(error);
    if (error instanceof ApiError && STALE.has(error.code)) {
      // The chain moved on while the page was open: show where it is now, then say why.
      await rerender("#chain-title");
      return notify(text, "error");
    }
    say(text, "error");
    notify(text, "error");
    focus?.focus();
  };
  const done = async (result) => {
    notify(result.final ? t("approval.done_final") : t("approval.done", { signed: step + 1, total: minutes.approvers.length }));
    await rerender("#chain-title");
  };

  // 1. The signing PIN.
  const pinBox = el("div", { class: "sign-way", id: "sign-pin" });
  function drawPin() {
    const held = heldCertificate(certs);
    if (!held || held.locked) {
      pinBox.replaceChildren(
        el("h3", {}, t("approval.pin_title")),
        el("p", {}, t(held ? "approval.pin_locked" : "approval.pin_none")),
        pinSetupForm({
          userId: me,
          replacing: Boolean(held),
          onDone: async () => {
            certs = await myCertificates(me);
            drawPin();
            pinBox.querySelector("input")?.focus();
          },
        }),
      );
      return;
    }
    const pin = el("input", { type: "password", inputmode: "numeric", autocomplete: "off", maxlength: 128, required: true, id: "sign-pin-input" });
    const submit = el("button", { type: "submit", class: "primary", id: "approve-pin" }, t("approval.pin_sign"));
    buttons.push(submit);
    const form = el("form", { class: "inline", novalidate: true }, field(t("approval.pin"), pin), submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!pin.value) {
        say(t("approval.pin_required"), "error");
        return pin.focus();
      }
      busy(true);
      say(t("approval.signing"));
      try {
        const result = await api(`${minutesApi(id)}/approve`, { method: "POST", body: { version, step, pin: pin.value } });
        await done(result);
      } catch (error) {
        pin.value = "";
        await failed(error, pin);
        if (error instanceof ApiError && error.code === "pin_locked") {
          certs = await myCertificates(me);
          drawPin();
        }
      } finally {
        busy(false);
      }
    });
    pinBox.replaceChildren(el("h3", {}, t("approval.pin_title")), el("p", { class: "hint" }, t("approval.pin_explain")), form);
  }
  drawPin();

  // 2. This browser's own key.
  const keyHint = el("p", { class: "hint", id: "browser-key-hint" });
  const keyPassword = passwordInput("approval-key-password");
  const keyButton = el("button", { type: "button", class: "primary", id: "approve-browser-key" }, t("approval.key_sign"));
  buttons.push(keyButton);
  storedKey(me)
    .then((record) => {
      const known = record && certs.some((c) => c.id === record.certificateId && c.active && !c.server_held);
      keyHint.textContent = t(known ? "approval.key_known" : "approval.key_first");
    })
    .catch(() => (keyHint.textContent = t("approval.key_first")));
  if (!supported()) {
    keyButton.disabled = true;
    keyHint.textContent = t("signing.unsupported");
  }
  keyButton.addEventListener("click", async () => {
    busy(true);
    try {
      const key = await browserKey(me, certs, say, () => keyPassword.value);
      keyPassword.value = "";
      certs = await myCertificates(me);
      say(t("approval.preparing"));
      const prepared = await api(`${minutesApi(id)}/external/prepare`, {
        method: "POST",
        body: { version, step, certificate_id: key.certificateId },
      });
      say(t("approval.key_signing", { step: prepared.summary.step, of: prepared.summary.of, digest: prepared.summary.document_sha256.slice(0, 16) }));
      let signature;
      try {
        signature = await signBytes(key.privateKey, fromBase64(prepared.to_sign));
      } catch (error) {
        throw new LocalProblem(t("signing.sign_failed", { detail: String(error) }));
      }
      say(t("approval.embedding"));
      const result = await api(`${minutesApi(id)}/external/finish`, {
        method: "POST",
        body: { session: prepared.session, signature },
      });
      await done(result);
    } catch (error) {
      await failed(error, keyButton);
    } finally {
      busy(false);
    }
  });
  // The password is asked only until this browser has its certificate.
  const keyPasswordField = field(t("signing.password"), keyPassword);
  storedKey(me)
    .then((record) => {
      keyPasswordField.hidden = Boolean(record && certs.some((c) => c.id === record.certificateId && c.active && !c.server_held));
    })
    .catch(() => {});
  const keyBox = el("div", { class: "sign-way", id: "sign-key" }, el("h3", {}, t("approval.key_title")), keyHint, keyPasswordField, el("div", { class: "actions" }, keyButton));

  // 3. Return the minutes with a comment.
  const comment = el("textarea", { rows: 3, maxlength: 2000, id: "reject-comment", required: true });
  const reject = el("button", { type: "submit", class: "danger", id: "reject-minutes" }, t("approval.reject"));
  buttons.push(reject);
  const rejectForm = el("form", { class: "stack", novalidate: true }, field(t("approval.reject_comment"), comment), el("div", { class: "actions" }, reject));
  rejectForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!comment.value.trim()) {
      say(t("error.comment_required"), "error");
      return comment.focus();
    }
    busy(true);
    try {
      await api(`${minutesApi(id)}/reject`, { method: "POST", body: { version, step, comment: comment.value.trim() } });
      notify(t("approval.rejected"));
      await rerender("#chain-title");
    } catch (error) {
      await failed(error, comment);
    } finally {
      busy(false);
    }
  });
  const rejectBox = el("div", { class: "sign-way", id: "sign-reject" }, el("h3", {}, t("approval.reject_title")), rejectForm);

  return el(
    "section",
    { class: "card sign-card", id: "sign-card", "aria-labelledby": "sign-title" },
    el("h2", { id: "sign-title", tabindex: "-1" }, t("approval.sign_title", { step: step + 1, total: minutes.approvers.length, version })),
    status,
    pinBox,
    keyBox,
    rejectBox,
  );
}

function whyNot(minutes, names) {
  const me = myId();
  const mine = minutes.approvers.find((a) => a.id === me);
  if (minutes.status === "final") return t("approval.final");
  if (minutes.status === "draft") return t("minutes.summary_draft");
  if (!mine) return t("error.not_an_approver");
  if (mine.signed) return t("error.already_signed");
  return t("approval.wait_for", { name: nameOf(names, minutes.next_approver) });
}

export async function render(view, { params }) {
  const id = Number(params[0]);
  const [meeting, minutes] = await Promise.all([api(`/api/meetings/${id}`), loadMinutes(id)]);
  const back = el("a", { class: "button", href: minutesHref(id) }, t("approval.back"));
  if (!minutes) {
    view.append(el("section", { class: "card" }, el("h1", {}, t("approval.title")), el("p", {}, t("minutes.none")), back));
    return;
  }
  const rerender = async (focus = null) => {
    view.replaceChildren();
    try {
      await render(view, { params });
      if (focus) view.querySelector(focus)?.focus();
    } catch (error) {
      showError(error);
    }
  };
  const names = await peopleNames(meeting, minutes, { directory: await approverDirectory() });
  const myTurn = minutes.status === "in_approval" && minutes.next_approver === myId();
  const certs = myTurn ? await myCertificates(myId()) : [];
  const sign = myTurn ? signingCard({ id, minutes, certs, rerender }) : null;
  const toSign = sign
    ? el("button", { type: "button", id: "skip-to-sign", onclick: () => { sign.scrollIntoView(); sign.querySelector("h2").focus(); } }, t("approval.skip_to_sign"))
    : null;
  const pages = minutes.document_url ? documentPages(id, `${minutes.submitted_version}.${signedCount(minutes)}.${minutes.final ? 1 : 0}`) : null;

  view.append(
    el(
      "section",
      { class: "card" },
      el("h1", {}, t("approval.title"), " ", statusBadge(minutes)),
      el("p", { class: "description" }, meeting.title),
      el("div", { class: "actions" }, back, documentLink(minutes), toSign),
    ),
    el("section", { class: "card", "aria-labelledby": "chain-title" }, el("h2", { id: "chain-title", tabindex: "-1" }, t("minutes.chain")), chainProgress(minutes, names)),
    pages
      ? el("section", { class: "card", "aria-labelledby": "pages-title" }, el("h2", { id: "pages-title" }, t("approval.pages", { version: minutes.submitted_version ?? "" })), pages.element)
      : "",
    sign ?? el("section", { class: "card", id: "sign-card" }, el("p", { class: "big", id: "why-not" }, whyNot(minutes, names))),
  );
  pages?.start();
}
