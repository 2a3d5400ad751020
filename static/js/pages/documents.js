// A meeting's documents (/meetings/{id}?view=documents): everyone who may read sees the
// list in agenda order, opens each in the reader, downloads their copy or the whole pack
// and searches; organizers also upload (with progress), change, order and share them,
// and see who has received what.
import { session, showError } from "../app.js";
import { api, ApiError, upload } from "../api.js";
import { formatTime, t } from "../i18n.js";
import { documentProblem, packHref, readerHref, searchBox } from "../documents.js";
import { receiptsCard } from "../receipts.js";
import { el, field, fold, notify, uid } from "../ui.js";

const OPEN_STATUSES = new Set(["draft", "scheduled", "live"]);

// An API failure in words: in the page's notice, and beside the control when given.
function fail(error, where = null) {
  if (error instanceof ApiError && error.status === 401) return showError(error);
  const text = documentProblem(error);
  notify(text, "error");
  if (where) {
    where.textContent = text;
    where.className = "error";
  }
}

// A PDF file chooser whose upload shows its progress. send(form, onProgress) does the
// request; the form's other fields are added by the caller through extra().
function pdfUploader({ submitText, extra = () => [], send, done, id = uid("upload") }) {
  const file = el("input", { type: "file", name: "file", accept: "application/pdf,.pdf", required: true });
  const bar = el("progress", { id: `${id}-progress`, max: 100, value: 0 });
  const percent = el("span", { class: "percent", id: `${id}-percent` }, "0%");
  const meter = el(
    "div",
    { class: "progress", hidden: true },
    el("label", { for: bar.id }, t("docs.upload_progress")),
    bar,
    percent,
  );
  const status = el("p", { class: "upload-status", id: `${id}-status` });
  const submit = el("button", { type: "submit", class: "primary" }, submitText);
  const form = el(
    "form",
    { class: "stack uploader", id },
    field(t("docs.file"), file),
    extra(),
    el("div", { class: "actions" }, submit),
    meter,
    status,
  );
  const show = (fraction) => {
    const value = Math.round(fraction * 100);
    bar.setAttribute("value", String(value));
    percent.textContent = `${value}%`;
    if (value >= 100) status.textContent = t("docs.checking");
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    const data = new FormData(form);
    for (const [key, value] of [...data.entries()]) if (value === "") data.delete(key);
    submit.disabled = true;
    meter.hidden = false;
    show(0);
    status.className = "upload-status";
    status.textContent = t("docs.uploading", { name: chosen.name });
    try {
      const document = await send(data, show);
      show(1);
      status.textContent = t("docs.uploaded", { title: document.title, pages: document.pages });
      file.value = "";
      await done(document);
    } catch (error) {
      fail(error, status);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function scopeSelect(value) {
  return el(
    "select",
    { name: "scope" },
    ["invited", "named"].map((scope) => el("option", { value: scope, selected: scope === value }, t(`docs.scope_${scope}`))),
  );
}

function agendaSelect(agenda, value) {
  return el(
    "select",
    { name: "agenda_item_id" },
    el("option", { value: "" }, t("docs.no_item")),
    agenda.map((item, i) =>
      el("option", { value: String(item.id), selected: item.id === value }, `${i + 1}. ${item.title}`),
    ),
  );
}

export async function render(view, { params }) {
  const id = Number(params[0]);
  const [meeting, agenda] = await Promise.all([api(`/api/meetings/${id}`), api(`/api/meetings/${id}/agenda`)]);
  let documents = await api(`/api/meetings/${id}/documents`);
  const organizer = meeting.can_edit;
  const editor = organizer && OPEN_STATUSES.has(meeting.status);
  const open = new Set(); // documents whose edit panel is open
  let invited = null; // who may be named as a reader, loaded when first needed

  const list = el("div", { id: "document-list" });
  const receipts = organizer ? receiptsCard(id, () => documents, fail) : null;

  const refresh = async () => {
    documents = await api(`/api/meetings/${id}/documents`);
    drawList();
    receipts?.refresh();
  };

  async function candidates() {
    invited ??= (await api(`/api/meetings/${id}/invitations`)).items;
    return invited;
  }

  async function move(doc, step) {
    const order = documents.map((d) => d.id);
    const at = order.indexOf(doc.id);
    [order[at], order[at + step]] = [order[at + step], order[at]];
    try {
      documents = await api(`/api/meetings/${id}/documents/order`, { method: "POST", body: { document_ids: order } });
      drawList();
      list.querySelector(`[data-document="${doc.id}"] .move-${step < 0 ? "up" : "down"}`)?.focus();
    } catch (error) {
      fail(error);
    }
  }

  function readersEditor(doc) {
    const box = el("fieldset", { class: "readers" }, el("legend", {}, t("docs.readers")));
    const chosen = new Set((doc.readers ?? []).map((r) => `${r.kind}:${r.id}`));
    const count = el("p", { class: "role", "aria-live": "polite" });
    const filter = el("input", { type: "search" });
    const boxes = el("ul", { class: "checks" });
    const status = el("p", {});
    const drawCount = () => (count.textContent = t("docs.readers_count", { count: chosen.size }));
    const save = el("button", { type: "button", class: "primary" }, t("docs.readers_save"));
    box.append(el("p", { class: "empty" }, t("common.loading")));
    candidates()
      .then((people) => {
        boxes.replaceChildren(
          ...people.map((person) => {
            const key = `${person.kind}:${person.kind === "point" ? person.point_id : person.user_id}`;
            const check = el("input", { type: "checkbox", id: uid("reader"), checked: chosen.has(key) });
            check.addEventListener("change", () => {
              if (check.checked) chosen.add(key);
              else chosen.delete(key);
              drawCount();
            });
            const unit = person.unit?.name ?? "";
            return el(
              "li",
              { class: "check", "data-name": fold(`${person.name} ${unit}`) },
              check,
              el("label", { for: check.id }, person.name, unit ? el("span", { class: "role" }, ` — ${unit}`) : null),
            );
          }),
        );
        drawCount();
        box.replaceChildren(
          box.firstChild,
          field(t("docs.readers_filter"), filter),
          count,
          boxes,
          el("div", { class: "actions" }, save),
          status,
        );
      })
      .catch((error) => fail(error, status));
    filter.addEventListener("input", () => {
      const wanted = fold(filter.value.trim());
      for (const item of boxes.children) item.hidden = Boolean(wanted) && !item.dataset.name.includes(wanted);
    });
    save.addEventListener("click", async () => {
      const pick = (kind) => [...chosen].filter((k) => k.startsWith(`${kind}:`)).map((k) => Number(k.split(":")[1]));
      try {
        await api(`/api/documents/${doc.id}/readers`, {
          method: "PUT",
          body: { point_ids: pick("point"), user_ids: pick("user") },
        });
        notify(t("docs.readers_saved", { count: chosen.size }));
        await refresh();
      } catch (error) {
        fail(error, status);
      }
    });
    return box;
  }

  function editPanel(doc) {
    const title = el("input", { name: "title", maxlength: 300, value: doc.title, required: true });
    const item = agendaSelect(agenda, doc.agenda_item_id);
    const scope = scopeSelect(doc.scope);
    const status = el("p", {});
    const form = el(
      "form",
      { class: "stack" },
      field(t("docs.title_field"), title),
      el("div", { class: "row" }, field(t("docs.agenda_item"), item), field(t("docs.scope"), scope)),
      el("div", { class: "actions" }, el("button", { type: "submit", class: "primary" }, t("common.save"))),
      status,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const changes = {};
      if (title.value.trim() !== doc.title) changes.title = title.value.trim();
      const itemId = item.value ? Number(item.value) : null;
      if (itemId !== doc.agenda_item_id) changes.agenda_item_id = itemId;
      if (scope.value !== doc.scope) changes.scope = scope.value;
      if (!Object.keys(changes).length) return;
      try {
        await api(`/api/documents/${doc.id}`, { method: "PATCH", body: changes });
        notify(t("docs.saved", { title: changes.title ?? doc.title }));
        await refresh();
      } catch (error) {
        fail(error, status);
      }
    });
    const versions = el(
      "ol",
      { class: "list versions" },
      doc.versions.map((v) =>
        el(
          "li",
          {},
          el(
            "span",
            { class: "name" },
            t("docs.version_line", {
              n: v.number,
              pages: v.pages,
              name: v.filename,
              time: formatTime(v.uploaded_at, session.zone),
            }),
            v.number === doc.current_version ? el("strong", {}, ` — ${t("docs.current_version")}`) : null,
          ),
          el("a", { href: readerHref(id, doc.id, 1, v.number) }, t("docs.view")),
          el("a", { href: `/api/documents/${doc.id}/download?version=${v.number}`, download: "" }, t("docs.download_version")),
        ),
      ),
    );
    const newVersion = pdfUploader({
      id: `version-${doc.id}`,
      submitText: t("docs.upload_version"),
      send: (data, progress) => upload(`/api/documents/${doc.id}/versions`, data, progress),
      done: async (newer) => {
        notify(t("docs.uploaded_version", { title: newer.title, version: newer.current_version }));
        await refresh();
      },
    });
    return el(
      "div",
      { class: "edit-panel", id: `edit-${doc.id}` },
      form,
      doc.scope === "named" ? readersEditor(doc) : null,
      el("h4", {}, t("docs.versions")),
      versions,
      newVersion,
    );
  }

  function documentRow(doc, index, group) {
    const panelOpen = open.has(doc.id);
    const first = index === 0;
    const last = index === group.length - 1;
    const toggle = el(
      "button",
      {
        type: "button",
        "aria-expanded": panelOpen ? "true" : "false",
        "aria-controls": `edit-${doc.id}`,
        onclick: () => {
          if (open.has(doc.id)) open.delete(doc.id);
          else open.add(doc.id);
          drawList();
          list.querySelector(`[data-document="${doc.id}"] .toggle`)?.focus();
        },
        class: "toggle",
      },
      t("docs.edit"),
    );
    return el(
      "li",
      { class: "document", "data-document": doc.id },
      el(
        "div",
        { class: "doc-head" },
        el(
          "div",
          { class: "doc-what" },
          el("a", { class: "title", href: readerHref(id, doc.id) }, doc.title),
          el(
            "span",
            { class: "role" },
            t("docs.meta", { pages: doc.pages, version: doc.current_version }),
            " · ",
            t(`docs.scope_${doc.scope}`),
            doc.scope === "named" && doc.readers ? ` (${t("docs.readers_count", { count: doc.readers.length })})` : "",
          ),
        ),
        el(
          "div",
          { class: "actions" },
          el("a", { class: "button primary", href: readerHref(id, doc.id) }, t("docs.read")),
          el("a", { class: "button", href: doc.download_url, download: "" }, t("docs.download")),
          editor
            ? [
                el(
                  "button",
                  { type: "button", class: "move-up", disabled: first, "aria-label": t("docs.move_up", { title: doc.title }), onclick: () => move(doc, -1) },
                  "↑",
                ),
                el(
                  "button",
                  { type: "button", class: "move-down", disabled: last, "aria-label": t("docs.move_down", { title: doc.title }), onclick: () => move(doc, 1) },
                  "↓",
                ),
                toggle,
              ]
            : null,
        ),
      ),
      editor && panelOpen ? editPanel(doc) : null,
    );
  }

  function drawList() {
    if (!documents.length) {
      list.replaceChildren(el("p", { class: "empty" }, t("docs.none")));
      return;
    }
    // The server lists them in agenda order: one group per agenda item, then the rest.
    const groups = [];
    for (const doc of documents) {
      const lastGroup = groups[groups.length - 1];
      if (lastGroup && lastGroup.item === doc.agenda_item_id) lastGroup.docs.push(doc);
      else groups.push({ item: doc.agenda_item_id, docs: [doc] });
    }
    list.replaceChildren(
      ...groups.map(({ item, docs }) => {
        const index = agenda.findIndex((a) => a.id === item);
        const heading = index >= 0 ? `${index + 1}. ${agenda[index].title}` : t("docs.other");
        return el(
          "section",
          { class: "doc-group" },
          el("h3", {}, heading),
          el("ol", { class: "documents" }, docs.map((doc, i) => documentRow(doc, i, docs))),
        );
      }),
    );
  }

  const title = el("input", { name: "title", maxlength: 300 });
  const uploader = editor
    ? pdfUploader({
        id: "upload",
        submitText: t("docs.upload"),
        extra: () => [
          field(t("docs.title_optional"), title),
          el(
            "div",
            { class: "row" },
            field(t("docs.agenda_item"), agendaSelect(agenda, null)),
            field(t("docs.scope"), scopeSelect(meeting.classification === "confidential" ? "named" : "invited")),
          ),
        ],
        send: (data, progress) => upload(`/api/meetings/${id}/documents`, data, progress),
        done: async (doc) => {
          title.value = "";
          if (doc.scope === "named") {
            open.add(doc.id); // who may read it is the next thing to say
            notify(t("docs.name_readers", { title: doc.title }));
          }
          await refresh();
        },
      })
    : null;

  drawList();
  view.append(
    el(
      "section",
      { class: "card" },
      el("h1", {}, t("docs.title")),
      el("p", { class: "description" }, meeting.title),
      el(
        "div",
        { class: "actions" },
        el("a", { class: "button", href: `/meetings/${id}` }, t("docs.back_to_meeting")),
        documents.length
          ? el("a", { class: "button", href: packHref(id), download: "", id: "download-pack" }, t("docs.pack"))
          : null,
      ),
      searchBox(id, fail),
    ),
    uploader
      ? el("section", { class: "card", "aria-labelledby": "upload-title" }, el("h2", { id: "upload-title" }, t("docs.upload_title")), uploader)
      : "",
    el("section", { class: "card", "aria-labelledby": "list-title" }, el("h2", { id: "list-title" }, t("docs.list")), list),
    receipts ? receipts.element : "",
  );
  if (receipts) await receipts.refresh();
}
