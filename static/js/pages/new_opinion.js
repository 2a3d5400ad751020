// A secretary or a chair asks for written opinions (/?view=new_opinion): the question, the
// options to choose from, the deadline in the province's time, who is asked (whole units,
// single points, people by name) and the PDFs to read, sent once the request exists.
import { go, roles, session, showError } from "../app.js";
import { api, ApiError } from "../api.js";
import { t } from "../i18n.js";
import { SENDER_ROLES, attachFiles, opinionHref, opinionProblem, progressMeter } from "../opinions.js";
import { el, field, notify } from "../ui.js";
import { zonedIso } from "./new_meeting.js";

const DEFAULT_OPTIONS = ["Đồng ý", "Không đồng ý", "Ý kiến khác"];
const MIN_OPTIONS = 2;
const MAX_OPTIONS = 10;
const DEFAULT_DAYS = 7;

function flatten(nodes, depth = 0, out = []) {
  for (const node of nodes) {
    out.push({ ...node, depth });
    flatten(node.children, depth + 1, out);
  }
  return out;
}

// The options, editable: 2 to 10 lines, each with its own label and remove button.
function optionsEditor() {
  const list = el("ol", { class: "opinion-options-edit", id: "options-edit" });
  const add = el("button", { type: "button", id: "add-option" }, t("opinion.option_add"));
  const renumber = () => {
    const rows = [...list.children];
    rows.forEach((row, i) => {
      row.querySelector("label").textContent = t("opinion.option_n", { n: i + 1 });
      const remove = row.querySelector("button");
      remove.setAttribute("aria-label", t("opinion.option_remove", { n: i + 1 }));
      remove.disabled = rows.length <= MIN_OPTIONS;
    });
    add.disabled = rows.length >= MAX_OPTIONS;
  };
  const addRow = (value = "") => {
    const input = el("input", { class: "option-text", maxlength: 200, value, required: true });
    const row = el(
      "li",
      { class: "option-row" },
      field("", input),
      el("button", { type: "button", onclick: () => { row.remove(); renumber(); } }, "×"),
    );
    list.append(row);
    renumber();
    return input;
  };
  add.addEventListener("click", () => addRow().focus());
  for (const option of DEFAULT_OPTIONS) addRow(option);
  return {
    element: el("fieldset", {}, el("legend", {}, t("opinion.options")), el("p", { class: "hint" }, t("opinion.options_hint")), list, add),
    values: () => [...list.querySelectorAll(".option-text")].map((input) => input.value.trim()),
  };
}

// Chosen items shown as chips, each with a button to take it out again.
function chipList(onChange) {
  const chosen = new Map();
  const list = el("ul", { class: "chips", "aria-live": "polite" });
  const draw = () => {
    list.replaceChildren(
      ...[...chosen.entries()].map(([key, name]) =>
        el(
          "li",
          {},
          name,
          el("button", { type: "button", "aria-label": t("opinion.remove_named", { name }), onclick: () => { chosen.delete(key); draw(); } }, "×"),
        ),
      ),
    );
    onChange();
  };
  return {
    list,
    chosen,
    add(key, name) {
      chosen.set(key, name);
      draw();
    },
  };
}

// A search box whose hits each have a button to add them.
function searchPicker({ label, find, add }) {
  const input = el("input", { type: "search", autocomplete: "off" });
  const results = el("ul", { class: "list picker-results" });
  let timer;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = input.value.trim();
      if (q.length < 2) return results.replaceChildren();
      try {
        const hits = await find(q);
        results.replaceChildren(
          ...(hits.length
            ? hits.map((hit) =>
                el(
                  "li",
                  {},
                  el("span", { class: "name" }, hit.name),
                  el("span", { class: "role" }, hit.detail),
                  el("button", { type: "button", "aria-label": t("opinion.add_named", { name: hit.name }), onclick: () => add(hit) }, "+"),
                ),
              )
            : [el("li", { class: "empty" }, t("opinion.search_none"))]),
        );
      } catch (error) {
        showError(error);
      }
    }, 250);
  });
  return [field(label, input), results];
}

