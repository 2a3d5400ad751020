// A point's self-test, the media part: open the camera and microphone, hear the
// microphone's level, and send both to the server's echo (POST /api/media/loopback) over
// WebRTC, see the picture come back and measure the round trip and loss for a few seconds.
import { api, ApiError } from "./api.js";
import { t } from "./i18n.js";
import { el } from "./ui.js";

// The server's default limits (docs/operations.md, HOINGHI_HEALTH_LOSS_PCT and _RTT_MS):
// a link over them makes a point "degraded" in a meeting, so the test says it fails.
export const LIMITS = { loss_pct: 5, rtt_ms: 400 };
const MEASURE_MS = 5000;
const CONNECT_MS = 12000;
const ECHO_MS = 10000;
// Some sound heard (0..1 of full scale): a dead or muted microphone stays under it.
const HEARD = 0.02;

// The dashboard's invitation to a point to test itself before its meetings.
export function selfTestInvite() {
  return el(
    "section",
    { class: "card", id: "selftest-invite", "aria-labelledby": "selftest-invite-title" },
    el("h2", { id: "selftest-invite-title" }, t("selftest.title")),
    el("p", {}, t("selftest.invite")),
    el("a", { class: "button primary", href: "/?view=self_test", id: "selftest-link" }, t("selftest.open")),
  );
}

// An error from getUserMedia in words, for the camera or the microphone.
export function deviceProblem(error, part) {
  const device = t(`selftest.part_${part}`);
  const name = error?.name || String(error);
  if (name === "NotAllowedError" || name === "SecurityError") return t("selftest.err_permission", { device });
  if (["NotFoundError", "OverconstrainedError", "DevicesNotFoundError"].includes(name))
    return t("selftest.err_no_device", { device });
  if (["NotReadableError", "TrackStartError", "AbortError"].includes(name)) return t("selftest.err_device_busy", { device });
  if (name === "insecure") return t("selftest.err_insecure");
  return t("selftest.err_device_other", { device, reason: name });
}

// The camera and microphone, each on its own when both at once fail, so the page can say
// which one is missing. Returns { stream, camera: error|null, microphone: error|null }.
export async function openDevices() {
  if (!navigator.mediaDevices?.getUserMedia) {
    const insecure = { name: "insecure" };
    return { stream: new MediaStream(), camera: insecure, microphone: insecure };
  }
  const video = { width: 640, height: 360, frameRate: 30 };
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video, audio: true });
    return { stream, camera: null, microphone: null };
  } catch {
    // Find out which one fails.
  }
  const stream = new MediaStream();
  const one = async (constraints) => {
    try {
      const got = await navigator.mediaDevices.getUserMedia(constraints);
      got.getTracks().forEach((track) => stream.addTrack(track));
      return null;
    } catch (error) {
      return error;
    }
  };
  const camera = await one({ video });
  const microphone = await one({ audio: true });
  return { stream, camera, microphone };
}

// The microphone's level, polled by the page: { level, peak } in 0..1.
export class LevelMeter {
  constructor(track) {
    this.peak = 0;
    this.level = 0;
    this.context = new AudioContext();
    const source = this.context.createMediaStreamSource(new MediaStream([track]));
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 1024;
    source.connect(this.analyser);
    this.samples = new Float32Array(this.analyser.fftSize);
    this.context.resume().catch(() => {});
  }

  read() {
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const v of this.samples) sum += v * v;
    // RMS of speech at a normal distance is ~0.05–0.2; scale it so the bar moves well.
    this.level = Math.min(1, Math.sqrt(sum / this.samples.length) * 4);
    this.peak = Math.max(this.peak, this.level);
    return this.level;
  }

  get heard() {
    return this.peak >= HEARD;
  }

  close() {
    this.context.close().catch(() => {});
  }
}

// A moving test card to send when there is no camera, so the network is still tested.
export function testCard() {
  const canvas = el("canvas", { width: 320, height: 180 });
  const g = canvas.getContext("2d");
  let frame = 0;
  const timer = setInterval(() => {
    frame += 1;
    g.fillStyle = "#0b5cad";
    g.fillRect(0, 0, 320, 180);
    g.fillStyle = "#ffffff";
    g.fillRect((frame * 8) % 320, 60, 40, 60);
  }, 66);
  const stream = canvas.captureStream(15);
  const track = stream.getVideoTracks()[0];
  track.addEventListener("ended", () => clearInterval(timer));
  const stop = track.stop.bind(track);
  track.stop = () => {
    clearInterval(timer);
    stop();
  };
  return track;
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    setTimeout(resolve, 2000);
  });
}

function until(check, ms) {
  return new Promise((resolve) => {
    const started = Date.now();
    const poll = async () => {
      if (await check()) return resolve(true);
      if (Date.now() - started > ms) return resolve(false);
      setTimeout(poll, 200);
    };
    poll();
  });
}

