// The conference network: every point by unit, online or not, in a meeting or not, live;
// each point's health (state, reasons, link figures, history) and the active alerts.
import { roles, session, showError } from "../app.js";
import { api } from "../api.js";
import { clockSeconds, repeat } from "../health.js";
import { formatTime, t } from "../i18n.js";
import { AlertsPanel, countButtons, healthCells, historyPanel, stateFilter } from "../network_health.js";
import { el, field, fold, notify } from "../ui.js";

const HEALTH_EVERY_MS = 5000;

function descendants(units) {
  const below = new Map();
  const walk = (node) => {
    const ids = new Set([node.id]);
    for (const child of node.children) for (const id of walk(child)) ids.add(id);
    below.set(node.id, ids);
    return ids;
  };
  units.forEach(walk);
  return below;
}

function flatten(nodes, depth = 0, out = []) {
  for (const node of nodes) {
    out.push({ ...node, depth });
    flatten(node.children, depth + 1, out);
  }
  return out;
}

export async function render(view) {
  const [page, units] = await Promise.all([api("/api/points?limit=1000"), api("/api/units")]);
  const isAdmin = roles().has("admin");
  const points = new Map(page.items.map((p) => [p.id, { ...p, meeting_id: null }]));
  const below = descendants(units);
  const flat = flatten(units);

  const counts = el("p", { class: "counts big", id: "network-counts", role: "status", "aria-live": "polite" });
  const live = el("span", { class: "live", id: "network-live" });
  const search = el("input", { type: "search", id: "network-search" });
  const unitFilter = el(
    "select",
    { id: "network-unit" },
    el("option", { value: "" }, t("net.all_units")),
    flat.map((u) => el("option", { value: u.id }, `${"\u00a0\u00a0".repeat(u.depth)}${u.name}`)),
  );
  const show = el(
    "select",
    { id: "network-show" },
    ["all", "online", "offline"].map((v) => el("option", { value: v }, t(`net.show_${v}`))),
  );
  const healthFilter = stateFilter();
  const healthCounts = el("div", { class: "health-counts-holder" });
  const healthUpdated = el("span", { class: "role", id: "health-updated" });
  const alerts = new AlertsPanel(session.zone);
  const health = new Map(); // point id -> its state from GET /api/network/health
  let stateCounts = {};
  const histories = new Map(); // point id -> its open history panel
  const groups = el("div", { id: "network-groups" });
  const dialog = el("div", { id: "kiosk-dialog", class: "card", hidden: true, role: "dialog", "aria-modal": "false", "aria-labelledby": "kiosk-title" });

  let queued = false;
  const draw = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      paint();
    });
  };

  function state(p) {
    if (!p.enabled) return "disabled";
    if (p.meeting_id) return "in_meeting";
    return p.online ? "online" : "offline";
  }

  function paint() {
    const all = [...points.values()];
    const online = all.filter((p) => p.online).length;
    const inMeeting = all.filter((p) => p.meeting_id).length;
    counts.textContent = `${t("net.counts", { online, total: all.length })} · ${t("net.in_meeting_count", { count: inMeeting })}`;
    const query = fold(search.value.trim());
    const unitIds = unitFilter.value ? below.get(Number(unitFilter.value)) : null;
    const wanted = show.value;
    const wantedHealth = healthFilter.value;
    // Redrawn every few seconds: keep the keyboard where it was (controls have stable ids).
    const active = document.activeElement;
    const focused = active?.id && (groups.contains(active) || healthCounts.contains(active)) ? active.id : "";
    healthCounts.replaceChildren(
      countButtons(stateCounts, wantedHealth, (chosen) => {
        healthFilter.value = chosen;
        draw();
      }),
    );
    const byUnit = new Map();
    for (const p of all) {
      if (unitIds && !unitIds.has(p.unit.id)) continue;
      if (query && !fold(`${p.name} ${p.location} ${p.unit.name}`).includes(query)) continue;
      if (wanted === "online" && !p.online) continue;
      if (wanted === "offline" && p.online) continue;
      if (wantedHealth && health.get(p.id)?.health !== wantedHealth) continue;
      if (!byUnit.has(p.unit.id)) byUnit.set(p.unit.id, { unit: p.unit, points: [] });
      byUnit.get(p.unit.id).points.push(p);
    }
    const order = new Map(flat.map((u, i) => [u.id, i]));
    const sections = [...byUnit.values()].sort((a, b) => (order.get(a.unit.id) ?? 0) - (order.get(b.unit.id) ?? 0));
    groups.replaceChildren(
      ...sections.map(({ unit, points: members }) =>
        el(
          "section",
          { class: "unit-group", "aria-label": unit.name },
          el("h2", {}, unit.name, el("span", { class: "role" }, ` ${members.filter((p) => p.online).length}/${members.length}`)),
          el("ul", { class: "list" }, members.map(row)),
        ),
      ),
    );
    if (focused) document.getElementById(focused)?.focus({ preventScroll: true });
  }

  function row(p) {
    const status = state(p);
    const seen = p.last_seen_at ? t("net.last_seen", { time: formatTime(p.last_seen_at, session.zone) }) : t("net.never");
    const now = health.get(p.id);
    const open = histories.get(p.id);
    return el(
      "li",
      { "data-point": p.id, "data-state": status, "data-health": now?.health ?? "" },
      el("span", { class: "name" }, p.name, p.location ? el("span", { class: "role" }, ` — ${p.location}`) : null),
      el("span", { class: `badge state-${status}` }, t(`net.${status}`)),
      healthCells(now),
      el("span", { class: "role seen" }, seen),
      el(
        "button",
        {
          type: "button",
          id: `history-button-${p.id}`,
          "aria-expanded": open ? "true" : "false",
          "aria-controls": `history-${p.id}`,
          "aria-label": t("health.history_of", { name: p.name }),
          onclick: () => toggleHistory(p),
        },
        t("health.history"),
      ),
      isAdmin
        ? [
            el("button", { type: "button", id: `kiosk-button-${p.id}`, onclick: () => kioskLink(p) }, t("net.kiosk_link")),
            el(
              "button",
              { type: "button", id: `enable-button-${p.id}`, onclick: () => toggle(p) },
              p.enabled ? t("net.disable") : t("net.enable"),
            ),
          ]
        : null,
      open ?? null,
    );
  }

  function toggleHistory(p) {
    if (histories.has(p.id)) histories.delete(p.id);
    else histories.set(p.id, historyPanel(p, session.zone));
    paint();
  }

  async function kioskLink(p) {
    try {
      const link = await api(`/api/points/${p.id}/kiosk-link`, { method: "POST" });
      const url = el("input", { readonly: true, value: link.url, class: "wide", id: "kiosk-url" });
      // The QR code is SVG the server drew from the link (segno), no user content in it.
      const qr = el("div", { class: "qr" });
      qr.innerHTML = link.qr_svg;
      qr.firstElementChild?.setAttribute("role", "img");
      qr.firstElementChild?.setAttribute("aria-label", t("net.kiosk_link"));
      dialog.replaceChildren(
        el("h2", { id: "kiosk-title" }, p.name),
        el("p", {}, t("net.kiosk_ready", { name: p.name })),
        field(t("net.kiosk_link"), url),
        qr,
        el("div", { class: "actions" },
          el("button", { type: "button", onclick: async () => { await navigator.clipboard?.writeText(link.url); notify(t("net.copied")); } }, t("net.copy")),
          el("button", { type: "button", onclick: () => (dialog.hidden = true) }, t("net.close"))),
      );
      dialog.hidden = false;
      url.focus();
      url.select();
    } catch (error) {
      showError(error);
    }
  }

  async function toggle(p) {
    try {
      const updated = await api(`/api/points/${p.id}`, { method: "PATCH", body: { enabled: !p.enabled } });
      points.set(p.id, { ...points.get(p.id), ...updated });
      draw();
    } catch (error) {
      showError(error);
    }
  }

  function addForm() {
    const name = el("input", { required: true, maxlength: 200 });
    const location = el("input", { maxlength: 300 });
    const unit = el("select", { required: true }, flat.map((u) => el("option", { value: u.id }, `${"\u00a0\u00a0".repeat(u.depth)}${u.name}`)));
    const form = el(
      "form",
      { class: "inline", id: "add-point" },
      field(t("net.add_name"), name),
      field(t("net.unit"), unit),
      field(t("net.add_location"), location),
      el("button", { type: "submit" }, t("net.add")),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const created = await api("/api/points", {
          method: "POST",
          body: { name: name.value.trim(), unit_id: Number(unit.value), location: location.value.trim() },
        });
        points.set(created.point.id, { ...created.point, meeting_id: null });
        notify(t("net.added", { name: created.point.name }));
        form.reset();
        draw();
      } catch (error) {
        showError(error);
      }
    });
    return el("details", { class: "card" }, el("summary", {}, t("net.add")), form);
  }

  for (const input of [search, unitFilter, show, healthFilter]) input.addEventListener("input", draw);
  view.append(
    el(
      "section",
      { class: "card" },
      el("h1", {}, t("net.title")),
      counts,
      live,
      healthCounts,
      healthUpdated,
      el(
        "div",
        { class: "row filters" },
        field(t("net.search"), search),
        field(t("net.unit"), unitFilter),
        field(t("net.show"), show),
        field(t("health.filter"), healthFilter),
      ),
      el("p", {}, el("a", { href: "/?view=self_test" }, t("selftest.own_device"))),
    ),
    alerts.element,
    dialog,
    isAdmin ? addForm() : "",
    groups,
  );
  paint();

  // Health and alerts: the server derives them every few seconds; ask as often.
  repeat(groups, HEALTH_EVERY_MS, async () => {
    try {
      const [report, active] = await Promise.all([api("/api/network/health"), api("/api/alerts")]);
      health.clear();
      for (const point of report.points) health.set(point.id, point);
      stateCounts = report.counts;
      healthUpdated.textContent = report.checked_at
        ? t("health.updated", { time: clockSeconds(report.checked_at, session.zone) })
        : t("health.not_checked");
      await alerts.update(active);
      for (const panel of histories.values()) panel.load();
      draw();
    } catch (error) {
      healthUpdated.textContent = t("health.stale");
      throw error;
    }
  });

  // Live updates: the server sends a snapshot, then what changes.
  const stream = new EventSource("/api/points/stream");
  const apply = (states) => {
    for (const s of states) {
      const p = points.get(s.id);
      if (p) points.set(s.id, { ...p, online: s.online, meeting_id: s.meeting_id, last_seen_at: s.last_seen_at });
    }
    draw();
  };
  stream.addEventListener("snapshot", (event) => apply(JSON.parse(event.data).points));
  stream.addEventListener("change", (event) => apply(JSON.parse(event.data).points));
  stream.onopen = () => (live.textContent = `● ${t("net.live")}`);
  // EventSource reconnects by itself; say so meanwhile, so nobody trusts stale states.
  stream.onerror = () => (live.textContent = `○ ${t("net.reconnecting")}`);
  // Leaving the page closes the stream.
  const stop = () => {
    stream.close();
    window.removeEventListener("popstate", stop);
  };
  window.addEventListener("popstate", stop);
  document.addEventListener("click", (event) => {
    if (event.target.closest("a[href]") && !view.contains(event.target)) stop();
  });
}