export async function render(view) {
  if (!SENDER_ROLES.some((role) => roles().has(role))) {
    view.append(el("section", { class: "card" }, el("h1", {}, t("opinion.new_title")), el("p", { class: "error" }, t("opinion.not_sender"))));
    return;
  }
  const units = flatten(await api("/api/units"));
  const zone = session.zone;
  const later = new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(new Date(Date.now() + DEFAULT_DAYS * 86400000));

  const title = el("input", { name: "title", required: true, maxlength: 300 });
  const question = el("textarea", { name: "question", required: true, rows: 6 });
  const options = optionsEditor();
  const date = el("input", { type: "date", name: "deadline_date", required: true, value: later });
  const time = el("input", { type: "time", name: "deadline_time", required: true, value: "17:00" });

  const summary = el("p", { class: "hint", id: "recipients-summary", role: "status" });
  const unitSelect = el(
    "select",
    { name: "units", multiple: true, size: 8 },
    units.map((u) => el("option", { value: u.id }, `${"\u00a0\u00a0".repeat(u.depth)}${u.name} (${u.point_count})`)),
  );
  const drawSummary = () => {
    summary.textContent = t("opinion.recipients_summary", {
      units: unitSelect.selectedOptions.length,
      points: points.chosen.size,
      people: people.chosen.size,
    });
  };
  const points = chipList(drawSummary);
  const people = chipList(drawSummary);
  unitSelect.addEventListener("change", drawSummary);
  const pointSearch = searchPicker({
    label: t("opinion.search_points"),
    find: async (q) =>
      (await api(`/api/points?q=${encodeURIComponent(q)}&limit=20`)).items.map((p) => ({ id: p.id, name: p.name, detail: p.unit.name })),
    add: (hit) => points.add(hit.id, hit.name),
  });
  const peopleSearch = searchPicker({
    label: t("opinion.search_people"),
    find: async (q) =>
      (await api(`/api/users/directory?q=${encodeURIComponent(q)}`)).slice(0, 20).map((u) => ({
        id: u.username,
        name: u.full_name,
        detail: [u.username, u.unit?.name].filter(Boolean).join(" · "),
      })),
    add: (hit) => people.add(hit.id, hit.name),
  });
  drawSummary();

  const files = el("input", { type: "file", name: "files", accept: "application/pdf,.pdf", multiple: true });
  const fileList = el("ul", { class: "list", id: "attach-list" });
  files.addEventListener("change", () =>
    fileList.replaceChildren(
      ...[...files.files].map((f) =>
        el(
          "li",
          {},
          el("span", { class: "name" }, f.name),
          el("span", { class: "role" }, t("opinion.file_size", { kb: Math.ceil(f.size / 1024) })),
        ),
      ),
    ),
  );
  const meter = progressMeter("attach");
  const uploadStatus = el("p", { class: "upload-status", id: "attach-status", role: "status" });

  const problem = el("p", { class: "form-status error", id: "new-opinion-problem", role: "alert" });
  const submit = el("button", { type: "submit", class: "primary" }, t("opinion.send"));
  const form = el(
    "form",
    { id: "new-opinion", class: "stack" },
    field(t("opinion.field_title"), title),
    field(t("opinion.field_question"), question),
    options.element,
    el(
      "fieldset",
      {},
      el("legend", {}, t("opinion.deadline")),
      el("p", { class: "hint" }, t("opinion.deadline_zone", { zone })),
      el("div", { class: "row" }, field(t("opinion.deadline_date"), date), field(t("opinion.deadline_time"), time)),
    ),
    el(
      "fieldset",
      {},
      el("legend", {}, t("opinion.recipients")),
      field(t("opinion.pick_units"), unitSelect),
      ...pointSearch,
      points.list,
      ...peopleSearch,
      people.list,
      summary,
    ),
    el(
      "fieldset",
      {},
      el("legend", {}, t("opinion.attachments")),
      field(t("opinion.attach_files"), files),
      fileList,
      meter.element,
      uploadStatus,
    ),
    problem,
    el("div", { class: "actions" }, submit, el("a", { class: "button", href: "/?view=opinions" }, t("opinion.cancel"))),
  );

  const refuse = (text) => {
    problem.textContent = text;
    notify(text, "error");
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    const choices = options.values();
    if (choices.some((c) => !c) || new Set(choices.map((c) => c.toLocaleLowerCase("vi"))).size !== choices.length) {
      return refuse(t("opinion.options_invalid"));
    }
    const recipients = {
      unit_ids: [...unitSelect.selectedOptions].map((o) => Number(o.value)),
      point_ids: [...points.chosen.keys()],
      usernames: [...people.chosen.keys()],
    };
    if (!recipients.unit_ids.length && !recipients.point_ids.length && !recipients.usernames.length) {
      return refuse(t("opinion.recipients_missing"));
    }
    const deadline = zonedIso(date.value, time.value, zone);
    if (new Date(deadline).getTime() <= Date.now()) return refuse(t("opinion.deadline_past"));
    const chosenFiles = [...files.files];
    submit.disabled = true;
    let created;
    try {
      created = await api("/api/opinions", {
        method: "POST",
        // A draft until its documents are in: the recipients never see it half-made.
        body: { title: title.value.trim(), question: question.value, options: choices, deadline, recipients, draft: true },
      });
    } catch (error) {
      submit.disabled = false;
      if (error instanceof ApiError && error.status === 401) return showError(error);
      return refuse(opinionProblem(error));
    }
    // The request exists: nothing is sent twice from here on, whatever happens to a file.
    for (const control of form.elements) control.disabled = true;
    const count = created.recipients.length;
    if (chosenFiles.length) {
      try {
        const { failed } = await attachFiles(created.id, chosenFiles, meter, uploadStatus);
        if (failed.length) {
          refuse(t("opinion.sent_but_files_failed", { count }));
          form.append(el("p", {}, el("a", { class: "button primary", href: opinionHref(created.id), id: "open-created" }, t("opinion.open_request"))));
          return;
        }
      } catch (error) {
        return showError(error);
      }
    }
    try {
      await api(`/api/opinions/${created.id}/send`, { method: "POST" });
    } catch (error) {
      return showError(error);
    }
    go(`${opinionHref(created.id)}&created=${count}`);
  });

  view.append(el("section", { class: "card" }, el("h1", {}, t("opinion.new_title")), form));
  title.focus();
}
