// A meeting's readiness, for its organizers: from `opens_at` (30 minutes before the start)
// until it ends, each invited point ready or not with the reasons and its last self-test,
// refreshed every 15 seconds. Earlier the card stays folded with a "check now" button.
import { roles, session, showError } from "./app.js";
import { api, ApiError } from "./api.js";
import { clockSeconds, repeat, since } from "./health.js";
import { formatTime, t } from "./i18n.js";
import { el } from "./ui.js";

const EVERY_MS = 15000;

export function mayCheckReadiness(meeting) {
  const me = session.me;
  if (me?.kind !== "user" || !["scheduled", "live"].includes(meeting.status)) return false;
  const mine = roles();
  return (
    mine.has("admin") ||
    mine.has("operator") ||
    (mine.has("chair") && me.user.id === meeting.chair.id) ||
    (mine.has("secretary") && (me.user.id === meeting.secretary.id || meeting.can_edit))
  );
}

export function readinessCard(meeting) {
  if (!mayCheckReadiness(meeting)) return "";
  const zone = session.zone;
  const counts = el("p", { class: "big", id: "readiness-counts", role: "status" });
  const note = el("p", { class: "role", id: "readiness-note" });
  const onlyNotReady = el("input", { type: "checkbox", id: "readiness-only" });
  const list = el("ul", { class: "list readiness", id: "readiness-list" });
  const now = el("button", { type: "button", id: "readiness-now", class: "primary" }, t("ready.check_now"));
  const refresh = el("button", { type: "button", id: "readiness-refresh" }, t("ready.refresh"));
  const body = el(
    "div",
    { id: "readiness-body", hidden: true },
    counts,
    el("div", { class: "actions" }, el("div", { class: "check" }, onlyNotReady, el("label", { for: "readiness-only" }, t("ready.only_not_ready"))), refresh),
    list,
  );
  const card = el(
    "section",
    { class: "card", id: "readiness", "aria-labelledby": "readiness-title" },
    el("h2", { id: "readiness-title" }, t("ready.title")),
    note,
    now,
    body,
  );
  let open = false;
  let data = null;

  const draw = () => {
    if (!data) return;
    const text = t("ready.counts", { ready: data.ready, not_ready: data.not_ready });
    if (counts.textContent !== text) counts.textContent = text;
    card.dataset.notReady = String(data.not_ready);
    const rows = [...data.points].sort((a, b) => a.ready - b.ready || a.name.localeCompare(b.name, "vi"));
    const shown = onlyNotReady.checked ? rows.filter((r) => !r.ready) : rows;
    list.replaceChildren(
      ...(shown.length ? shown.map(row) : [el("li", { class: "empty" }, data.points.length ? t("ready.all_ready") : t("ready.no_points"))]),
    );
  };

  const row = (r) =>
    el(
      "li",
      { "data-point": r.point_id, "data-ready": r.ready ? "yes" : "no" },
      el("span", { class: "name" }, r.name),
      el(
        "span",
        { class: `health ${r.ready ? "ready-yes" : "ready-no"}` },
        el("span", { class: "sign", "aria-hidden": "true" }, r.ready ? "✓" : "✕"),
        t(r.ready ? "ready.ready" : "ready.not_ready"),
      ),
      r.reasons.length ? el("span", { class: "reasons" }, r.reasons.map((code) => t(`ready.reason_${code}`)).join("; ")) : null,
      el("span", { class: "role self-test" }, selfTestText(r.last_self_test)),
    );

  const selfTestText = (test) => {
    if (!test) return t("ready.no_test");
    const when = since(test.at, zone);
    if (test.passed) return t("ready.test_passed", { time: when });
    const failed = ["camera", "microphone", "network"].filter((part) => !test[part]).map((part) => t(`selftest.part_${part}`));
    return t("ready.test_failed", { time: when, parts: failed.join(", ") });
  };

  const load = async () => {
    try {
      data = await api(`/api/meetings/${meeting.id}/readiness`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) return card.remove();
      note.textContent = t("health.stale");
      showError(error);
      return;
    }
    if (!open && Date.now() >= new Date(data.opens_at).getTime()) expand();
    if (open) {
      note.textContent = t("ready.updated", { time: clockSeconds(new Date().toISOString(), zone) });
      draw();
    } else {
      note.textContent = t("ready.opens", { time: formatTime(data.opens_at, zone) });
    }
  };

  const expand = () => {
    open = true;
    now.hidden = true;
    body.hidden = false;
  };

  const tick = repeat(card, EVERY_MS, load);
  now.addEventListener("click", () => {
    expand();
    draw();
    tick();
  });
  refresh.addEventListener("click", () => tick());
  onlyNotReady.addEventListener("change", draw);
  return card;
}
