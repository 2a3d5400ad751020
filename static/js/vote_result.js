// The result of a closed vote, as everyone sees it when poll.closed arrives: the question,
// THÔNG QUA / KHÔNG THÔNG QUA, each option's count with its shares of those eligible and of
// the ballots cast as bars, the totals and the rule in words.

import { language, t } from "./i18n.js";
import { el } from "./ui.js";

export function ruleText(rule) {
  switch (rule) {
    case "majority_of_cast":
      return t("vote.rule.majority_of_cast");
    case "two_thirds_of_eligible":
      return t("vote.rule.two_thirds_of_eligible");
    default:
      return t("vote.rule.majority_of_eligible");
  }
}

export function votersText(voters) {
  return voters === "people" ? t("vote.voters.people") : t("vote.voters.points");
}

function percent(value) {
  const format = new Intl.NumberFormat(language() === "en" ? "en-GB" : "vi-VN", { maximumFractionDigits: 2 });
  return `${format.format(value)}%`;
}

function bar(value) {
  const fill = el("span", { class: "vote-bar-fill" });
  fill.style.width = `${Math.min(100, Math.max(0, value))}%`;
  return el(
    "div",
    { class: "vote-share" },
    el("span", { class: "vote-bar", "aria-hidden": "true" }, fill),
    el("span", { class: "vote-percent" }, percent(value)),
  );
}

// closed: the poll.closed event's data. Who did not vote is named to the organizers, and
// only for an open ballot: a secret one shows counts only.
export function resultView(closed, { organizer, agendaItem, nameOf, hide }) {
  const r = closed.result;
  const passed = Boolean(r.passed);
  const rows = r.options.map((option, i) =>
    el(
      "tr",
      {},
      el("th", { scope: "row" }, option),
      el("td", { class: "num" }, String(r.counts[i])),
      el("td", {}, bar(r.pct_of_eligible[i])),
      el("td", {}, bar(r.pct_of_cast[i])),
    ),
  );
  const reason =
    closed.reason === "time_up"
      ? t("vote.reason.time_up")
      : closed.reason === "room_closed"
        ? t("vote.reason.room_closed")
        : "";
  return el(
    "section",
    { class: "vote-result", "aria-labelledby": "vote-result-title", "data-passed": passed ? "yes" : "no" },
    el("h3", { id: "vote-result-title" }, t("vote.result_title", { number: closed.number })),
    el("p", { class: "vote-question" }, closed.question),
    closed.agenda_item_id && agendaItem?.item_id === closed.agenda_item_id
      ? el("p", { class: "hint" }, t("vote.agenda", { title: agendaItem.title }))
      : null,
    el("p", { class: "vote-verdict", "data-passed": passed ? "yes" : "no" }, passed ? t("vote.passed") : t("vote.rejected")),
    el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { class: "vote-table" },
        el("caption", { class: "visually-hidden" }, t("vote.table_caption")),
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            el("th", { scope: "col" }, t("vote.col_option")),
            el("th", { scope: "col" }, t("vote.col_count")),
            el("th", { scope: "col" }, t("vote.col_of_eligible")),
            el("th", { scope: "col" }, t("vote.col_of_cast")),
          ),
        ),
        el("tbody", {}, rows),
      ),
    ),
    el(
      "dl",
      { class: "facts vote-totals" },
      el("dt", {}, t("vote.eligible")),
      el("dd", { class: "eligible" }, String(r.eligible)),
      el("dt", {}, t("vote.cast")),
      el("dd", { class: "cast" }, String(r.cast)),
      el("dt", {}, t("vote.not_voted")),
      el("dd", { class: "not-voted" }, String(r.not_voted)),
      el("dt", {}, t("vote.rule")),
      el("dd", {}, ruleText(r.rule)),
      el("dt", {}, t("vote.voters")),
      el("dd", {}, votersText(closed.voters)),
    ),
    reason ? el("p", {}, reason) : null,
    closed.secret ? el("p", { class: "hint" }, t("vote.secret_result")) : null,
    organizer && !closed.secret && closed.not_voted?.length
      ? el(
          "p",
          { class: "vote-not-voted" },
          t("vote.not_voted_names", { names: closed.not_voted.map((key) => nameOf(key)).join(", ") }),
        )
      : null,
    el("button", { type: "button", onclick: hide }, t("vote.hide")),
  );
}
