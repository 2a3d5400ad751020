// A leader's signing certificates: the list, a signing PIN set with a certificate from
// the built-in CA (key held by the server under the PIN), and the browser's own key with
// a certificate for its public half (key never leaves the browser).

import { session } from "./app.js";
import { api, ApiError } from "./api.js";
import { generateKey, publicKeyBase64, saveKey, storedKey, supported } from "./browserkey.js";
import { formatTime, t } from "./i18n.js";
import { minutesProblem } from "./minutes.js";
import { el, field, notify } from "./ui.js";

export const MIN_PIN = 6;

export class LocalProblem extends Error {
  constructor(message) {
    super(message);
    this.local = true;
  }
}

export function problemWords(error) {
  return error instanceof LocalProblem ? error.message : minutesProblem(error);
}

export async function myCertificates(userId) {
  return api(`/api/users/${userId}/certificates`);
}

const current = (c) => c.active && new Date(c.not_after) > new Date();

// The certificate a PIN opens (the newest held by the server), or null.
export function heldCertificate(certs) {
  return [...certs].reverse().find((c) => current(c) && c.server_held) ?? null;
}

// The login password that confirms a request for a certificate (a stolen session alone
// cannot get one).
export function passwordInput(id) {
  return el("input", { type: "password", autocomplete: "current-password", maxlength: 1024, id, name: "password" });
}

// This browser's key and its certificate; made (and certified) the first time, confirmed
// with the login password (`password()` gives it).
export async function browserKey(userId, certs, say = () => {}, password = () => "") {
  if (!supported()) throw new LocalProblem(t("signing.unsupported"));
  const record = await storedKey(userId);
  const certified = record && certs.find((c) => c.id === record.certificateId && current(c) && !c.server_held);
  if (certified) return record;
  say(t("signing.making_key"));
  const pair = await generateKey();
  say(t("signing.requesting_certificate"));
  const certificate = await api(`/api/users/${userId}/certificates/request`, {
    method: "POST",
    body: { public_key: await publicKeyBase64(pair.publicKey), password: password() },
  });
  const made = {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    certificateId: certificate.id,
    createdAt: new Date().toISOString(),
  };
  await saveKey(userId, made);
  return made;
}

// Set a signing PIN: the built-in CA issues a certificate whose key the server keeps
// sealed under it. onDone(certificate) runs after.
export function pinSetupForm({ userId, onDone, id = "pin-setup", replacing = false }) {
  const pin = el("input", { type: "password", inputmode: "numeric", autocomplete: "new-password", minlength: MIN_PIN, maxlength: 128, required: true, name: "new_pin" });
  const again = el("input", { type: "password", inputmode: "numeric", autocomplete: "new-password", minlength: MIN_PIN, maxlength: 128, required: true, name: "new_pin_again" });
  const password = passwordInput(`${id}-password`);
  password.required = true;
  const status = el("p", { class: "form-status", role: "status", id: `${id}-status` });
  const submit = el("button", { type: "submit", class: "primary" }, t(replacing ? "signing.pin_replace" : "signing.pin_set"));
  const form = el(
    "form",
    { class: "stack pin-setup", id, novalidate: true },
    el("p", { class: "hint" }, t("signing.pin_explain", { min: MIN_PIN })),
    el("div", { class: "row" }, field(t("signing.new_pin"), pin), field(t("signing.new_pin_again"), again)),
    field(t("signing.password"), password),
    el("div", { class: "actions" }, submit),
    status,
  );
  const say = (text, kind = "") => {
    status.textContent = text;
    status.className = `form-status ${kind}`;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (pin.value.length < MIN_PIN) {
      say(t("error.pin_too_short"), "error");
      return pin.focus();
    }
    if (pin.value !== again.value) {
      say(t("signing.pin_mismatch"), "error");
      return again.focus();
    }
    submit.disabled = true;
    say(t("signing.issuing"));
    try {
      const certificate = await api(`/api/users/${userId}/certificates/issue`, {
        method: "POST",
        body: { pin: pin.value, password: password.value },
      });
      pin.value = again.value = password.value = "";
      say(t("signing.pin_done"), "good");
      notify(t("signing.pin_done"));
      await onDone(certificate);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) throw error;
      say(problemWords(error), "error");
      notify(problemWords(error), "error");
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export function certificateList(certs, browserCertificateId) {
  if (!certs.length) return el("p", { class: "empty", id: "certificate-list" }, t("signing.no_certificates"));
  const zone = session.zone;
  return el(
    "ul",
    { class: "list certificates", id: "certificate-list" },
    [...certs].reverse().map((c) => {
      const state = !c.active
        ? t("signing.cert_inactive")
        : new Date(c.not_after) <= new Date()
          ? t("signing.cert_expired")
          : c.locked
            ? t("signing.cert_locked")
            : t("signing.cert_active");
      const kind = c.server_held
        ? t("signing.kind_server")
        : c.id === browserCertificateId
          ? t("signing.kind_this_browser")
          : t("signing.kind_external");
      return el(
        "li",
        { "data-certificate": c.id, "data-kind": c.server_held ? "server" : "external" },
        el("span", { class: "name" }, c.subject),
        el("span", { class: "role" }, kind),
        el("span", { class: "role" }, t("signing.cert_valid", { from: formatTime(c.not_before, zone), to: formatTime(c.not_after, zone) })),
        el("span", { class: `badge${c.locked || !c.active ? " status-cancelled" : ""}` }, state),
      );
    }),
  );
}
