// The network page's health parts: the active alerts at the top, the count per state
// (each a button that filters), a point's health in its row, and its history (the last
// hours' states, round-trip time and loss drawn in a small SVG, and as a table).
import { showError } from "./app.js";
import { api } from "./api.js";
import { formatClock, t } from "./i18n.js";
import {
  alertDetail,
  alertKind,
  figuresText,
  number,
  reasonsText,
  since,
  STATES,
  stateBadge,
} from "./health.js";
import { el, uid } from "./ui.js";

// --- alerts -----------------------------------------------------------------------------

export class AlertsPanel {
  constructor(zone) {
    this.zone = zone;
    this.shown = null; // the alerts drawn, as a key
    this.heading = el("h2", { id: "network-alerts-title" }, t("health.alerts_heading"));
    this.list = el("ul", { class: "list alerts", id: "network-alerts-list" }, el("li", { class: "empty" }, t("health.alerts_loading")));
    this.announce = el("p", { class: "visually-hidden", "aria-live": "assertive", id: "network-alerts-live" });
    this.element = el(
      "section",
      { class: "card alerts-card", id: "network-alerts", "aria-labelledby": "network-alerts-title" },
      this.heading,
      this.announce,
      this.list,
    );
    this.known = null;
  }

  async update(alerts) {
    const key = alerts.map((a) => `${a.id}:${a.cleared_at ?? ""}`).join(",");
    if (key === this.shown) return;
    this.shown = key;
    this.element.dataset.count = String(alerts.length);
    this.heading.textContent = t("health.alerts_title", { count: alerts.length });
    this.list.replaceChildren(
      ...(alerts.length ? alerts.map((a) => this.row(a)) : [el("li", { class: "empty" }, t("health.alerts_none"))]),
    );
    // Say new alerts aloud; not the ones already there when the page opened.
    const ids = new Set(alerts.map((a) => a.id));
    if (this.known) {
      const fresh = alerts.filter((a) => !this.known.has(a.id));
      if (fresh.length) this.announce.textContent = fresh.map((a) => `${a.point_name}: ${t(`alert.kind_${a.kind}`)}`).join(". ");
    }
    this.known = ids;
  }

  row(alert) {
    const title = alert.meeting_title || null; // the alert names its meeting
    const detail = alertDetail(alert);
    return el(
      "li",
      { "data-alert": alert.id, "data-kind": alert.kind, "data-alert-point": alert.point_id },
      alertKind(alert.kind),
      el("span", { class: "name" }, alert.point_name),
      el(
        "span",
        {},
        t("health.alert_meeting"),
        " ",
        el("a", { href: `/meetings/${alert.meeting_id}` }, title ?? t("health.meeting_number", { id: alert.meeting_id })),
      ),
      el("span", { class: "role" }, t("health.alert_since", { time: since(alert.raised_at, this.zone) })),
      detail ? el("span", { class: "reasons" }, detail) : null,
    );
  }
}

// --- counts per state, which filter -------------------------------------------------------

export function countButtons(counts, chosen, pick) {
  return el(
    "ul",
    { class: "health-counts", id: "health-counts", "aria-label": t("health.counts_label") },
    STATES.map((state) =>
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            id: `health-count-${state}`,
            class: `health-count health-${state}`,
            "data-health": state,
            "aria-pressed": chosen === state ? "true" : "false",
            onclick: () => pick(chosen === state ? "" : state),
          },
          t(`health.state_${state}`),
          ": ",
          el("strong", {}, String(counts?.[state] ?? 0)),
        ),
      ),
    ),
  );
}

export function stateFilter() {
  return el(
    "select",
    { id: "network-health" },
    el("option", { value: "" }, t("health.filter_all")),
    STATES.map((state) => el("option", { value: state }, t(`health.state_${state}`))),
  );
}

// --- a point's health in its row ----------------------------------------------------------

export function healthCells(state) {
  if (!state) return [stateBadge(null)];
  const figures = figuresText(state.link);
  // "no sign of life" only repeats what "offline" says.
  const reasons = state.health === "offline" ? "" : reasonsText(state.reasons);
  return [
    stateBadge(state.health, { short: true }),
    figures || reasons
      ? el(
          "span",
          { class: "health-detail" },
          reasons ? el("span", { class: "reasons" }, reasons) : null,
          figures ? el("span", { class: "figures" }, figures) : null,
        )
      : null,
  ];
}

// --- a point's history --------------------------------------------------------------------

const HOURS = [1, 3, 6, 24];
const WIDTH = 600;
const COLOURS = {
  offline: "#6b7280",
  online_idle: "#93c5fd",
  in_meeting_good: "#16a34a",
  degraded: "#d97706",
  silent: "#b91c1c",
};

export function historyPanel(point, zone) {
  const hours = el(
    "select",
    { id: `history-hours-${point.id}` },
    HOURS.map((h) => el("option", { value: String(h), selected: h === 3 }, t("health.history_hours", { hours: h }))),
  );
  const label = uid("history");
  const body = el("div", { class: "history-body" }, el("p", { class: "empty" }, t("health.history_loading")));
  const panel = el(
    "div",
    { class: "history", id: `history-${point.id}`, role: "region", "aria-labelledby": label },
    el("h3", { id: label }, t("health.history_title", { name: point.name })),
    el("div", { class: "field inline-field" }, el("label", { for: hours.id }, t("health.history_period")), hours),
    body,
  );
  let loadedAt = 0;
  panel.load = async (force = false) => {
    if (!force && Date.now() - loadedAt < 15000) return;
    loadedAt = Date.now();
    try {
      const history = await api(`/api/points/${point.id}/health?hours=${hours.value}`);
      // Redrawn every 15 s: a table the reader opened stays open.
      const opened = body.querySelector("details")?.open;
      body.replaceChildren(...drawHistory(history.samples, Number(hours.value), zone, t("health.history_title", { name: point.name })));
      const table = body.querySelector("details");
      if (table) {
        table.open = Boolean(opened);
        table.querySelector("summary").id = `history-table-${point.id}`;
      }
    } catch (error) {
      showError(error);
    }
  };
  hours.addEventListener("change", () => panel.load(true));
  panel.load(true);
  return panel;
}

