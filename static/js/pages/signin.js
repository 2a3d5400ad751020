import { refreshSession, go } from "../app.js";
import { signIn } from "../api.js";
import { problemText, t } from "../i18n.js";
import { el, field } from "../ui.js";

const REASONS = { session_expired: "signin.expired", invalid_token: "signin.expired", signed_out: "signin.signed_out" };

export async function render(view, { query }) {
  const username = el("input", { name: "username", autocomplete: "username", required: true, autofocus: true });
  const password = el("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const message = el("p", { class: "error", role: "alert", id: "signin-error" });
  const reason = REASONS[query.get("reason")];
  if (reason) message.textContent = t(reason);
  const form = el(
    "form",
    { id: "signin-form", class: "stack" },
    field(t("signin.username"), username),
    field(t("signin.password"), password),
    el("button", { type: "submit", class: "primary" }, t("signin.submit")),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await signIn(username.value.trim(), password.value);
      await refreshSession();
      const next = query.get("next");
      go(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
    } catch (error) {
      message.textContent = problemText(error.code, error.detail);
      password.select();
    }
  });
  view.append(el("section", { class: "card narrow" }, el("h1", {}, t("signin.title")), form));
}
