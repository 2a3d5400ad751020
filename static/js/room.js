// The live room page: one WebSocket to /ws/meetings/{id}, the room's state kept from its
// snapshot and events, and what each role may do. Reconnects by itself and resumes from
// the last event it has.

import { api, ApiError, signIn, signInKioskFromLink, signOut } from "./api.js";
import { formatTime, language, loadMessages, problemText, setLanguage, t, translatePage } from "./i18n.js";
import { reportLink } from "./link_report.js";
import { RoomMedia } from "./media.js";
import { RoomPresentation } from "./presentation.js";
import { RoomVoting } from "./voting.js";
import { watchAlerts } from "./room_alerts.js";

const ORGANIZERS = new Set(["chair", "secretary"]);
const meetingId = Number(location.pathname.split("/")[2]);
let zone = "Asia/Ho_Chi_Minh";

const $ = (selector) => document.querySelector(selector);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false)
      node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// --- the room's state, as this client knows it ---------------------------------------

class RoomModel {
  constructor() {
    this.reset();
  }

  reset() {
    this.you = null;
    this.members = new Map();
    this.memberCount = 0;
    this.queue = [];
    this.floor = null;
    this.muteAll = false;
    this.presenter = null;
    this.presentation = null;
    this.rollCall = null;
    this.lastRollCall = null;
    this.chat = [];
    this.open = false;
    this.closed = false;
  }

  load(snapshot) {
    this.members = new Map(snapshot.members.map((m) => [m.key, m]));
    this.memberCount = snapshot.member_count;
    this.queue = snapshot.queue;
    this.floor = snapshot.floor;
    this.muteAll = snapshot.mute_all;
    this.presenter = snapshot.presenter;
    this.presentation = snapshot.presentation;
    this.rollCall = snapshot.roll_call;
    this.recording = snapshot.recording;
    this.agendaItem = snapshot.agenda_item;
    this.open = snapshot.open;
    this.closed = snapshot.closed;
  }

  name(key) {
    return this.members.get(key)?.name ?? (this.floor?.key === key ? this.floor.name : null) ?? key;
  }

  apply(kind, data, at) {
    switch (kind) {
      case "member.joined":
        if (data.first) {
          this.members.set(data.key, { ...data, since: at, muted: this.muteAll && data.kind === "point" });
          this.memberCount += 1;
        }
        break;
      case "member.left":
        if (data.last) {
          this.members.delete(data.key);
          this.memberCount = Math.max(0, this.memberCount - 1);
          this.queue = this.queue.filter((k) => k !== data.key);
        }
        break;
      case "hand.raised":
        this.queue = [...this.queue, data.key];
        break;
      case "hand.lowered":
        this.queue = this.queue.filter((k) => k !== data.key);
        break;
      case "floor.granted":
        this.floor = { key: data.key, name: data.name, expires_at: data.expires_at, granted_at: at };
        this.queue = this.queue.filter((k) => k !== data.key);
        this.setMuted(data.key, false);
        break;
      case "floor.revoked":
        this.floor = null;
        if (this.muteAll && this.members.get(data.key)?.kind === "point") this.setMuted(data.key, true);
        break;
      case "member.muted":
        this.setMuted(data.key, true);
        break;
      case "member.unmuted":
        this.setMuted(data.key, false);
        break;
      case "mute_all.on":
        // Every point but the floor holder (the server works it out the same way).
        this.muteAll = true;
        for (const m of this.members.values())
          if (m.kind === "point" && m.key !== this.floor?.key) this.setMuted(m.key, true);
        if (this.you?.role === "point" && this.you.key !== this.floor?.key) this.you.muted = true;
        break;
      case "mute_all.off":
        this.muteAll = false;
        for (const m of this.members.values()) m.muted = false;
        if (this.you) this.you.muted = false;
        break;
      case "presenter.set":
        this.presenter = data.key;
        break;
      case "presentation.shown":
        // The version shown (and its pages) travel with it: everyone shows the same one.
        this.presentation = {
          document_id: data.document_id,
          page: data.page,
          by: data.by,
          version: data.version,
          pages: data.pages,
          title: data.title,
        };
        break;
      case "presentation.page":
        if (this.presentation) this.presentation = { ...this.presentation, page: data.page, by: data.by };
        break;
      case "presentation.stopped":
        this.presentation = null;
        break;
      case "roll_call.opened":
        this.rollCall = { number: data.number, answers: {} };
        break;
      case "roll_call.answered":
        if (this.rollCall) this.rollCall.answers = { ...this.rollCall.answers, [data.key]: data.head_count };
        break;
      case "roll_call.closed":
        this.rollCall = null;
        this.lastRollCall = data;
        break;
      case "chat.sent":
        this.chat = [...this.chat.slice(-199), { ...data, at }];
        break;
      case "recording.started":
        this.recording = { number: data.number, started_at: at };
        break;
      case "recording.stopped":
        this.recording = null;
        break;
      case "agenda.current":
        this.agendaItem = data.item_id ? data : null;
        break;
      case "room.opened":
        this.open = true;
        break;
      case "room.closed":
        this.closed = true;
        this.open = false;
        break;
    }
  }