function drawHistory(samples, hours, zone, title) {
  if (!samples.length) return [el("p", { class: "empty" }, t("health.history_none"))];
  const end = Date.now();
  const start = end - hours * 3600_000;
  const x = (iso) => ((new Date(iso).getTime() - start) / (end - start)) * WIDTH;
  const step = Math.max(1, WIDTH / (hours * 60));
  const ns = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs, ...children) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    node.append(...children);
    return node;
  };
  const rtts = samples.filter((s) => typeof s.rtt_ms === "number");
  const losses = samples.filter((s) => typeof s.loss_pct === "number");
  const maxRtt = Math.max(100, ...rtts.map((s) => s.rtt_ms));
  const maxLoss = Math.max(10, ...losses.map((s) => s.loss_pct));
  const top = 26;
  const height = 70;
  const line = (list, field, max) =>
    list.map((s) => `${x(s.minute).toFixed(1)},${(top + height - (s[field] / max) * height).toFixed(1)}`).join(" ");
  const minutes = {};
  for (const s of samples) minutes[s.health] = (minutes[s.health] || 0) + 1;
  const summary = t("health.history_summary", {
    hours,
    states: STATES.filter((s) => minutes[s]).map((s) => `${t(`health.state_${s}`)}: ${minutes[s]}`).join(", "),
    rtt: rtts.length ? number(Math.max(...rtts.map((s) => s.rtt_ms)), 0) : "—",
    loss: losses.length ? number(Math.max(...losses.map((s) => s.loss_pct))) : "—",
  });
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${top + height + 18}`, class: "history-chart", role: "img", "aria-label": summary },
    ...samples.map((s) =>
      svg("rect", { x: x(s.minute).toFixed(1), y: 0, width: step.toFixed(1), height: 18, fill: COLOURS[s.health] ?? "#e5e7eb" }),
    ),
    svg("line", { x1: 0, x2: WIDTH, y1: top + height, y2: top + height, stroke: "#c9ced6" }),
    rtts.length ? svg("polyline", { points: line(rtts, "rtt_ms", maxRtt), fill: "none", stroke: "#0b5cad", "stroke-width": 2 }) : "",
    losses.length
      ? svg("polyline", { points: line(losses, "loss_pct", maxLoss), fill: "none", stroke: "#b91c1c", "stroke-width": 2, "stroke-dasharray": "5 3" })
      : "",
    svg("text", { x: 2, y: top + height + 15, "font-size": 12, fill: "#374151" }, formatClock(new Date(start).toISOString(), zone)),
    svg("text", { x: WIDTH - 2, y: top + height + 15, "font-size": 12, fill: "#374151", "text-anchor": "end" }, formatClock(new Date(end).toISOString(), zone)),
  );
  const legend = el(
    "p",
    { class: "history-legend" },
    el("span", { class: "key rtt" }, t("health.legend_rtt", { max: number(maxRtt, 0) })),
    el("span", { class: "key loss" }, t("health.legend_loss", { max: number(maxLoss) })),
    el("span", {}, t("health.legend_states")),
  );
  return [chart, legend, el("p", { class: "visually-hidden" }, summary), periodsTable(samples, zone, title)];
}

// The history as a table: one row per stretch of the same state, newest first.
function periodsTable(samples, zone, caption) {
  const runs = [];
  for (const s of samples) {
    const last = runs.at(-1);
    if (last && last.health === s.health) {
      last.to = s.minute;
      last.samples.push(s);
    } else runs.push({ health: s.health, from: s.minute, to: s.minute, samples: [s] });
  }
  const mean = (list) => (list.length ? list.reduce((a, b) => a + b, 0) / list.length : null);
  const rows = runs.reverse().slice(0, 50).map((run) => {
    const rtt = mean(run.samples.map((s) => s.rtt_ms).filter((v) => typeof v === "number"));
    const losses = run.samples.map((s) => s.loss_pct).filter((v) => typeof v === "number");
    return el(
      "tr",
      {},
      el("td", {}, `${formatClock(run.from, zone)}–${formatClock(run.to, zone)}`),
      el("td", {}, stateBadge(run.health)),
      el("td", {}, rtt === null ? "—" : `${number(rtt, 0)} ms`),
      el("td", {}, losses.length ? `${number(Math.max(...losses))} %` : "—"),
    );
  });
  return el(
    "details",
    { class: "history-table" },
    el("summary", {}, t("health.history_table")),
    el(
      "div",
      { class: "table-scroll" },
      el(
        "table",
        {},
        el("caption", { class: "visually-hidden" }, caption),
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            ["col_time", "col_state", "col_rtt", "col_loss"].map((c) => el("th", { scope: "col" }, t(`health.${c}`))),
          ),
        ),
        el("tbody", {}, rows),
      ),
    ),
  );
}
