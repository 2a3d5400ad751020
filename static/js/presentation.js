// The document being presented in the room: every client shows the page image of the
// room's `presentation` ({document_id, page}), so every point sees the same page and a
// late joiner lands on it; the chair, the secretary or the presenter picks a document of
// the meeting from a list and turns its pages.

import { api, ApiError } from "./api.js";
import { language, t } from "./i18n.js";
import { pageImage, widthFor } from "./documents.js";

const LIST_REFRESH_MS = 15000;
const $ = (selector) => document.querySelector(selector);

export class RoomPresentation {
  constructor({ meetingId, command, changed }) {
    this.meetingId = meetingId;
    this.command = command; // (type, fields) -> Promise of the ack or error frame
    this.changed = changed; // ask the room page to draw again
    this.docs = new Map(); // document id -> the document (or {failed: error})
    this.loading = new Set();
    this.list = null; // the meeting's documents, for the picker
    this.listedAt = 0;
    this.shown = null;
  }

  wire() {
    $("#present-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const picked = $("#present-number-field").hidden ? $("#present-pick").value : $("#present-document").value;
      if (!picked) return;
      this.command("present", { document_id: Number(picked), page: Number($("#present-page").value) || 1 });
    });
    $("#present-pick").addEventListener("change", () => {
      $("#present-page").value = "1";
      const doc = this.docs.get(Number($("#present-pick").value));
      if (doc?.pages) $("#present-page").max = String(doc.pages);
    });
    $("#present-pick").addEventListener("focus", () => this.loadList());
    $("#prev-page").addEventListener("click", () => this.turn(-1));
    $("#next-page").addEventListener("click", () => this.turn(1));
    $("#stop-presenting").addEventListener("click", () => this.command("stop_presenting"));
  }

  turn(step) {
    if (this.shown) this.command("turn_page", { page: this.shown.page + step });
  }

  // The meeting's documents for the picker: when the controls first show, and again
  // when the list is opened later (a document may have been uploaded meanwhile).
  async loadList(force = false) {
    if (!force && Date.now() - this.listedAt < LIST_REFRESH_MS) return;
    this.listedAt = Date.now();
    try {
      this.list = await api(`/api/meetings/${this.meetingId}/documents`);
      for (const doc of this.list) this.docs.set(doc.id, doc);
    } catch {
      this.list ??= [];
    }
    this.fillPicker();
    this.changed();
  }

  fillPicker() {
    this.listLanguage = language();
    const select = $("#present-pick");
    const chosen = select.value;
    select.replaceChildren(
      ...this.list.map((doc, i) => {
        const option = document.createElement("option");
        option.value = String(doc.id);
        option.textContent = t("present.option", { n: i + 1, title: doc.title, pages: doc.pages });
        return option;
      }),
    );
    if (chosen && this.list.some((d) => String(d.id) === chosen)) select.value = chosen;
    else if (this.shown && this.list.some((d) => d.id === this.shown.document_id))
      select.value = String(this.shown.document_id);
    const doc = this.docs.get(Number(select.value));
    if (doc?.pages) $("#present-page").max = String(doc.pages);
  }

  // The document's facts (current version, pages). Fetched when it is first shown; when
  // it is shown again the facts already known are used while they are asked again (a new
  // version may have been uploaded).
  document(id, again = false) {
    const known = this.docs.get(id);
    if ((known && !again) || this.loading.has(id)) return known ?? null;
    this.loading.add(id);
    api(`/api/documents/${id}`)
      .then((doc) => this.docs.set(id, doc))
      .catch((error) => this.docs.set(id, { failed: error }))
      .finally(() => {
        this.loading.delete(id);
        this.changed();
      });
    return null;
  }

  draw(shown, mayPresent) {
    const fresh = shown && shown.document_id !== this.shown?.document_id;
    this.shown = shown;
    const doc = shown ? this.document(shown.document_id, fresh) : null;
    const ready = doc && !doc.failed;
    // The room names the version it shows and its pages; the document's own facts only
    // fill in for presentations logged before it did.
    const pages = shown?.pages ?? doc?.pages;
    const text = $("#presentation");
    text.textContent = !shown
      ? t("present.none")
      : ready
        ? t("present.doc_title_page", { title: shown.title || doc.title, page: shown.page, pages })
        : t("present.doc_page", { doc: shown.document_id, page: shown.page });
    text.dataset.page = shown ? String(shown.page) : "";
    $("#present-card").classList.toggle("wide", Boolean(shown));
    this.drawPage(shown, doc);

    $("#present-controls").hidden = !mayPresent;
    if (mayPresent && this.list === null) this.loadList(true);
    else if (this.list && this.listLanguage !== language()) this.fillPicker();
    const listed = Boolean(this.list?.length);
    $("#present-pick-field").hidden = !listed;
    // Without documents to list (none uploaded, or the list could not be read) the
    // chair can still name one by its number.
    $("#present-number-field").hidden = listed;
    $("#present-document").required = !listed;
    $("#prev-page").disabled = !shown || shown.page <= 1;
    $("#next-page").disabled = !shown || (ready && shown.page >= pages);
    $("#stop-presenting").disabled = !shown;
  }

  drawPage(shown, doc) {
    const figure = $("#present-figure");
    const image = $("#present-image");
    const status = $("#present-status");
    const pages = shown?.pages ?? doc?.pages;
    if (!shown || !doc || doc.failed || shown.page > pages) {
      figure.hidden = true;
      image.removeAttribute("src");
      delete image.dataset.document;
      delete image.dataset.page;
      status.textContent = !shown
        ? ""
        : !doc
          ? t("present.loading")
          : doc.failed
            ? problem(doc.failed)
            : t("present.beyond", { pages });
      return;
    }
    figure.hidden = false;
    const width = widthFor(figure);
    const src = pageImage(doc, shown.page, width, shown.version);
    if (image.getAttribute("src") !== src) {
      status.textContent = t("present.loading");
      image.onload = () => (status.textContent = "");
      image.onerror = () => (status.textContent = t("present.page_failed"));
      image.src = src;
      // The next page is likely next: have it ready when the presenter turns.
      if (shown.page < pages) new Image().src = pageImage(doc, shown.page + 1, width, shown.version);
    }
    image.alt = t("present.page_alt", { page: shown.page, title: doc.title });
    image.dataset.document = String(doc.id);
    image.dataset.page = String(shown.page);
  }
}

function problem(error) {
  if (error instanceof ApiError && error.status === 403) return t("docs.forbidden");
  if (error instanceof ApiError && error.status === 404) return t("docs.not_found");
  return t("present.page_failed");
}