  setMuted(key, muted) {
    const member = this.members.get(key);
    if (member) member.muted = muted;
    if (this.you && this.you.key === key) this.you.muted = muted;
  }
}

// --- the connection -------------------------------------------------------------------

class RoomConnection {
  constructor(model, render) {
    this.model = model;
    this.render = render;
    this.lastSeq = null;
    this.pending = new Map();
    this.ids = 0;
    this.retry = 0;
    this.status = "connecting";
    this.lobby = null;
    this.stopped = false;
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const resume = this.lastSeq === null ? "" : `?resume_from=${this.lastSeq}`;
    this.ws = new WebSocket(`${scheme}://${location.host}/ws/meetings/${meetingId}${resume}`);
    this.ws.onmessage = (message) => this.receive(JSON.parse(message.data));
    this.ws.onclose = (closing) => this.closed(closing.code, closing.reason);
    this.status = this.lastSeq === null ? "connecting" : "reconnecting";
    this.render();
  }

  receive(frame) {
    switch (frame.type) {
      case "welcome":
        this.model.reset();
        this.model.load(frame.snapshot);
        this.model.you = { ...frame.you, muted: frame.snapshot.members.find((m) => m.key === frame.you.key)?.muted };
        voting.load(frame.snapshot.poll, this.model.you, frame.snapshot.last_poll);
        this.lastSeq = frame.snapshot.seq;
        this.connected();
        break;
      case "resumed":
        this.model.you = { ...this.model.you, ...frame.you };
        this.connected();
        break;
      case "media":
        if (media) media.layoutChanged(frame.slots);
        break;
      case "lobby":
        this.lobby = frame;
        this.status = "lobby";
        break;
      case "event":
        this.model.apply(frame.event, frame.data, frame.at);
        if (frame.event.startsWith("poll.")) voting.apply(frame.event, frame.data);
        this.lastSeq = frame.seq;
        if (frame.event === "room.closed") this.stopped = true;
        break;
      case "ack":
      case "error": {
        const waiter = this.pending.get(frame.id);
        if (waiter) {
          this.pending.delete(frame.id);
          waiter(frame);
        } else if (frame.type === "error") {
          notify(problemText(frame.code, frame.message));
        }
        break;
      }
    }
    this.render();
  }

  connected() {
    this.status = "connected";
    this.lobby = null;
    this.retry = 0;
    // A new socket means a new peer connection: the server dropped the old one with it.
    const role = this.model.you?.role;
    if (media) {
      media
        .start({ organizer: ORGANIZERS.has(role) || role === "admin", you: this.model.you?.key })
        .then(fillDevicePickers)
        .catch(() => notify(t("media.failed")));
    }
  }

