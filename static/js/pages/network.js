// The conference network: every point by unit, online or not, in a meeting or not, live.
import { roles, session, showError } from "../app.js";
import { api } from "../api.js";
import { formatTime, t } from "../i18n.js";
import { el, field, fold, notify } from "../ui.js";

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
    const byUnit = new Map();
    for (const p of all) {
      if (unitIds && !unitIds.has(p.unit.id)) continue;
      if (query && !fold(`${p.name} ${p.location} ${p.unit.name}`).includes(query)) continue;
      if (wanted === "online" && !p.online) continue;
      if (wanted === "offline" && p.online) continue;
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
  }

  function row(p) {
    const status = state(p);
    const seen = p.last_seen_at ? t("net.last_seen", { time: formatTime(p.last_seen_at, session.zone) }) : t("net.never");
    return el(
      "li",
      { "data-point": p.id, "data-state": status },
      el("span", { class: "name" }, p.name, p.location ? el("span", { class: "role" }, ` — ${p.location}`) : null),
      el("span", { class: `badge state-${status}` }, t(`net.${status}`)),
      el("span", { class: "role seen" }, seen),
      isAdmin
        ? [
            el("button", { type: "button", onclick: () => kioskLink(p) }, t("net.kiosk_link")),
            el("button", { type: "button", onclick: () => toggle(p) }, p.enabled ? t("net.disable") : t("net.enable")),
          ]
        : null,
    );
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

  for (const input of [search, unitFilter, show]) input.addEventListener("input", draw);
  view.append(
    el(
      "section",
      { class: "card" },
      el("h1", {}, t("net.title")),
      counts,
      live,
      el("div", { class: "row filters" }, field(t("net.search"), search), field(t("net.unit"), unitFilter), field(t("net.show"), show)),
    ),
    dialog,
    isAdmin ? addForm() : "",
    groups,
  );
  paint();

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
