// The message catalogue: every string the client shows comes from static/i18n/<lang>.json,
// Vietnamese first, English second. t("key", {name: "..."}) fills {name}.

const STORAGE_KEY = "hoinghi.lang";
const catalogues = {};

export function language() {
  return localStorage.getItem(STORAGE_KEY) === "en" ? "en" : "vi";
}

export async function loadMessages() {
  await Promise.all(
    ["vi", "en"].map(async (lang) => {
      const response = await fetch(`/static/i18n/${lang}.json`);
      catalogues[lang] = await response.json();
    }),
  );
  document.documentElement.lang = language();
}

export function setLanguage(lang) {
  localStorage.setItem(STORAGE_KEY, lang === "en" ? "en" : "vi");
  document.documentElement.lang = language();
}

function lookup(key) {
  return catalogues[language()]?.[key] ?? catalogues.vi?.[key];
}

export function t(key, params = {}) {
  const text = lookup(key);
  if (text === undefined) {
    console.warn("missing message", key);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

// A problem code from the server in the reader's words, or its detail if we have none.
export function problemText(code, detail) {
  const text = lookup(`error.${code}`);
  return text !== undefined
    ? text.replace("{detail}", detail || "")
    : t("error.generic", { detail: detail || code });
}

function formatter(zone, options) {
  return new Intl.DateTimeFormat(language() === "en" ? "en-GB" : "vi-VN", { timeZone: zone, ...options });
}

export function formatTime(iso, zone) {
  return formatter(zone, {
    hour: "2-digit",
    minute: "2-digit",
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
  }).format(new Date(iso));
}

export function formatClock(iso, zone) {
  return formatter(zone, { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}

export function formatDay(iso, zone) {
  return formatter(zone, { weekday: "long", day: "2-digit", month: "2-digit", year: "numeric" }).format(
    new Date(iso),
  );
}

// Fill every element with data-i18n (text) or data-i18n-placeholder / -label attributes.
export function translatePage(root = document) {
  document.documentElement.lang = language();
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]"))
    el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-label]"))
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}