  closed(code, reason) {
    for (const waiter of this.pending.values()) waiter({ type: "error", code: "network", message: "" });
    this.pending.clear();
    if (code === 4401) return showSignIn(problemText("session_expired"));
    if (code === 4403 || code === 4404) {
      this.status = "closed";
      this.stopped = true;
      notify(problemText(code === 4403 ? "not_invited" : "not_found"));
    } else if (this.stopped || code === 1000) {
      this.status = "closed";
      this.stopped = true;
    } else {
      this.status = "reconnecting";
      const delay = Math.min(10000, 500 * 2 ** this.retry) * (0.5 + Math.random() / 2);
      this.retry += 1;
      setTimeout(() => this.connect(), delay);
    }
    this.render();
  }

  // Resolves with the ack or the error; an error is shown in the notice unless the caller
  // says it shows it itself (quiet).
  command(type, fields = {}, { quiet = false } = {}) {
    return new Promise((resolve) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        if (!quiet) notify(problemText("network"));
        return resolve({ type: "error", code: "network" });
      }
      const id = `c${++this.ids}`;
      this.pending.set(id, (frame) => {
        if (frame.type === "error" && frame.code !== "network" && !quiet)
          notify(problemText(frame.code, frame.message));
        resolve(frame);
      });
      this.ws.send(JSON.stringify({ type, id, ...fields }));
    });
  }
}

// --- the page ---------------------------------------------------------------------------

function notify(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => (box.hidden = true), 6000);
}

const model = new RoomModel();
let connection = null;
const presentation = new RoomPresentation({
  meetingId,
  command: (type, fields) => connection.command(type, fields),
  changed: () => render(),
});
const voting = new RoomVoting({
  meetingId,
  command: (type, fields, options) => connection.command(type, fields, options),
  changed: () => render(),
});
let media = null;
let renderQueued = false;

function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    draw();
  });
}

function roleName(role) {
  return t(`role.${role}`);
}

function draw() {
  const you = model.you;
  const isChair = you?.role === "chair";
  const isOrganizer = you && ORGANIZERS.has(you.role);
  const status = connection?.status ?? "connecting";
  $("#connection").textContent = t(`conn.${status === "lobby" ? "connected" : status}`);
  $("#connection").dataset.state = status;

  const lobby = connection?.lobby;
  $("#lobby").hidden = !(status === "lobby" || status === "closed");
  if (status === "lobby" && lobby) {
    $("#lobby-text").textContent = ["ended", "closed", "cancelled"].includes(lobby.status)
      ? t("lobby.ended")
      : t("lobby.waiting");
    $("#lobby-time").textContent = t("lobby.starts", { time: formatTime(lobby.starts_at, zone) });
  } else if (status === "closed") {
    $("#lobby-text").textContent = t("lobby.ended");
    $("#lobby-time").textContent = "";
  }
  $("#room").hidden = !(you && (status === "connected" || status === "reconnecting"));
  if (!you) return;

  $("#you").textContent = `${you.name} — ${roleName(you.role)}`;
  drawFloor(you, isChair);
  drawMembers(you, isOrganizer, isChair);
  drawPresentation(you, isOrganizer);
  drawRollCall(you, isOrganizer);
  drawChat(you);
  drawMedia(you);
  drawAgenda(you);
  voting.draw({ you, nameOf: (key) => model.name(key), members: model.members, agendaItem: model.agendaItem });
}

function memberName(key) {
  if (!key) return "";
  if (model.you && key === model.you.key) return t("media.you");
  return model.name(key);
}

function drawAgenda(you) {
  const item = model.agendaItem;
  $("#agenda-current").textContent = item ? t("agenda.current", { title: item.title }) : t("agenda.none");
  const select = $("#agenda-select");
  $("#agenda-control").hidden = !ORGANIZERS.has(you.role);
  select.value = item ? String(item.item_id) : "";
}

