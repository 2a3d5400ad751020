// The chair's or the secretary's form to open a vote in the room: the question, the options
// (the protocol's three by default, editable, 2-10), who votes, the rule, a time limit, secret
// or not. The room attaches its current agenda item; the form names it.

import { language, problemText, t } from "./i18n.js";
import { el } from "./ui.js";

// The protocol's default options (rooms/polls.py DEFAULT_OPTIONS): they are the motion's
// words, recorded in the minutes in Vietnamese, not text of the page in the reader's language.
const DEFAULT_OPTIONS = ["Tán thành", "Không tán thành", "Không biểu quyết"];
const MAX_OPTIONS = 10;
const MIN_OPTIONS = 2;

const $ = (selector) => document.querySelector(selector);

export class VoteForm {
  constructor({ command, changed }) {
    this.command = command; // (type, fields, {quiet}) -> Promise of the ack or error frame
    this.changed = changed;
    this.formLanguage = null;
  }

  wire() {
    $("#vote-new").addEventListener("click", () => this.show(true));
    $("#vote-cancel").addEventListener("click", () => this.show(false));
    $("#vote-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.open();
    });
    $("#vote-add-option").addEventListener("click", () => {
      const options = this.formOptions();
      if (options.length >= MAX_OPTIONS) return;
      this.fillOptions([...options, ""]);
      document.querySelector("#vote-options li:last-child input").focus();
    });
    this.fillOptions(DEFAULT_OPTIONS);
  }

  // The meeting's own rule (its vote_rule) is what the form proposes, and what it comes
  // back to after each vote.
  setRule(rule) {
    for (const option of $("#vote-rule").options) option.defaultSelected = option.value === rule;
    $("#vote-rule").value = rule;
  }

  show(shown, focus = true) {
    $("#vote-form").hidden = !shown;
    $("#vote-new").hidden = shown;
    $("#vote-new").setAttribute("aria-expanded", shown ? "true" : "false");
    $("#vote-form-error").textContent = "";
    if (focus) (shown ? $("#vote-question") : $("#vote-new")).focus();
    this.changed();
  }

  formOptions() {
    return [...document.querySelectorAll("#vote-options input")].map((input) => input.value);
  }

  fillOptions(options) {
    const list = $("#vote-options");
    list.replaceChildren(
      ...options.map((value, i) => {
        const id = `vote-option-${i + 1}`;
        const input = el("input", { id, maxlength: "100", required: true, autocomplete: "off" });
        input.value = value;
        return el(
          "li",
          { class: "vote-option-edit" },
          el("label", { for: id }, t("vote.option_n", { n: i + 1 })),
          input,
          options.length > MIN_OPTIONS
            ? el(
                "button",
                {
                  type: "button",
                  "aria-label": t("vote.remove_option", { n: i + 1 }),
                  onclick: () => {
                    const kept = this.formOptions().filter((_, j) => j !== i);
                    this.fillOptions(kept);
                    $("#vote-add-option").focus();
                  },
                },
                "✕",
              )
            : null,
        );
      }),
    );
    $("#vote-add-option").disabled = options.length >= MAX_OPTIONS;
    this.formLanguage = language();
  }

  // The button that shows the form is there while no vote is open; a vote opened (from
  // this page or another organizer's) puts the form away.
  draw({ organizer, pollOpen, agendaItem }) {
    if (this.formLanguage !== language()) this.fillOptions(this.formOptions());
    if (pollOpen && !$("#vote-form").hidden) {
      $("#vote-form").hidden = true;
      $("#vote-new").setAttribute("aria-expanded", "false");
    }
    $("#vote-new").hidden = !organizer || pollOpen || !$("#vote-form").hidden;
    $("#vote-agenda").textContent = agendaItem ? t("vote.agenda", { title: agendaItem.title }) : "";
  }

  async open() {
    const question = $("#vote-question").value.trim();
    const options = [...document.querySelectorAll("#vote-options input")].map((input) => input.value.trim());
    const status = $("#vote-form-error");
    if (!question) {
      status.textContent = t("vote.question_required");
      $("#vote-question").focus();
      return;
    }
    if (options.length < MIN_OPTIONS || options.some((o) => !o) || new Set(options).size !== options.length) {
      status.textContent = t("vote.options_invalid");
      return;
    }
    const seconds = $("#vote-seconds").value ? Number($("#vote-seconds").value) : null;
    if (seconds !== null && !(Number.isInteger(seconds) && seconds >= 10 && seconds <= 3600)) {
      status.textContent = t("vote.seconds_invalid");
      return;
    }
    const fields = {
      question,
      voters: document.querySelector("input[name=vote-voters]:checked")?.value || "points",
      rule: $("#vote-rule").value,
      secret: $("#vote-secret").checked,
    };
    if (options.join("\n") !== DEFAULT_OPTIONS.join("\n")) fields.options = options;
    if (seconds !== null) fields.seconds = seconds;
    status.textContent = "";
    const submit = $("#vote-form button[type=submit]");
    submit.disabled = true;
    const answer = await this.command("open_poll", fields, { quiet: true });
    submit.disabled = false;
    if (answer.type === "ack") {
      this.show(false, false);
      $("#vote-form").reset();
      this.fillOptions(DEFAULT_OPTIONS);
    } else {
      status.textContent = problemText(answer.code, answer.message);
    }
    this.changed();
  }
}
