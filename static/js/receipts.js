// The secretary's receipts matrix: every invited point and person × the meeting's
// documents, who has the current version, who an older one, who nothing; those still
// missing something come first.
import { session } from "./app.js";
import { api } from "./api.js";
import { formatClock, formatTime, t } from "./i18n.js";
import { el, uid } from "./ui.js";

const REFRESH_MS = 30000;

// A recipient the document is not shared with (named readers only) is not missing it.
function sharedWith(doc, row) {
  if (!doc || doc.scope !== "named" || !doc.readers) return true;
  return doc.readers.some((r) => r.kind === row.kind && r.id === row.id);
}

function cell(receipt, shared) {
  if (!shared) return el("td", { class: "receipt not-shared", "data-state": "not_shared" }, t("receipts.not_shared"));
  if (receipt.version === null)
    return el("td", { class: "receipt none", "data-state": "none" }, `✗ ${t("receipts.none")}`);
  const when = receipt.last_at ? el("span", { class: "when" }, formatTime(receipt.last_at, session.zone)) : null;
  if (receipt.current)
    return el("td", { class: "receipt current", "data-state": "current" }, `✓ ${t("receipts.current")}`, when);
  return el(
    "td",
    { class: "receipt old", "data-state": "old" },
    `! ${t("receipts.old", { version: receipt.version })}`,
    when,
  );
}

export function receiptsCard(meetingId, documents, fail) {
  const onlyMissing = el("input", { type: "checkbox", id: uid("only-missing") });
  const summary = el("p", { class: "big", id: "receipts-summary", role: "status" });
  const updated = el("span", { class: "role" });
  const holder = el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-labelledby": "receipts-title" });
  const refreshButton = el("button", { type: "button", id: "receipts-refresh" }, t("receipts.refresh"));
  const element = el(
    "section",
    { class: "card", id: "receipts", "aria-labelledby": "receipts-title" },
    el("h2", { id: "receipts-title" }, t("receipts.title")),
    summary,
    el(
      "div",
      { class: "actions" },
      el("div", { class: "check" }, onlyMissing, el("label", { for: onlyMissing.id }, t("receipts.only_missing"))),
      refreshButton,
      updated,
    ),
    holder,
  );
  let matrix = null;
  let timer = null;

  function draw() {
    if (!matrix) return;
    if (!matrix.documents.length) {
      summary.textContent = "";
      holder.replaceChildren(el("p", { class: "empty" }, t("receipts.no_documents")));
      return;
    }
    const docs = new Map(documents().map((d) => [d.id, d]));
    const rows = matrix.rows.map((row) => {
      const shared = matrix.documents.map((d) => sharedWith(docs.get(d.id), row));
      const missing = row.cells.filter((c, i) => shared[i] && !c.current).length;
      return { row, shared, missing };
    });
    // Who lacks something first (the server sorts too, but counts documents not shared
    // with the recipient as missing); the server's order otherwise.
    rows.sort((a, b) => (b.missing > 0) - (a.missing > 0));
    const lacking = rows.filter((r) => r.missing).length;
    summary.textContent = lacking
      ? t("receipts.summary", { missing: lacking, total: rows.length })
      : t("receipts.all_received", { total: rows.length });
    summary.dataset.missing = String(lacking);
    const shown = onlyMissing.checked ? rows.filter((r) => r.missing) : rows;
    holder.replaceChildren(
      el(
        "table",
        { class: "receipts", id: "receipts-table" },
        el("caption", { class: "visually-hidden" }, t("receipts.title")),
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            el("th", { scope: "col" }, t("receipts.recipient")),
            matrix.documents.map((d) =>
              el("th", { scope: "col" }, d.title, el("span", { class: "when" }, t("receipts.version", { version: d.current_version }))),
            ),
            el("th", { scope: "col" }, t("receipts.missing")),
          ),
        ),
        el(
          "tbody",
          {},
          shown.map(({ row, shared, missing }) =>
            el(
              "tr",
              { class: missing ? "missing" : "complete", "data-recipient": `${row.kind}:${row.id}` },
              el(
                "th",
                { scope: "row" },
                row.name,
                row.unit && row.unit !== row.name ? el("span", { class: "when" }, row.unit) : null,
              ),
              row.cells.map((c, i) => cell(c, shared[i])),
              el("td", { class: "count" }, missing ? t("receipts.missing_count", { count: missing }) : "✓"),
            ),
          ),
        ),
      ),
    );
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      matrix = await api(`/api/meetings/${meetingId}/receipts`);
      updated.textContent = t("receipts.updated", { time: formatClock(new Date().toISOString(), session.zone) });
      draw();
    } catch (error) {
      fail(error);
    }
    // Kept current while the page is open; a page left behind stops asking.
    timer = setTimeout(() => element.isConnected && refresh(), REFRESH_MS);
  }

  onlyMissing.addEventListener("change", draw);
  refreshButton.addEventListener("click", refresh);
  return { element, refresh };
}