function drawMedia(you) {
  const recording = model.recording;
  $("#recording-state").hidden = !recording;
  $("#recording-state").textContent = recording ? `● ${t("media.recording")}` : "";
  const button = $("#record");
  button.hidden = you.role !== "chair";
  button.textContent = recording ? t("media.record_stop") : t("media.record_start");
  button.setAttribute("aria-pressed", recording ? "true" : "false");
  if (!media) return;
  const slots = media.slots;
  $("#main-label").textContent = slots.main ? memberName(slots.main) : t("media.no_main");
  const floorKey = model.floor?.key;
  $("#floor-figure").hidden = !floorKey || floorKey === slots.main;
  $("#floor-label").textContent = floorKey ? t("media.floor", { name: memberName(floorKey) }) : "";
  const thumbs = slots.thumbnails || [];
  $("#thumbs-panel").hidden = !thumbs.length;
  document.querySelectorAll("#thumbs figure").forEach((figure, i) => {
    figure.hidden = !thumbs[i];
    figure.querySelector("figcaption").textContent = thumbs[i] ? memberName(thumbs[i]) : "";
  });
  $("#thumbs-page").textContent = t("media.page", { page: (slots.page || 0) + 1, pages: slots.pages || 1 });
  $("#thumbs-prev").disabled = !slots.page;
  $("#thumbs-next").disabled = (slots.page || 0) + 1 >= (slots.pages || 1);
  // A muted member's microphone is off here too (the server drops its audio anyway).
  media.setMicAllowed(!you.muted);
}

async function fillDevicePickers() {
  const { cameras, microphones } = await media.devices();
  for (const [select, list, saved] of [
    [$("#camera"), cameras, localStorage.getItem("hoinghi.camera")],
    [$("#microphone"), microphones, localStorage.getItem("hoinghi.microphone")],
  ]) {
    select.replaceChildren(
      ...list.map((d, i) => {
        const option = document.createElement("option");
        option.value = d.deviceId;
        option.textContent = d.label || `${select.id} ${i + 1}`;
        option.selected = d.deviceId === saved;
        return option;
      }),
    );
  }
}

function drawFloor(you, isChair) {
  const floor = model.floor;
  const holder = floor
    ? floor.key === you.key
      ? t("floor.you")
      : t("floor.holder", { name: model.name(floor.key) })
    : t("floor.nobody");
  const until = floor?.expires_at ? ` ${t("floor.until", { time: formatTime(floor.expires_at, zone) })}` : "";
  $("#floor-holder").textContent = holder + until;
  $("#floor-holder").dataset.mine = floor?.key === you.key ? "yes" : "no";

  const canRaise = you.role === "point" || you.role === "official";
  const queued = model.queue.includes(you.key);
  const raise = $("#raise-hand");
  raise.hidden = !canRaise || floor?.key === you.key;
  raise.textContent = queued ? t("floor.lower") : t("floor.raise");
  raise.setAttribute("aria-pressed", queued ? "true" : "false");

  $("#chair-floor").hidden = !isChair;
  const queue = $("#queue");
  queue.replaceChildren(
    ...(model.queue.length
      ? model.queue.map((key) =>
          el(
            "li",
            {},
            el("span", { class: "name" }, model.name(key)),
            isChair
              ? el(
                  "button",
                  { type: "button", onclick: () => connection.command("grant_floor", grantFields(key)) },
                  t("floor.grant"),
                )
              : null,
          ),
        )
      : [el("li", { class: "empty" }, t("floor.queue_empty"))]),
  );
  $("#next-floor").disabled = !model.queue.length;
  $("#revoke-floor").disabled = !floor;
}

function grantFields(key) {
  const seconds = Number($("#floor-seconds").value);
  return seconds >= 10 ? { target: key, seconds } : { target: key };
}

