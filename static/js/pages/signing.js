// A leader's own signing means (/?view=signing): the certificates, a signing PIN with a
// certificate from the built-in CA, and a key kept in this browser.
import { showError } from "../app.js";
import { ApiError } from "../api.js";
import { storedKey, supported } from "../browserkey.js";
import { browserKey, certificateList, heldCertificate, myCertificates, passwordInput, pinSetupForm, problemWords } from "../certificates.js";
import { t } from "../i18n.js";
import { myId } from "../minutes.js";
import { el, field, notify } from "../ui.js";

export async function render(view, context) {
  const me = myId();
  if (me === null) {
    view.append(el("section", { class: "card" }, el("h1", {}, t("signing.title")), el("p", {}, t("signing.users_only"))));
    return;
  }
  const certs = await myCertificates(me);
  const record = supported() ? await storedKey(me).catch(() => null) : null;
  const rerender = async (focus) => {
    view.replaceChildren();
    try {
      await render(view, context);
      view.querySelector(focus)?.focus();
    } catch (error) {
      showError(error);
    }
  };
  const held = heldCertificate(certs);
  const status = el("p", { class: "form-status", role: "status", id: "key-status" });
  const keyPassword = passwordInput("key-password");
  const makeKey = el("button", { type: "button", id: "make-browser-key", disabled: !supported() }, t("signing.key_make"));
  makeKey.addEventListener("click", async () => {
    makeKey.disabled = true;
    try {
      await browserKey(me, certs, (text) => (status.textContent = text), () => keyPassword.value);
      keyPassword.value = "";
      notify(t("signing.key_ready"));
      await rerender("#certificates-title");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return showError(error);
      status.textContent = problemWords(error);
      status.className = "form-status error";
      makeKey.disabled = false;
    }
  });
  const hasKey = record && certs.some((c) => c.id === record.certificateId && c.active);

  view.append(
    el(
      "section",
      { class: "card", "aria-labelledby": "certificates-title" },
      el("h1", { id: "certificates-title", tabindex: "-1" }, t("signing.title")),
      el("p", { class: "hint" }, t("signing.explain")),
      certificateList(certs, record?.certificateId),
    ),
    el(
      "section",
      { class: "card", "aria-labelledby": "pin-title" },
      el("h2", { id: "pin-title" }, t(held ? "signing.pin_title_again" : "signing.pin_title")),
      held?.locked ? el("p", { class: "warning-text" }, t("approval.pin_locked")) : null,
      pinSetupForm({ userId: me, replacing: Boolean(held), onDone: () => rerender("#certificates-title") }),
    ),
    el(
      "section",
      { class: "card", "aria-labelledby": "key-title" },
      el("h2", { id: "key-title" }, t("signing.key_title")),
      el("p", { class: "hint" }, t(supported() ? (hasKey ? "signing.key_have" : "approval.key_first") : "signing.unsupported")),
      hasKey ? null : field(t("signing.password"), keyPassword),
      hasKey ? null : el("div", { class: "actions" }, makeKey),
      status,
    ),
  );
}
