// Small DOM helpers shared by the pages.

export const $ = (selector, root = document) => root.querySelector(selector);

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false)
      node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function notify(text, kind = "info") {
  const box = $("#notice");
  if (!box) return;
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => (box.hidden = true), 8000);
}

let uniqueIds = 0;
export function uid(prefix) {
  uniqueIds += 1;
  return `${prefix}-${uniqueIds}`;
}

// A labelled form control: label + control wired by id (every control has a label).
export function field(labelText, control) {
  control.id ||= uid("f");
  return el("div", { class: "field" }, el("label", { for: control.id }, labelText), control);
}

// Text for matching whatever the diacritics typed: "Xã Tân Phú" -> "xa tan phu".
export function fold(text) {
  return text.replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}
