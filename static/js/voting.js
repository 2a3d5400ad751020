// Votes in the room (biểu quyết): the large buttons a point or an official votes with, the
// organizers' live count of who has voted, and the result everyone sees when it closes (the
// form to open one: vote_form.js; the result: vote_result.js). The room page hands it the
// snapshot's `poll` and the poll.* events; it sends cast_ballot / close_poll (and the form
// open_poll) through the room's socket.

import { language, problemText, t } from "./i18n.js";
import { el } from "./ui.js";
import { VoteForm } from "./vote_form.js";
import { resultView, ruleText, votersText } from "./vote_result.js";

const ORGANIZERS = new Set(["chair", "secretary"]);

const $ = (selector) => document.querySelector(selector);

function clock(seconds) {
  const whole = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function readStored(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

function writeStored(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage refused (private mode, full): the ballot id stays in memory only.
  }
}

export class RoomVoting {
  constructor({ meetingId, command, changed }) {
    this.meetingId = meetingId;
    this.command = command; // (type, fields, {quiet}) -> Promise of the ack or error frame
    this.changed = changed; // ask the room page to draw again
    this.you = null;
    this.poll = null; // the open poll, as this client knows it
    // The last result seen, kept for the tab's life: a reloaded page's snapshot has no
    // closed polls in it.
    this.result = readStored(this.resultKey());
    this.dismissed = null; // the number of a result its reader put away
    this.sending = false;
    this.pending = null; // the choice on its way to the room
    this.next = null; // a choice made while an earlier one was still on its way
    this.error = "";
    this.names = new Map(); // member key -> name, kept after they leave
    this.built = null; // what #vote-live and #vote-result hold now
    this.refs = {};
    this.ticker = null;
    this.scrollOnDraw = false;
    this.form = new VoteForm({ command, changed });
  }

  resultKey() {
    return `hoinghi.vote.${this.meetingId}`;
  }

  ballotKey(number) {
    return `hoinghi.ballot.${this.meetingId}.${number}`;
  }

  // --- state -----------------------------------------------------------------------

  // The snapshot's poll (a welcome: first connection, or one too far behind to resume),
  // and the last closed poll's result, which a tab opened afterwards has not seen.
  load(poll, you, lastPoll = null) {
    this.you = you;
    this.error = "";
    this.next = null;
    if (lastPoll && (!this.result || this.result.number < lastPoll.number)) {
      this.result = { ...lastPoll, agenda_item_id: null };
    }
    if (!poll) {
      this.poll = null;
      return;
    }
    const stored = poll.secret ? readStored(this.ballotKey(poll.number)) : null;
    this.poll = {
      number: poll.number,
      question: poll.question,
      options: poll.options,
      voters: poll.voters,
      rule: poll.rule,
      secret: poll.secret,
      closes_at: poll.closes_at,
      eligible: poll.eligible ?? null, // organizers only
      eligibleCount: poll.eligible_count,
      voted: new Set(poll.voted ?? (poll.has_voted ? [you.key] : [])),
      votedCount: poll.voted_count,
      mayVote: poll.may_vote,
      hasVoted: poll.has_voted,
      // An open poll tells each voter its own ballot; a secret one does not: this tab may
      // have kept it with the ballot's id.
      choice: poll.my_ballot ?? stored?.option ?? null,
      ballot: stored?.ballot ?? null,
      agendaItemId: null,
    };
  }

  apply(kind, data) {
    const poll = this.poll;
    switch (kind) {
      case "poll.opened":
        this.poll = {
          number: data.number,
          question: data.question,
          options: data.options,
          voters: data.voters,
          rule: data.rule,
          secret: Boolean(data.secret),
          closes_at: data.closes_at,
          eligible: data.eligible,
          eligibleCount: data.eligible.length,
          voted: new Set(),
          votedCount: 0,
          mayVote: Boolean(this.you && data.eligible.includes(this.you.key)),
          hasVoted: false,
          choice: null,
          ballot: null,
          agendaItemId: data.agenda_item_id,
        };
        this.error = "";
        this.next = null;
        this.scrollOnDraw = this.poll.mayVote;
        this.announce(t("vote.opened_announce", { question: data.question }));
        break;
      case "poll.voted":
        if (!poll || poll.number !== data.number) break;
        poll.voted.add(data.key);
        poll.votedCount = Math.max(poll.votedCount, poll.voted.size);
        if (this.you && data.key === this.you.key) {
          poll.hasVoted = true;
          if ("option" in data) poll.choice = data.option;
        }
        break;
      case "poll.closed":
        this.result = { ...data, agenda_item_id: poll?.number === data.number ? poll.agendaItemId : null };
        writeStored(this.resultKey(), this.result);
        writeStored(this.ballotKey(data.number), null);
        if (poll?.number === data.number) this.poll = null;
        this.announce(
          t("vote.result_announce", {
            question: data.question,
            verdict: data.result.passed ? t("vote.passed") : t("vote.rejected"),
          }),
        );
        break;
    }
  }

  announce(text) {
    // Cleared first so that the same words said twice are read twice.
    const region = $("#vote-announce");
    region.textContent = "";
    setTimeout(() => (region.textContent = text), 50);
  }

  canChange() {
    const poll = this.poll;
    if (!poll?.mayVote) return false;
    // A secret ballot is changed with its id; without it (another device) it stays as cast.
    return !(poll.secret && poll.hasVoted && !poll.ballot);
  }

  // --- commands --------------------------------------------------------------------

  async cast(option) {
    if (!this.canChange()) return;
    if (this.sending) {
      // One at a time: a secret poll's second ballot needs the id the first ack brings.
      this.next = option;
      this.changed();
      return;
    }
    const poll = this.poll;
    this.sending = true;
    this.pending = option;
    this.error = "";
    this.changed();
    const fields = { poll: poll.number, option };
    if (poll.secret && poll.ballot) fields.ballot = poll.ballot;
    const answer = await this.command("cast_ballot", fields, { quiet: true });
    this.sending = false;
    this.pending = null;
    if (answer.type === "ack") {
      poll.choice = option;
      poll.hasVoted = true;
      if (this.you) poll.voted.add(this.you.key);
      if (answer.ballot) poll.ballot = answer.ballot;
      if (poll.secret && poll.ballot) writeStored(this.ballotKey(poll.number), { ballot: poll.ballot, option });
    } else if (this.poll === poll) {
      this.error = problemText(answer.code, answer.message);
    }
    const next = this.next;
    this.next = null;
    if (next !== null && next !== poll.choice && this.poll === poll) return this.cast(next);
    this.changed();
  }

  async close() {
    if (!this.poll) return;
    this.refs.close.disabled = true;
    const answer = await this.command("close_poll", { poll: this.poll.number }, { quiet: true });
    if (answer.type !== "ack" && this.poll) this.error = problemText(answer.code, answer.message);
    this.changed();
  }

  wire() {
    this.form.wire();
  }

  // --- drawing -----------------------------------------------------------------------

  // ctx: {you, nameOf(key), members (Map), agendaItem}
  draw({ you, nameOf, members, agendaItem }) {
    this.you = you;
    for (const [key, member] of members) this.names.set(key, member.name);
    this.nameOf = (key) => (key === you.key ? t("media.you") : (this.names.get(key) ?? nameOf(key)));
    const organizer = ORGANIZERS.has(you.role);
    const poll = this.poll;
    const result = this.result && this.result.number !== this.dismissed && !poll ? this.result : null;

    this.form.draw({ organizer, pollOpen: Boolean(poll), agendaItem });
    $("#vote-card").hidden = !(organizer || poll || result);
    $("#vote-card").dataset.state = poll ? "open" : result ? "result" : "idle";

    // Build the parts only when what they show changes shape: a redraw for a vote that
    // comes in must not take focus away from the button the voter is on.
    const shape = poll
      ? `poll:${poll.number}:${language()}:${organizer}:${poll.mayVote}`
      : result
        ? `result:${result.number}:${language()}:${organizer}`
        : "none";
    if (shape !== this.built) {
      this.built = shape;
      this.refs = {};
      $("#vote-live").replaceChildren(...(poll ? this.buildPoll(poll, you, organizer, agendaItem) : []));
      $("#vote-result").replaceChildren(
        ...(result
          ? [
              resultView(result, {
                organizer,
                agendaItem,
                nameOf: this.nameOf,
                hide: () => {
                  this.dismissed = result.number;
                  this.changed();
                },
              }),
            ]
          : []),
      );
    }
    if (poll) this.update(poll, organizer);
    this.tick();
    if (this.scrollOnDraw && poll) {
      this.scrollOnDraw = false;
      $("#vote-card").scrollIntoView({ block: "start", behavior: "smooth" });
    }
  }

  buildPoll(poll, you, organizer, agendaItem) {
    const parts = [
      el(
        "p",
        { class: "vote-meta" },
        t("vote.number", { number: poll.number }),
        " · ",
        votersText(poll.voters),
        " · ",
        ruleText(poll.rule),
        poll.secret ? el("span", { class: "badge vote-secret" }, t("vote.secret_badge")) : null,
      ),
      el("p", { id: "vote-question-text", class: "vote-question" }, poll.question),
    ];
    if (poll.agendaItemId && agendaItem?.item_id === poll.agendaItemId)
      parts.push(el("p", { class: "hint" }, t("vote.agenda", { title: agendaItem.title })));
    this.refs.countdown = el("p", { class: "vote-countdown", role: "timer", hidden: true });
    parts.push(this.refs.countdown);

    if (poll.mayVote) {
      this.refs.buttons = poll.options.map((option, i) =>
        el(
          "button",
          { type: "button", class: "vote-option", "aria-pressed": "false", onclick: () => this.cast(i) },
          el("span", { class: "vote-option-text" }, option),
          el("span", { class: "vote-chosen", "aria-hidden": "true" }, `✓ ${t("vote.chosen_mark")}`),
        ),
      );
      this.refs.status = el("p", { class: "vote-status", role: "status" });
      this.refs.error = el("p", { class: "vote-error error", role: "alert" });
      parts.push(
        el("div", { class: "vote-options", role: "group", "aria-labelledby": "vote-question-text" }, this.refs.buttons),
        this.refs.status,
        this.refs.error,
      );
    } else if (you.role === "point" || you.role === "official" || (organizer && poll.voters === "people")) {
      parts.push(el("p", { class: "vote-ineligible big", role: "status" }, this.ineligibleText(poll, you)));
    }

    if (organizer) {
      this.refs.progressText = el("p", { id: "vote-progress-text", class: "vote-progress-text big" });
      this.refs.progress = el("progress", { "aria-labelledby": "vote-progress-text" });
      this.refs.waitingTitle = el("h3", { id: "vote-waiting-title" });
      this.refs.waiting = el("ul", {
        class: "vote-names",
        tabindex: "0",
        "aria-labelledby": "vote-waiting-title",
      });
      this.refs.votedTitle = el("h3", { id: "vote-voted-title" });
      this.refs.voted = el("ul", { class: "vote-names", tabindex: "0", "aria-labelledby": "vote-voted-title" });
      this.refs.close = el(
        "button",
        { type: "button", class: "danger vote-close", onclick: () => this.close() },
        t("vote.close"),
      );
      this.refs.organizerError = el("p", { class: "error", role: "alert" });
      parts.push(
        el(
          "div",
          { class: "vote-watch" },
          this.refs.progressText,
          this.refs.progress,
          // Who has voted and who has not, by name, for open ballots; a secret one shows
          // its count only.
          poll.secret
            ? el("p", { class: "hint" }, t("vote.secret_count_only"))
            : el(
                "div",
                { class: "vote-lists" },
                el("section", { class: "vote-list waiting" }, this.refs.waitingTitle, this.refs.waiting),
                el("section", { class: "vote-list voted" }, this.refs.votedTitle, this.refs.voted),
              ),
          this.refs.close,
          this.refs.organizerError,
        ),
      );
    }
    return parts;
  }

  ineligibleText(poll, you) {
    if (poll.voters === "points" && you.kind !== "point") return t("vote.not_eligible_points");
    if (poll.voters === "people" && you.kind === "point") return t("vote.not_eligible_people");
    return t("vote.not_eligible_late");
  }

  update(poll, organizer) {
    const refs = this.refs;
    if (refs.buttons) {
      const changeable = this.canChange();
      refs.buttons.forEach((button, i) => {
        button.setAttribute("aria-pressed", poll.choice === i ? "true" : "false");
        button.dataset.pending = this.sending && (this.next ?? this.pending) === i ? "yes" : "no";
        button.disabled = !changeable;
      });
      refs.status.textContent = this.sending
        ? t("vote.sending")
        : !changeable
          ? t("vote.voted_elsewhere")
          : poll.choice !== null
            ? t("vote.chosen", { option: poll.options[poll.choice] })
            : t("vote.choose");
      refs.error.textContent = this.error;
    }
    if (organizer && refs.progress) {
      const eligible = poll.eligible ?? [];
      const count = poll.voted.size;
      refs.progressText.textContent = t("vote.progress", { voted: count, eligible: poll.eligibleCount });
      refs.progress.max = Math.max(1, poll.eligibleCount);
      refs.progress.value = count;
      const waiting = eligible.filter((key) => !poll.voted.has(key));
      const voted = eligible.filter((key) => poll.voted.has(key));
      refs.waitingTitle.textContent = t("vote.waiting_list", { count: waiting.length });
      refs.votedTitle.textContent = t("vote.voted_list", { count: voted.length });
      this.fillNames(refs.waiting, waiting);
      this.fillNames(refs.voted, voted);
      refs.close.disabled = false;
      refs.organizerError.textContent = this.error && !refs.buttons ? this.error : "";
    }
  }

  fillNames(list, keys) {
    const names = keys.map((key) => this.nameOf(key)).sort((a, b) => a.localeCompare(b, "vi"));
    const text = names.join("\n");
    if (list.dataset.names === text) return;
    list.dataset.names = text;
    list.replaceChildren(
      ...(names.length ? names.map((name) => el("li", {}, name)) : [el("li", { class: "empty" }, t("vote.nobody"))]),
    );
  }

  // The countdown of a timed poll, once a second while one is open.
  tick() {
    const poll = this.poll;
    const timer = this.refs.countdown;
    if (!poll?.closes_at || !timer) {
      clearInterval(this.ticker);
      this.ticker = null;
      return;
    }
    const left = (Date.parse(poll.closes_at) - Date.now()) / 1000;
    timer.hidden = false;
    timer.textContent = left > 0 ? t("vote.time_left", { time: clock(left) }) : t("vote.time_up");
    timer.dataset.low = left <= 10 ? "yes" : "no";
    this.ticker ??= setInterval(() => this.tick(), 1000);
  }
}
