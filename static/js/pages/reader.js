// The reader (/meetings/{id}?view=reader&doc=…&page=…): a document's pages as images (no
// PDF plugin), a strip of thumbnails, previous/next from buttons or the keyboard, the
// reader's own watermarked copy, the agenda pack, and search.
import { showError } from "../app.js";
import { api, ApiError } from "../api.js";
import { t } from "../i18n.js";
import {
  THUMB_WIDTH,
  documentProblem,
  documentsHref,
  packHref,
  pageImage,
  searchBox,
  widthFor,
} from "../documents.js";
import { el, notify, uid } from "../ui.js";

function fail(error) {
  if (error instanceof ApiError && error.status === 401) return showError(error);
  notify(documentProblem(error), "error");
}

export async function render(view, { params, query }) {
  const meetingId = Number(params[0]);
  const documentId = Number(query.get("doc"));
  let doc;
  try {
    doc = await api(`/api/documents/${documentId}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) throw error;
    view.append(
      el(
        "section",
        { class: "card" },
        el("p", { class: "error big" }, documentProblem(error)),
        el("a", { class: "button", href: documentsHref(meetingId) }, t("docs.back_to_list")),
      ),
    );
    return;
  }
  const asked = Number(query.get("version"));
  const version = doc.versions.find((v) => v.number === asked) ?? doc.versions.find((v) => v.number === doc.current_version);
  const pages = version.pages;
  let page = Math.min(Math.max(1, Number(query.get("page")) || 1), pages);

  const label = el("p", { class: "big", id: "reader-page", "aria-live": "polite" });
  const image = el("img", { id: "page-image", alt: "", decoding: "async" });
  const loading = el("p", { class: "empty", role: "status" });
  const figure = el("figure", { class: "page-view" }, image, loading);
  const prev = el("button", { type: "button", id: "page-prev" }, `← ${t("reader.prev")}`);
  const next = el("button", { type: "button", id: "page-next", class: "primary" }, `${t("reader.next")} →`);
  const jump = el("input", { type: "number", min: 1, max: pages, id: uid("page"), inputmode: "numeric" });
  const jumpForm = el(
    "form",
    { class: "inline" },
    el("label", { for: jump.id }, t("reader.goto")),
    jump,
    el("button", { type: "submit" }, t("reader.go")),
  );
  const strip = el("ol", { class: "strip-pages" });
  const nav = el("nav", { class: "strip", "aria-label": t("reader.strip") }, strip);
  let width = 0;

  const thumbs = [];
  for (let n = 1; n <= pages; n += 1) {
    const button = el(
      "button",
      { type: "button", class: "thumb", "data-page": n, tabindex: "-1", "aria-label": t("reader.page_n", { page: n }) },
      el("img", {
        src: pageImage(doc, n, THUMB_WIDTH, version.number),
        alt: "",
        loading: "lazy",
        width: THUMB_WIDTH,
      }),
      el("span", {}, String(n)),
    );
    button.addEventListener("click", () => show(n));
    thumbs.push(button);
    strip.append(el("li", {}, button));
  }

  function show(n, focusThumb = false) {
    page = Math.min(Math.max(1, n), pages);
    label.textContent = t("reader.page_of", { page, pages });
    prev.disabled = page <= 1;
    next.disabled = page >= pages;
    jump.value = String(page);
    width = widthFor(figure);
    const src = pageImage(doc, page, width, version.number);
    if (image.getAttribute("src") !== src) {
      loading.textContent = t("reader.loading");
      image.src = src;
    }
    image.alt = t("reader.page_alt", { page, title: doc.title });
    image.dataset.page = String(page);
    thumbs.forEach((thumb, i) => {
      const current = i + 1 === page;
      thumb.tabIndex = current ? 0 : -1;
      if (current) thumb.setAttribute("aria-current", "page");
      else thumb.removeAttribute("aria-current");
    });
    const thumb = thumbs[page - 1];
    thumb.scrollIntoView({ block: "nearest", inline: "nearest" });
    if (focusThumb) thumb.focus();
    // The address names the page, so a reload or a shared link opens it again.
    const address = new URL(location.href);
    address.searchParams.set("page", String(page));
    history.replaceState(null, "", address.pathname + address.search);
    if (page < pages) new Image().src = pageImage(doc, page + 1, width, version.number);
  }

  image.addEventListener("load", () => (loading.textContent = ""));
  image.addEventListener("error", () => (loading.textContent = t("reader.page_failed")));
  prev.addEventListener("click", () => show(page - 1));
  next.addEventListener("click", () => show(page + 1));
  jumpForm.addEventListener("submit", (event) => {
    event.preventDefault();
    show(Number(jump.value) || 1);
  });
  // In the strip, arrows move between pages (one tab stop for the whole strip).
  strip.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1 }[event.key];
    if (step) show(page + step, true);
    else if (event.key === "Home") show(1, true);
    else if (event.key === "End") show(pages, true);
    else return;
    event.preventDefault();
  });
  // Anywhere else on the page (not while typing), the arrow and page keys turn pages.
  const onKey = (event) => {
    if (!view.contains(figure)) return document.removeEventListener("keydown", onKey);
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest?.("input, select, textarea, .strip")) return;
    const step = { ArrowLeft: -1, PageUp: -1, ArrowRight: 1, PageDown: 1 }[event.key];
    if (!step) return;
    event.preventDefault();
    show(page + step);
  };
  document.addEventListener("keydown", onKey);
  let resizeTimer;
  const onResize = () => {
    if (!view.contains(figure)) return window.removeEventListener("resize", onResize);
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => widthFor(figure) !== width && show(page), 300);
  };
  window.addEventListener("resize", onResize);

  const old = version.number !== doc.current_version;
  view.append(
    el(
      "section",
      { class: "card reader-head" },
      el("h1", { id: "reader-title" }, doc.title),
      old ? el("p", { class: "warning-text" }, t("reader.old_version", { version: version.number, current: doc.current_version })) : null,
      label,
      el(
        "div",
        { class: "actions" },
        el("a", { class: "button", href: documentsHref(meetingId) }, t("docs.back_to_list")),
        el("a", { class: "button", href: `/api/documents/${doc.id}/download?version=${version.number}`, download: "", id: "download-copy" }, t("docs.download")),
        el("a", { class: "button", href: packHref(meetingId), download: "" }, t("docs.pack")),
      ),
      el("div", { class: "actions pager" }, prev, next, jumpForm),
    ),
    el("div", { class: "reader" }, nav, figure),
    el("div", { class: "card" }, searchBox(meetingId, fail)),
  );
  show(page);
}