function drawMembers(you, isOrganizer, isChair) {
  $("#members-panel").hidden = !isOrganizer && you.role !== "admin";
  $("#member-count").textContent = t("room.member_count", { count: model.memberCount });
  const rows = [...model.members.values()]
    .sort((a, b) => (a.role === b.role ? a.name.localeCompare(b.name, "vi") : a.role.localeCompare(b.role)))
    .map((m) =>
      el(
        "li",
        { "data-key": m.key },
        el("span", { class: "name" }, m.name, m.key === you.key ? ` ${t("room.you")}` : ""),
        el("span", { class: "role" }, roleName(m.role)),
        m.muted ? el("span", { class: "muted" }, t("room.muted")) : null,
        isChair && m.role === "point"
          ? el(
              "button",
              {
                type: "button",
                onclick: () => connection.command(m.muted ? "unmute" : "mute", { target: m.key }),
              },
              m.muted ? t("mute.unmute") : t("mute.mute"),
            )
          : null,
        isChair && m.role !== "chair" && model.floor?.key !== m.key
          ? el(
              "button",
              { type: "button", onclick: () => connection.command("grant_floor", grantFields(m.key)) },
              t("floor.grant"),
            )
          : null,
      ),
    );
  $("#members").replaceChildren(...rows);
  $("#mute-all").hidden = !isChair;
  $("#mute-all").textContent = model.muteAll ? t("mute.none") : t("mute.all");
  const mine = $("#my-mute");
  mine.hidden = !(you.muted && model.floor?.key === you.key);
}

function drawPresentation(you, isOrganizer) {
  presentation.draw(model.presentation, isOrganizer || model.presenter === you.key);
}

function drawRollCall(you, isOrganizer) {
  const call = model.rollCall;
  $("#rollcall-state").textContent = call
    ? t("rollcall.open_now", { number: call.number })
    : model.lastRollCall
      ? t("rollcall.result", {
          number: model.lastRollCall.number,
          points: model.lastRollCall.points_answered,
          people: model.lastRollCall.people,
        })
      : "";
  $("#rollcall-organizer").hidden = !isOrganizer;
  $("#open-rollcall").disabled = Boolean(call);
  $("#close-rollcall").disabled = !call;
  const waiting = call
    ? [...model.members.values()].filter((m) => m.role === "point" && !(m.key in call.answers))
    : [];
  $("#rollcall-waiting").textContent =
    isOrganizer && call ? t("rollcall.waiting_for", { names: waiting.map((m) => m.name).join(", ") || "—" }) : "";
  const isPoint = you.role === "point";
  $("#rollcall-point").hidden = !(isPoint && call);
  const answered = call?.answers?.[you.key];
  $("#rollcall-answered").textContent = answered !== undefined ? t("rollcall.answered", { count: answered }) : "";
}

function drawChat(you) {
  const list = $("#chat");
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.replaceChildren(
    ...model.chat.map((m) =>
      el(
        "li",
        { class: m.from === you.key ? "mine" : "" },
        el("strong", {}, m.name),
        m.to === "organizers" ? ` ${t("chat.private")}` : "",
        ": ",
        m.text,
      ),
    ),
  );
  if (atBottom) list.scrollTop = list.scrollHeight;
  $("#chat-to").hidden = ORGANIZERS.has(you.role);
}

// --- wiring ---------------------------------------------------------------------------

