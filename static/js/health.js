// Conference points' health in words: the states, the server's reasons, the link figures
// and the alerts. Shared by the network page, the meeting's readiness card, the room's
// alert list and the self-test page. Every state is said in words and marked by a sign,
// never by colour alone.
import { formatClock, formatTime, language, t } from "./i18n.js";
import { el } from "./ui.js";

export const STATES = ["offline", "online_idle", "in_meeting_good", "degraded", "silent"];
const SIGNS = { offline: "✕", online_idle: "○", in_meeting_good: "✓", degraded: "!", silent: "…" };

// short: the words of the link's quality alone, beside a badge that already says whether
// the point is online or in a meeting (the network page's rows).
export function stateBadge(health, { short = false } = {}) {
  if (!health) return el("span", { class: "health health-unknown" }, t("health.unknown"));
  return el(
    "span",
    { class: `health health-${health}` },
    el("span", { "aria-hidden": "true", class: "sign" }, SIGNS[health] ?? "?"),
    t(`health.${short ? "short" : "state"}_${health}`),
  );
}

export function number(value, digits = 1) {
  return new Intl.NumberFormat(language() === "en" ? "en-GB" : "vi-VN", { maximumFractionDigits: digits }).format(value);
}

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

// The server's reasons are short English phrases (server/network/health.py); each known
// one is put in the reader's words, anything else is shown as it came.
const LIMIT = /^(loss_pct|rtt_ms|jitter_ms) ([\d.]+)(?:%| ms) > ([\d.]+)(?:%| ms)$/;

export function reasonText(reason) {
  if (reason === "no sign of life") return t("health.reason_no_life");
  if (reason === "no media figures from the point") return t("health.reason_no_figures");
  const sends = reason.match(/^sends ([\d.]+) kbit\/s$/);
  if (sends) return t("health.reason_sends", { kbps: number(Number(sends[1])) });
  const over = reason.match(LIMIT);
  if (over) return t(`health.reason_${over[1]}`, { value: number(Number(over[2])), limit: number(Number(over[3])) });
  return reason;
}

export function reasonsText(reasons) {
  return reasons.map(reasonText).join("; ");
}

// The latest figures of a point's link, as the server sees it: "in" is what reaches the
// server from the point, "out" what the server sends to it.
export function figuresText(link) {
  if (!link) return "";
  const parts = [];
  if (isNumber(link.rtt_ms)) parts.push(t("health.fig_rtt", { value: number(link.rtt_ms, 0) }));
  if (isNumber(link.loss_pct)) parts.push(t("health.fig_loss", { value: number(link.loss_pct) }));
  if (isNumber(link.jitter_ms)) parts.push(t("health.fig_jitter", { value: number(link.jitter_ms, 0) }));
  if (isNumber(link.kbps_in) || isNumber(link.kbps_out))
    parts.push(
      t("health.fig_kbps", {
        in: isNumber(link.kbps_in) ? number(link.kbps_in, 0) : "—",
        out: isNumber(link.kbps_out) ? number(link.kbps_out, 0) : "—",
      }),
    );
  if (isNumber(link.fps_in)) parts.push(t("health.fig_fps", { value: number(link.fps_in, 0) }));
  if (isNumber(link.width) && isNumber(link.height)) parts.push(`${link.width}×${link.height}`);
  return parts.join(" · ");
}

// A moment to the second (when figures were last checked).
export function clockSeconds(iso, zone) {
  return new Intl.DateTimeFormat(language() === "en" ? "en-GB" : "vi-VN", {
    timeZone: zone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).format(new Date(iso));
}

// A time today as its clock, an older one with its date.
export function since(iso, zone) {
  const day = (value) => new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(new Date(value));
  return day(iso) === day(Date.now()) ? formatClock(iso, zone) : formatTime(iso, zone);
}

export function alertKind(kind) {
  return el("span", { class: `health alert-${kind}` }, el("span", { "aria-hidden": "true", class: "sign" }, "!"), t(`alert.kind_${kind}`));
}

// "Điểm cầu X mất kết nối từ 09:12"
export function alertLine(alert, zone) {
  const key = ["offline", "left", "degraded", "silent"].includes(alert.kind) ? alert.kind : "other";
  return t(`alert.line_${key}`, { name: alert.point_name, time: since(alert.raised_at, zone), kind: alert.kind });
}

export function alertDetail(alert) {
  return alert.detail ? reasonsText(alert.detail.split("; ")) : "";
}

// Calls tick() now and then every `ms` while `node` stays on the page (tick shows its
// own failures; the next tick retries). Returns a function that asks for a tick at once.
export function repeat(node, ms, tick) {
  let timer = null;
  let busy = false;
  let first = true;
  const run = async () => {
    clearTimeout(timer);
    // The first tick may run before the node is put on the page.
    if (busy || (!first && !node.isConnected)) return;
    first = false;
    busy = true;
    try {
      await tick();
    } catch (error) {
      console.warn("health: refresh failed", error);
    } finally {
      busy = false;
      timer = setTimeout(run, ms);
    }
  };
  run();
  return run;
}
