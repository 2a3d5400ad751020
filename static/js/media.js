// The room's audio and video: one RTCPeerConnection with the server, negotiated over the
// room's WebSocket. Its m-lines follow the server's layout (docs/protocol.md, "Media"):
// 0 camera out + main video in, 1 microphone out + main audio in, 2 floor video in,
// 3 floor audio in, then (chair and secretaries) a page of point thumbnails in.
import { api } from "./api.js";
import { t } from "./i18n.js";

const THUMBNAILS = 9;
const RETRY_MS = 3000;

export class RoomMedia {
  constructor({ command, onStatus, onDevices, onLayout, videos }) {
    this.command = command; // (type, fields) => Promise<frame>
    this.onStatus = onStatus; // (text, isProblem) => void: the media connection
    this.onDevices = onDevices; // (text) => void: the camera and microphone ("" when fine)
    this.onLayout = onLayout; // (slots) => void
    this.videos = videos; // { main, floor, thumbnails: [] }
    this.pc = null;
    this.local = null; // the camera and microphone stream
    this.thumbnails = 0;
    this.page = 0;
    this.slots = {};
    this.generation = 0;
    this.micAllowed = true;
  }

  // (Re)negotiate: after every (re)connection of the room socket the server has no peer.
  async start({ organizer, you }) {
    const generation = ++this.generation;
    this.you = you;
    this.close(false);
    this.thumbnails = organizer ? THUMBNAILS : 0;
    let iceServers = [];
    try {
      iceServers = (await api("/api/media/ice-servers")).ice_servers;
    } catch {
      // STUN/TURN are for points behind NAT; on the province's own network host candidates do.
    }
    await this.openDevices();
    if (generation !== this.generation) return;
    const pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    this.pc = pc;
    const video = this.local?.getVideoTracks()[0];
    const audio = this.local?.getAudioTracks()[0];
    const streams = { main: new MediaStream(), floor: new MediaStream() };
    const layout = [
      ["main", "video", video],
      ["main", "audio", audio],
      ["floor", "video", null],
      ["floor", "audio", null],
      ...Array.from({ length: this.thumbnails }, (_, i) => [`thumb${i}`, "video", null]),
    ];
    this.transceivers = layout.map(([slot, kind, track]) => {
      const transceiver = pc.addTransceiver(track || kind, {
        direction: track ? "sendrecv" : "recvonly",
        streams: track ? [this.local] : [],
      });
      const incoming = transceiver.receiver.track;
      if (slot.startsWith("thumb")) {
        const index = Number(slot.slice(5));
        const element = this.videos.thumbnails[index];
        if (element) element.srcObject = new MediaStream([incoming]);
      } else {
        streams[slot].addTrack(incoming);
      }
      return { slot, kind, transceiver };
    });
    this.remote = streams;
    this.play(this.videos.main, streams.main);
    this.play(this.videos.floor, streams.floor);
    pc.onconnectionstatechange = () => this.connectionChanged(pc, generation);
    await pc.setLocalDescription(await pc.createOffer());
    await this.gathered(pc);
    if (generation !== this.generation) return;
    const reply = await this.command("offer", { sdp: pc.localDescription.sdp });
    if (generation !== this.generation) return;
    if (reply.type !== "ack") {
      this.onStatus(t("media.failed"), true);
      // A worker busy or restarting: try again; a refusal for good (no media, not allowed)
      // is not retried.
      if (!["media_disabled", "forbidden", "room_closed"].includes(reply.code)) this.retryLater(generation);
      return;
    }
    try {
      await pc.setRemoteDescription(reply.answer);
    } catch {
      this.onStatus(t("media.failed"), true);
      return this.retryLater(generation);
    }
    this.layoutChanged(reply.slots);
  }

  retryLater(generation) {
    setTimeout(() => {
      if (generation === this.generation) this.start({ organizer: this.thumbnails > 0, you: this.you });
    }, RETRY_MS);
  }

  async openDevices() {
    if (this.local) return;
    const camera = localStorage.getItem("hoinghi.camera");
    const microphone = localStorage.getItem("hoinghi.microphone");
    try {
      this.local = await navigator.mediaDevices.getUserMedia({
        video: { width: 640, height: 360, frameRate: 30, ...(camera ? { deviceId: camera } : {}) },
        audio: microphone ? { deviceId: microphone } : true,
      });
    } catch (error) {
      this.local = null;
      this.onDevices(t("media.no_devices", { reason: error.name || String(error) }));
      return;
    }
    this.onDevices("");
    this.applyMute();
  }