// Counters from one getStats report.
async function sample(pc) {
  const report = await pc.getStats();
  const out = { at: performance.now(), rtt: [], sent: 0, received: 0, packets: 0, lost: 0, frames: 0, jitter: [] };
  const selected = new Set();
  report.forEach((s) => s.type === "transport" && s.selectedCandidatePairId && selected.add(s.selectedCandidatePairId));
  const chosen = (s) => (selected.size ? selected.has(s.id) : s.nominated && s.state === "succeeded");
  report.forEach((s) => {
    if (s.type === "candidate-pair" && chosen(s) && s.currentRoundTripTime !== undefined)
      out.rtt.push(s.currentRoundTripTime * 1000);
    else if (s.type === "remote-inbound-rtp" && s.roundTripTime !== undefined) out.rtt.push(s.roundTripTime * 1000);
    else if (s.type === "outbound-rtp") {
      out.sent += s.bytesSent || 0;
      if (s.kind === "video") out.fpsSent = s.framesPerSecond;
    } else if (s.type === "inbound-rtp") {
      out.received += s.bytesReceived || 0;
      out.packets += s.packetsReceived || 0;
      out.lost += Math.max(0, s.packetsLost || 0);
      if (s.jitter !== undefined) out.jitter.push(s.jitter * 1000);
      if (s.kind === "video") {
        out.frames = s.framesDecoded || 0;
        out.width = s.frameWidth;
        out.height = s.frameHeight;
      }
    }
  });
  return out;
}

const round = (value, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

// The echo test. onEcho(stream) is called when the picture starts coming back; onState(text)
// says what happens. Resolves { ok, problem, figures } and always closes the connection.
export async function loopback(stream, { onEcho, onState }) {
  let iceServers = [];
  try {
    iceServers = (await api("/api/media/ice-servers")).ice_servers;
  } catch {
    // On the province's own network host candidates do.
  }
  const pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
  const echo = new MediaStream();
  pc.ontrack = (event) => {
    echo.addTrack(event.track);
    if (event.track.kind === "video") onEcho(echo);
  };
  try {
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    onState(t("selftest.net_offer"));
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    let answer;
    try {
      answer = await api("/api/media/loopback", { method: "POST", body: { sdp: pc.localDescription.sdp } });
    } catch (error) {
      const code = error instanceof ApiError ? error.code : "network";
      const known = ["busy", "bad_offer", "network", "media_disabled"].includes(code);
      return { ok: false, problem: known ? t(`selftest.err_${code}`) : t("selftest.err_server", { detail: error.detail || code }), figures: {} };
    }
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    onState(t("selftest.net_connecting"));
    const connected = await until(() => pc.connectionState === "connected" || pc.connectionState === "failed", CONNECT_MS);
    if (!connected || pc.connectionState !== "connected") return { ok: false, problem: t("selftest.err_no_connection"), figures: {} };
    onState(t("selftest.net_waiting_echo"));
    const echoed = await until(async () => (await sample(pc)).frames > 0, ECHO_MS);
    if (!echoed) return { ok: false, problem: t("selftest.err_no_echo"), figures: {} };
    onState(t("selftest.net_measuring"));
    const first = await sample(pc);
    const rtts = [...first.rtt];
    let last = first;
    while (performance.now() - first.at < MEASURE_MS) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      last = await sample(pc);
      rtts.push(...last.rtt);
    }
    const seconds = (last.at - first.at) / 1000;
    const packets = last.packets - first.packets + (last.lost - first.lost);
    const figures = {
      rtt_ms: rtts.length ? round(rtts.reduce((a, b) => a + b, 0) / rtts.length) : undefined,
      loss_pct: packets > 0 ? round((100 * (last.lost - first.lost)) / packets, 2) : undefined,
      jitter_ms: last.jitter.length ? round(Math.max(...last.jitter)) : undefined,
      // As the server names a point's link: "in" reaches the server, "out" comes back.
      kbps_in: round(((last.sent - first.sent) * 8) / 1000 / seconds),
      kbps_out: round(((last.received - first.received) * 8) / 1000 / seconds),
      fps_in: last.fpsSent !== undefined ? round(last.fpsSent) : undefined,
      echo_fps: round((last.frames - first.frames) / seconds),
      width: last.width,
      height: last.height,
    };
    for (const key of Object.keys(figures)) if (typeof figures[key] !== "number" || !Number.isFinite(figures[key])) delete figures[key];
    const over = [];
    if (figures.loss_pct > LIMITS.loss_pct) over.push(t("health.reason_loss_pct", { value: figures.loss_pct, limit: LIMITS.loss_pct }));
    if (figures.rtt_ms > LIMITS.rtt_ms) over.push(t("health.reason_rtt_ms", { value: figures.rtt_ms, limit: LIMITS.rtt_ms }));
    if (over.length) return { ok: false, problem: t("selftest.err_poor", { detail: over.join("; ") }), figures };
    return { ok: true, problem: "", figures };
  } catch (error) {
    return { ok: false, problem: t("selftest.err_webrtc", { reason: error.name || String(error) }), figures: {} };
  } finally {
    pc.close();
  }
}
