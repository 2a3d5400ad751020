// A conference point's kiosk opens the link the admin printed: /kiosk#token=hd_...
import { go, refreshSession } from "../app.js";
import { signInKioskFromLink } from "../api.js";
import { t } from "../i18n.js";
import { el } from "../ui.js";

export async function render(view) {
  const status = el("p", { class: "big", role: "status" }, t("signin.kiosk"));
  view.append(el("section", { class: "card narrow" }, status));
  try {
    if (!(await signInKioskFromLink())) throw new Error("no token");
    await refreshSession();
    go("/");
  } catch {
    status.textContent = t("signin.kiosk_failed");
    status.className = "error big";
  }
}
