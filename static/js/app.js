// The client's shell: who is signed in, the navigation, and a small router over the
// server's page paths (each answers with this same page).

import { api, ApiError, signOut } from "./api.js";
import { language, loadMessages, problemText, setLanguage, t, translatePage } from "./i18n.js";
import { keepAlive } from "./link_report.js";
import { $, notify } from "./ui.js";

const STAFF = new Set(["admin", "secretary", "chair", "operator"]);

const MEETING_VIEWS = { documents: "documents", reader: "reader", minutes: "minutes", approval: "approval" };
// Pages of no meeting are views of / (the server serves the shell only at fixed paths).
const HOME_VIEWS = {
  verify: "verify",
  signing: "signing",
  opinions: "opinions",
  opinion: "opinion",
  new_opinion: "new_opinion",
  self_test: "self_test",
};

const routes = [
  [/^\/signin$/, () => import("./pages/signin.js")],
  [/^\/kiosk$/, () => import("./pages/kiosk.js")],
  [/^\/$/, (query) => import(`./pages/${HOME_VIEWS[query.get("view")] ?? "dashboard"}.js`)],
  [/^\/meetings\/new$/, () => import("./pages/new_meeting.js")],
  // The server answers /meetings/{id} with this shell; its documents, the reader and the
  // minutes are views of that path (?view=documents, ?view=reader&doc=…&page=…,
  // ?view=minutes, ?view=approval).
  [/^\/meetings\/(\d+)$/, (query) => import(`./pages/${MEETING_VIEWS[query.get("view")] ?? "meeting"}.js`)],
  [/^\/network$/, () => import("./pages/network.js")],
];

export const session = { me: null, zone: "Asia/Ho_Chi_Minh", lost: null };

export function roles() {
  return new Set(session.me?.kind === "user" ? session.me.user.roles : []);
}

export function isStaff() {
  return [...roles()].some((role) => STAFF.has(role));
}

export function go(path) {
  history.pushState(null, "", path);
  route();
}

// Any API failure, in words; an expired session sends the user to sign in again.
export function showError(error) {
  if (error instanceof ApiError && error.status === 401) {
    const next = encodeURIComponent(location.pathname + location.search);
    history.replaceState(null, "", `/signin?reason=${error.code}&next=${next}`);
    return route();
  }
  notify(error instanceof ApiError ? problemText(error.code, error.detail) : t("error.generic", { detail: String(error) }), "error");
}

async function whoAmI() {
  try {
    session.me = await api("/api/me");
    session.lost = null;
  } catch (error) {
    session.me = null;
    if (!(error instanceof ApiError && error.status === 401)) throw error;
    // Why we are not signed in: expired or revoked sessions are said so on the sign-in page.
    session.lost = error.code === "not_authenticated" ? null : error.code;
  }
}

function drawChrome() {
  const me = session.me;
  $("#nav").hidden = !me;
  $("#signout").hidden = !me;
  $("#who").textContent = me ? (me.kind === "point" ? me.point.name : me.user.full_name) : "";
  const mine = roles();
  $("#nav-new").hidden = !(mine.has("secretary") || mine.has("admin"));
  $("#nav-network").hidden = !isStaff();
  $("#nav-verify").hidden = me?.kind !== "user";
  $("#nav-signing").hidden = !(mine.has("chair") || mine.has("secretary"));
  $("#lang").textContent = t("lang.switch");
}

export async function route() {
  const path = location.pathname;
  const found = routes.find(([pattern]) => pattern.test(path));
  const view = $("#view");
  if (!found) {
    view.replaceChildren();
    return notify(problemText("not_found"), "error");
  }
  const publicPage = path === "/signin" || path === "/kiosk";
  if (!publicPage && !session.me) {
    const reason = session.lost ? `reason=${session.lost}&` : "";
    // The query too: views (?view=minutes…) are part of where the user was going.
    history.replaceState(null, "", `/signin?${reason}next=${encodeURIComponent(path + location.search)}`);
    return route();
  }
  drawChrome();
  const query = new URLSearchParams(location.search);
  const page = await found[1](query);
  const match = path.match(found[0]);
  view.replaceChildren();
  try {
    await page.render(view, { params: match.slice(1), query });
  } catch (error) {
    showError(error);
  }
  translatePage(view);
  // A page may name the control to start in (sign-in: the username); else the view
  // itself, so a screen reader starts reading the new page.
  (view.querySelector("[autofocus]") || view).focus({ preventScroll: true });
}

export async function refreshSession() {
  await whoAmI();
  drawChrome();
}

async function main() {
  await loadMessages();
  translatePage();
  try {
    const config = await api("/api/client-config");
    session.zone = config.timezone;
  } catch {
    // Keep the default zone.
  }
  try {
    await whoAmI();
  } catch (error) {
    showError(error);
  }
  $("#lang").addEventListener("click", () => {
    setLanguage(language() === "vi" ? "en" : "vi");
    translatePage();
    route();
  });
  $("#signout").addEventListener("click", async () => {
    await signOut();
    session.me = null;
    history.replaceState(null, "", "/signin?reason=signed_out");
    route();
  });
  // Links inside the app stay in the app (no reload); others (the room, .ics files) do not.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[href]");
    if (!link || link.target || event.ctrlKey || event.metaKey || link.origin !== location.origin) return;
    if (!routes.some(([pattern]) => pattern.test(link.pathname))) return;
    event.preventDefault();
    go(link.pathname + link.search);
  });
  window.addEventListener("popstate", route);
  keepAlive(() => session.me?.kind === "point");
  await route();
}

main();