  async devices() {
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      cameras: all.filter((d) => d.kind === "videoinput"),
      microphones: all.filter((d) => d.kind === "audioinput"),
    };
  }

  // A different camera or microphone: swap the track on the sender, no renegotiation.
  async useDevice(kind, deviceId) {
    localStorage.setItem(kind === "video" ? "hoinghi.camera" : "hoinghi.microphone", deviceId);
    const constraints = kind === "video" ? { video: { deviceId: { exact: deviceId }, width: 640, height: 360 } } : { audio: { deviceId: { exact: deviceId } } };
    const fresh = await navigator.mediaDevices.getUserMedia(constraints);
    const track = kind === "video" ? fresh.getVideoTracks()[0] : fresh.getAudioTracks()[0];
    const entry = this.transceivers?.find((x) => x.slot === "main" && x.kind === kind);
    if (entry && entry.transceiver.currentDirection !== "recvonly") await entry.transceiver.sender.replaceTrack(track);
    if (this.local) {
      for (const old of kind === "video" ? this.local.getVideoTracks() : this.local.getAudioTracks()) {
        this.local.removeTrack(old);
        old.stop();
      }
      this.local.addTrack(track);
    }
    this.applyMute();
  }

  // The room's mute is enforced by the server; the microphone is also silenced here so
  // nothing leaves the room's PC while muted.
  setMicAllowed(allowed) {
    this.micAllowed = allowed;
    this.applyMute();
  }

  applyMute() {
    for (const track of this.local?.getAudioTracks() || []) track.enabled = this.micAllowed;
  }

  async showPage(page) {
    const reply = await this.command("thumbnails", { page });
    if (reply.type === "ack") this.layoutChanged(reply.slots);
  }

  layoutChanged(slots) {
    this.slots = slots || {};
    this.page = this.slots.page || 0;
    // On main yourself (the chair): see your own camera there, silently; the server sends
    // nobody their own picture or voice.
    const self = this.slots.main && this.slots.main === this.you;
    const wanted = self ? this.local : this.remote?.main;
    const main = this.videos.main;
    if (main && wanted && main.srcObject !== wanted) {
      main.muted = Boolean(self);
      this.play(main, wanted);
    }
    this.onLayout(this.slots);
  }

  play(element, stream) {
    if (!element) return;
    element.srcObject = stream;
    element.play().catch(() => this.onStatus(t("media.click_to_play"), true));
  }

  gathered(pc) {
    // One offer with every candidate in it: no trickling needed on a LAN or through TURN.
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (pc.iceGatheringState === "complete") resolve();
      };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 2000);
    });
  }

  connectionChanged(pc, generation) {
    if (pc !== this.pc) return;
    const state = pc.connectionState;
    if (state === "connected") this.onStatus(t("media.connected"), false);
    else if (state === "failed") {
      this.onStatus(t("media.lost"), true);
      this.retryLater(generation);
    } else if (state === "connecting") this.onStatus(t("media.connecting"), false);
  }

  close(stopDevices = true) {
    if (this.pc) {
      this.pc.onconnectionstatechange = null;
      this.pc.close();
      this.pc = null;
    }
    if (stopDevices && this.local) {
      for (const track of this.local.getTracks()) track.stop();
      this.local = null;
    }
  }

  // For the browser tests and the operators' console: what the peer connection receives.
  async received() {
    if (!this.pc) return {};
    const stats = await this.pc.getStats();
    const byMid = {};
    for (const entry of this.transceivers) byMid[entry.transceiver.mid] = `${entry.slot}.${entry.kind}`;
    const out = {};
    stats.forEach((s) => {
      if (s.type !== "inbound-rtp") return;
      out[byMid[s.mid] || s.mid] = {
        framesDecoded: s.framesDecoded || 0,
        packetsReceived: s.packetsReceived || 0,
        totalSamplesReceived: s.totalSamplesReceived || 0,
      };
    });
    return out;
  }
}
