// The minutes of a meeting (/meetings/{id}?view=minutes). The secretary (any organizer)
// drafts them from the meeting's records, edits the title, sections and decisions, saves
// versions, compares two versions, previews the PDF and submits a version to an ordered
// list of approvers; everyone who sees the meeting follows the chain and downloads the
// signed record.
import { session, showError } from "../app.js";
import { api, ApiError } from "../api.js";
import { formatTime, t } from "../i18n.js";
import {
  approvalHref,
  approverDirectory,
  chainProgress,
  documentLink,
  lastRejection,
  loadMinutes,
  minutesApi,
  minutesProblem,
  myId,
  nameOf,
  peopleNames,
  statusBadge,
} from "../minutes.js";
import { diffView, meetingFacts, readOnly, reorderable } from "../minutes_editor.js";
import { el, field, notify, uid } from "../ui.js";

const HELD = new Set(["live", "ended", "closed"]);

function fail(error, where = null) {
  if (error instanceof ApiError && error.status === 401) return showError(error);
  const text = minutesProblem(error);
  notify(text, "error");
  if (where) {
    where.textContent = text;
    where.className = "form-status error";
  }
}

export async function render(view, { params }) {
  const id = Number(params[0]);
  const meeting = await api(`/api/meetings/${id}`);
  const minutes = await loadMinutes(id);
  const organizer = meeting.can_edit;
  const myTurn = minutes?.status === "in_approval" && minutes.next_approver === myId();
  const rerender = async (focus = null) => {
    view.replaceChildren();
    try {
      await render(view, { params });
      if (focus) view.querySelector(focus)?.focus();
    } catch (error) {
      showError(error);
    }
  };

  const head = el(
    "section",
    { class: "card" },
    el("h1", {}, t("minutes.title"), " ", minutes ? statusBadge(minutes) : null),
    el("p", { class: "description" }, meeting.title),
    el(
      "div",
      { class: "actions", id: "minutes-actions" },
      el("a", { class: "button", href: `/meetings/${id}` }, t("docs.back_to_meeting")),
      myTurn ? el("a", { class: "button primary", href: approvalHref(id), id: "go-approve" }, t("minutes.go_approve")) : null,
      !myTurn && minutes && minutes.status !== "draft" && minutes.approvers.some((a) => a.id === myId())
        ? el("a", { class: "button", href: approvalHref(id) }, t("minutes.open_approval"))
        : null,
      minutes ? documentLink(minutes) : null,
    ),
  );

  if (!minutes) {
    const status = el("p", { class: "form-status", role: "status" });
    const create = el("button", { type: "button", class: "primary", id: "create-minutes" }, t("minutes.create"));
    create.addEventListener("click", async () => {
      create.disabled = true;
      status.textContent = t("minutes.creating");
      try {
        await api(minutesApi(id), { method: "POST", body: {} });
        notify(t("minutes.created"));
        await rerender("#minutes-editor-title");
      } catch (error) {
        fail(error, status);
        create.disabled = false;
      }
    });
    view.append(
      head,
      el(
        "section",
        { class: "card", id: "no-minutes" },
        el("p", {}, t("minutes.none")),
        organizer && HELD.has(meeting.status) ? [el("p", { class: "hint" }, t("minutes.create_explain")), create, status] : null,
        organizer && !HELD.has(meeting.status) ? el("p", { class: "hint" }, t("minutes.not_held")) : null,
      ),
    );
    return;
  }

  const [versions, directory] = await Promise.all([
    api(`${minutesApi(id)}/versions`),
    organizer ? approverDirectory() : Promise.resolve(null),
  ]);
  const names = await peopleNames(meeting, minutes, { directory });
  const latest = versions[versions.length - 1];
  const editable = organizer && minutes.status === "draft";
  const rejection = lastRejection(minutes);
  const returned = new Set(minutes.steps.filter((s) => s.outcome === "rejected").map((s) => s.version));

  const progress = el(
    "section",
    { class: "card", "aria-labelledby": "chain-title" },
    el("h2", { id: "chain-title" }, t("minutes.chain")),
    chainProgress(minutes, names),
  );

  const notice = rejection
    ? el(
        "section",
        { class: "card warning", id: "rejection-notice", role: "status" },
        el("h2", {}, t("minutes.rejected_title", { version: rejection.version })),
        el("p", {}, t("minutes.rejected_by", { name: nameOf(names, rejection.approver_id), time: formatTime(rejection.at, session.zone) })),
        el("blockquote", { class: "comment", id: "rejection-comment" }, rejection.comment),
        el(
          "p",
          { class: "hint" },
          rejection.version === minutes.latest_version
            ? t("minutes.rejected_next")
            : t("minutes.rejected_saved", { version: minutes.latest_version }),
        ),
      )
    : null;

  // --- the editor ---
  let editor = null;
  let dirty = false;
  const content = structuredClone(latest.content);
  content.sections ??= [];
  content.decisions ??= [];
  const saveStatus = el("p", { class: "form-status", role: "status", id: "save-status" });
  const markDirty = () => {
    dirty = true;
    saveStatus.className = "form-status";
    saveStatus.textContent = t("minutes.unsaved");
  };
  if (editable) {
    const title = el("input", { value: content.title ?? "", maxlength: 500, required: true, id: "minutes-title-input" });
    title.addEventListener("input", () => {
      content.title = title.value;
      markDirty();
    });

    const sectionList = el("ol", { class: "editable-rows", id: "sections" });
    const sections = reorderable({
      list: sectionList,
      items: content.sections,
      onChange: markDirty,
      label: (s, i) => s.heading || t("minutes.section_n", { n: i + 1 }),
      row: (section, index) => {
        const heading = el("input", { value: section.heading ?? "", maxlength: 300, class: "section-heading" });
        const text = el("textarea", { rows: 6, class: "section-text" });
        text.value = section.text ?? "";
        heading.addEventListener("input", () => {
          section.heading = heading.value;
          markDirty();
        });
        text.addEventListener("input", () => {
          section.text = text.value;
          markDirty();
        });
        return el(
          "div",
          { class: "stack grow" },
          field(t("minutes.section_heading", { n: index + 1 }), heading),
          field(t("minutes.section_text", { n: index + 1 }), text),
        );
      },
    });
    const addSection = el("button", { type: "button", id: "add-section" }, t("minutes.add_section"));
    addSection.addEventListener("click", () => {
      content.sections.push({ heading: "", text: "" });
      markDirty();
      sections.draw();
      sectionList.lastElementChild?.querySelector("input")?.focus();
    });

    const decisionList = el("ol", { class: "editable-rows", id: "decisions" });
    const decisions = reorderable({
      list: decisionList,
      items: content.decisions,
      onChange: markDirty,
      label: (d, i) => d.title || t("minutes.decision_n", { n: i + 1 }),
      row: (decision, index) => {
        const what = el("input", { value: decision.title ?? "", maxlength: 500, class: "decision-title" });
        const result = el("input", { value: decision.result ?? "", maxlength: 300, class: "decision-result" });
        what.addEventListener("input", () => {
          decision.title = what.value;
          markDirty();
        });
        result.addEventListener("input", () => {
          decision.result = result.value;
          markDirty();
        });
        return el(
          "div",
          { class: "row grow" },
          field(t("minutes.decision_title", { n: index + 1 }), what),
          field(t("minutes.decision_result", { n: index + 1 }), result),
        );
      },
    });
    const addDecision = el("button", { type: "button", id: "add-decision" }, t("minutes.add_decision"));
    addDecision.addEventListener("click", () => {
      content.decisions.push({ title: "", result: "" });
      markDirty();
      decisions.draw();
      decisionList.lastElementChild?.querySelector("input")?.focus();
    });

    const save = el("button", { type: "submit", class: "primary", id: "save-version" }, t("minutes.save"));
    const form = el(
      "form",
      { class: "stack", id: "minutes-form" },
      field(t("minutes.title_field"), title),
      meetingFacts(content),
      el("fieldset", {}, el("legend", {}, t("minutes.sections")), sectionList, el("div", { class: "actions" }, addSection)),
      el("fieldset", {}, el("legend", {}, t("minutes.decisions")), decisionList, el("div", { class: "actions" }, addDecision)),
      el(
        "div",
        { class: "actions" },
        save,
        el("a", { class: "button", href: `${minutesApi(id)}/versions/${latest.number}.pdf`, target: "_blank", id: "preview-pdf" }, t("minutes.preview", { n: latest.number })),
      ),
      saveStatus,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const clean = {
        ...content,
        title: content.title.trim(),
        sections: content.sections.map((s) => ({ heading: s.heading.trim(), text: s.text })).filter((s) => s.heading || s.text.trim()),
        decisions: content.decisions.map((d) => ({ title: d.title.trim(), result: d.result.trim() })).filter((d) => d.title || d.result),
      };
      if (!clean.title) {
        saveStatus.textContent = t("minutes.title_required");
        saveStatus.className = "form-status error";
        return title.focus();
      }
      save.disabled = true;
      saveStatus.className = "form-status";
      saveStatus.textContent = t("minutes.saving");
      try {
        const saved = await api(`${minutesApi(id)}/versions`, { method: "POST", body: { content: clean } });
        dirty = false;
        notify(t("minutes.saved", { n: saved.number }));
        await rerender("#minutes-editor-title");
      } catch (error) {
        fail(error, saveStatus);
        save.disabled = false;
      }
    });
    sections.draw();
    decisions.draw();
    editor = el(
      "section",
      { class: "card", "aria-labelledby": "minutes-editor-title" },
      el("h2", { id: "minutes-editor-title", tabindex: "-1" }, t("minutes.editor", { n: latest.number })),
      form,
    );
  } else {
    const shown = versions.find((v) => v.number === minutes.submitted_version) ?? latest;
    editor = el(
      "section",
      { class: "card", "aria-labelledby": "minutes-editor-title" },
      el("h2", { id: "minutes-editor-title", tabindex: "-1" }, t("minutes.content", { n: shown.number })),
      organizer && minutes.status === "in_approval" ? el("p", { class: "hint" }, t("minutes.locked_in_approval")) : null,
      readOnly(shown.content),
    );
  }

  // --- versions and their differences ---
  const fromSelect = el("select", { id: uid("diff-from") }, versions.map((v) => el("option", { value: v.number }, t("minutes.version_n", { n: v.number }))));
  const toSelect = el("select", { id: uid("diff-to") }, versions.map((v) => el("option", { value: v.number }, t("minutes.version_n", { n: v.number }))));
  fromSelect.value = String(Math.max(1, latest.number - 1));
  toSelect.value = String(latest.number);
  const diffBox = el("div", { id: "diff-box", "aria-live": "polite" });
  const diffForm = el(
    "form",
    { class: "inline", id: "diff-form" },
    field(t("minutes.diff_from"), fromSelect),
    field(t("minutes.diff_to"), toSelect),
    el("button", { type: "submit" }, t("minutes.diff_show")),
  );
  diffForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const from = Number(fromSelect.value);
    const to = Number(toSelect.value);
    try {
      const result = await api(`${minutesApi(id)}/diff?from=${from}&to=${to}`);
      diffBox.replaceChildren(diffView(result.diff, from, to));
    } catch (error) {
      fail(error);
    }
  });
  const versionCard = el(
    "section",
    { class: "card", "aria-labelledby": "versions-title" },
    el("h2", { id: "versions-title" }, t("minutes.versions")),
    el(
      "ol",
      { class: "list versions", id: "version-list" },
      [...versions].reverse().map((v) =>
        el(
          "li",
          { "data-version": v.number },
          el(
            "span",
            { class: "name" },
            t("minutes.version_line", { n: v.number, time: formatTime(v.created_at, session.zone) }),
            v.frozen ? el("span", { class: "role" }, ` — ${t("minutes.frozen")}`) : null,
            returned.has(v.number) ? el("span", { class: "role" }, ` — ${t("minutes.rejected_mark")}`) : null,
          ),
          el("a", { href: `${minutesApi(id)}/versions/${v.number}.pdf`, target: "_blank" }, t("minutes.pdf")),
        ),
      ),
    ),
    versions.length > 1 ? [diffForm, diffBox] : el("p", { class: "empty" }, t("minutes.diff_one")),
  );

  // --- submission: the approvers, in the order they sign ---
  let submitCard = null;
  if (editable) {
    const people = directory ?? [];
    const chosen = [meeting.secretary?.id, meeting.chair?.id].filter(
      (pid, i, all) => pid && all.indexOf(pid) === i && people.some((p) => p.id === pid),
    );
    const chosenList = el("ol", { class: "editable-rows approvers", id: "approvers" });
    const picker = el("select", { id: uid("approver-pick") });
    const add = el("button", { type: "button", id: "add-approver" }, t("minutes.add_approver"));
    const label = (person) => {
      const roles = person.roles.filter((r) => r === "chair" || r === "secretary").map((r) => t(`role.${r}`));
      return `${person.full_name} (${roles.join(", ")}${person.unit ? ` — ${person.unit.name}` : ""})`;
    };
    const chain = reorderable({
      list: chosenList,
      items: chosen,
      label: (pid) => nameOf(names, pid),
      onChange: () => drawPicker(),
      row: (pid, index) => el("span", { class: "name" }, t("minutes.approver_line", { n: index + 1, name: nameOf(names, pid) })),
    });
    function drawPicker() {
      picker.replaceChildren(
        el("option", { value: "" }, t("new.pick")),
        ...people.filter((p) => !chosen.includes(p.id)).map((p) => el("option", { value: p.id }, label(p))),
      );
    }
    add.addEventListener("click", () => {
      const pid = Number(picker.value);
      if (!pid) return picker.focus();
      chosen.push(pid);
      drawPicker();
      chain.draw();
      picker.focus();
    });
    drawPicker();
    chain.draw();
    const status = el("p", { class: "form-status", role: "status", id: "submit-status" });
    const rejectedLatest = rejection?.version === latest.number;
    const send = el("button", { type: "button", class: "primary", id: "submit-minutes", disabled: rejectedLatest }, t("minutes.submit", { n: latest.number }));
    send.addEventListener("click", async () => {
      if (dirty) {
        status.textContent = t("minutes.save_first");
        status.className = "form-status error";
        return;
      }
      if (!chosen.length) {
        status.textContent = t("error.no_approvers");
        status.className = "form-status error";
        return picker.focus();
      }
      send.disabled = true;
      status.className = "form-status";
      status.textContent = t("minutes.submitting");
      try {
        await api(`${minutesApi(id)}/submit`, { method: "POST", body: { version: latest.number, approvers: chosen } });
        notify(t("minutes.submitted", { n: latest.number, count: chosen.length }));
        await rerender("#chain-title");
      } catch (error) {
        fail(error, status);
        send.disabled = false;
      }
    });
    submitCard = el(
      "section",
      { class: "card", "aria-labelledby": "submit-title" },
      el("h2", { id: "submit-title" }, t("minutes.submit_title")),
      el("p", { class: "hint" }, t("minutes.submit_explain")),
      chosenList,
      el("div", { class: "inline" }, field(t("minutes.approver_pick"), picker), add),
      rejectedLatest ? el("p", { class: "warning-text" }, t("error.version_rejected")) : null,
      el("div", { class: "actions" }, send),
      status,
    );
    if (directory === null) submitCard.append(el("p", { class: "error" }, t("minutes.no_directory")));
  }

  view.append(head, notice ?? "", minutes.approvers.length || minutes.steps.length ? progress : "", editor, versionCard, submitCard ?? "");
}
