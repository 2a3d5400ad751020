// Agenda documents, shared by the documents page, the reader and the room: where a
// page's image is, links into the reader, the search box, refusals in words.

import { api, ApiError } from "./api.js";
import { problemText, t } from "./i18n.js";
import { el, uid } from "./ui.js";

export const THUMB_WIDTH = 160;
// The server renders widths in steps of 160 px (and caches each), up to 2400.
const STEP = 160;
const MAX_WIDTH = 1920;

export function pagesUrl(doc, version = doc.current_version) {
  return `/api/documents/${doc.id}/versions/${version}/pages/`;
}

export function pageImage(doc, page, width, version) {
  return `${pagesUrl(doc, version)}${page}.webp?width=${width}`;
}

// The width to ask for so the page is sharp in `box` on this screen, without asking the
// server for a new size at every pixel of a resize.
export function widthFor(box) {
  const wanted = Math.max(box.clientWidth || 800, 320) * (window.devicePixelRatio || 1);
  return Math.min(MAX_WIDTH, Math.ceil(wanted / STEP) * STEP);
}

export function documentsHref(meetingId) {
  return `/meetings/${meetingId}?view=documents`;
}

export function readerHref(meetingId, documentId, page = 1, version = null) {
  const extra = version ? `&version=${version}` : "";
  return `/meetings/${meetingId}?view=reader&doc=${documentId}&page=${page}${extra}`;
}

export function packHref(meetingId) {
  return `/api/meetings/${meetingId}/pack.pdf`;
}

// A refusal of a document in words ("Tệp không phải là PDF."); a missing document is not
// a missing meeting, whatever the generic not_found says.
export function documentProblem(error) {
  if (error instanceof ApiError && error.status === 404 && error.code === "not_found") return t("docs.not_found");
  if (error instanceof ApiError && error.status === 403) return t("docs.forbidden");
  return error instanceof ApiError ? problemText(error.code, error.detail) : t("error.generic", { detail: String(error) });
}

// Search the meeting's documents (with or without diacritics); each hit is a link to its
// page in the reader.
export function searchBox(meetingId, onError) {
  const input = el("input", { type: "search", id: uid("doc-search"), maxlength: 200, name: "q" });
  const results = el("ol", { class: "list hits", id: "search-hits", "aria-live": "polite" });
  const status = el("p", { class: "empty", role: "status" });
  const form = el(
    "form",
    { class: "inline search", role: "search" },
    el("label", { for: input.id }, t("docs.search")),
    input,
    el("button", { type: "submit" }, t("docs.search_go")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    try {
      const hits = await api(`/api/meetings/${meetingId}/search?q=${encodeURIComponent(q)}`);
      status.textContent = hits.length ? t("docs.search_found", { count: hits.length }) : t("docs.search_none");
      results.replaceChildren(
        ...hits.map((hit) =>
          el(
            "li",
            {},
            el(
              "a",
              { href: readerHref(meetingId, hit.document_id, hit.page) },
              t("docs.hit", { title: hit.title, page: hit.page }),
            ),
            el("span", { class: "snippet" }, hit.snippet),
          ),
        ),
      );
    } catch (error) {
      onError(error);
    }
  });
  return el("div", { class: "doc-search" }, form, status, results);
}