function wire() {
  $("#raise-hand").addEventListener("click", () => {
    const queued = model.queue.includes(model.you.key);
    connection.command(queued ? "lower_hand" : "raise_hand");
  });
  $("#next-floor").addEventListener("click", () => {
    const seconds = Number($("#floor-seconds").value);
    connection.command("next_floor", seconds >= 10 ? { seconds } : {});
  });
  $("#revoke-floor").addEventListener("click", () => connection.command("revoke_floor"));
  $("#mute-all").addEventListener("click", () => connection.command(model.muteAll ? "unmute_all" : "mute_all"));
  $("#my-mute").addEventListener("click", () => connection.command("unmute", { target: model.you.key }));
  presentation.wire();
  voting.wire();
  $("#open-rollcall").addEventListener("click", () => connection.command("open_roll_call"));
  $("#close-rollcall").addEventListener("click", () => connection.command("close_roll_call"));
  $("#rollcall-point").addEventListener("submit", (event) => {
    event.preventDefault();
    connection.command("answer_roll_call", { head_count: Number($("#head-count").value) });
  });
  $("#chat-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("#chat-text").value.trim();
    if (!text) return;
    const to = $("#chat-to").value;
    const answer = await connection.command("chat", { text, to });
    if (answer.type === "ack") $("#chat-text").value = "";
  });
  for (const [select, kind] of [["#camera", "video"], ["#microphone", "audio"]]) {
    $(select).addEventListener("change", (event) =>
      media.useDevice(kind, event.target.value).catch((error) => notify(t("media.no_devices", { reason: error.name }))),
    );
  }
  $("#agenda-select").addEventListener("change", (event) =>
    connection.command("set_agenda_item", { item_id: event.target.value ? Number(event.target.value) : null }),
  );
  $("#record").addEventListener("click", () =>
    connection.command(model.recording ? "stop_recording" : "start_recording"),
  );
  $("#thumbs-prev").addEventListener("click", () => media.showPage(media.page - 1));
  $("#thumbs-next").addEventListener("click", () => media.showPage(media.page + 1));
  $("#play-media").addEventListener("click", () => {
    for (const video of document.querySelectorAll("video")) video.play().catch(() => {});
    $("#media-status").textContent = "";
  });
  $("#lang").addEventListener("click", () => {
    setLanguage(language() === "vi" ? "en" : "vi");
    translatePage();
    $("#lang").textContent = t("lang.switch");
    render();
  });
  $("#signout").addEventListener("click", async () => {
    await signOut();
    location.reload();
  });
  $("#signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await signIn($("#username").value, $("#password").value);
      $("#signin").hidden = true;
      start();
    } catch (error) {
      $("#signin-error").textContent = problemText(error.code, error.detail);
    }
  });
}

function showSignIn(message = "") {
  $("#signin").hidden = false;
  $("#room").hidden = true;
  $("#lobby").hidden = true;
  $("#signin-error").textContent = message;
  $("#username").focus();
}

async function start() {
  try {
    const me = await api("/api/me");
    $("#who").textContent = me.kind === "point" ? me.point.name : me.user.full_name;
    const meeting = await api(`/api/meetings/${meetingId}`);
    $("#title").textContent = meeting.title;
    if (meeting.vote_rule) voting.form.setRule(meeting.vote_rule);
    const agenda = await api(`/api/meetings/${meetingId}/agenda`);
    const select = $("#agenda-select");
    select.replaceChildren(
      el("option", { value: "" }, t("agenda.none")),
      ...agenda.map((item, i) => el("option", { value: String(item.id) }, `${i + 1}. ${item.title}`)),
    );
    document.title = `${meeting.title} — hoinghi`;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return showSignIn(problemText(error.code));
    return notify(problemText(error.code, error.detail));
  }
  connection = new RoomConnection(model, render);
  window.hoinghiRoom = connection; // for the operators' console and the browser tests
  media = new RoomMedia({
    command: (type, fields) => connection.command(type, fields),
    onStatus: (text, problem) => {
      $("#media-status").textContent = text;
      $("#media-status").dataset.problem = problem ? "yes" : "no";
    },
    onDevices: (text) => {
      $("#device-status").textContent = text;
      $("#device-status").hidden = !text;
    },
    onLayout: () => render(),
    videos: {
      main: $("#main-video"),
      floor: $("#floor-video"),
      thumbnails: [...document.querySelectorAll("#thumbs video")],
    },
  });
  window.hoinghiMedia = media;
  // The chair's and secretary's alerts; a point's heartbeat with its link figures.
  watchAlerts({ meetingId, zone, you: () => model.you });
  reportLink({ you: () => model.you, pc: () => media.pc });
  navigator.mediaDevices?.addEventListener?.("devicechange", () => fillDevicePickers().catch(() => {}));
  connection.connect();
}

async function main() {
  await loadMessages();
  translatePage();
  $("#lang").textContent = t("lang.switch");
  wire();
  try {
    const config = await api("/api/client-config");
    zone = config.timezone;
  } catch {
    // Keep the default zone.
  }
  try {
    if (await signInKioskFromLink()) $("#who").textContent = t("signin.kiosk");
  } catch (error) {
    return showSignIn(problemText(error.code, error.detail));
  }
  start();
}

main();
