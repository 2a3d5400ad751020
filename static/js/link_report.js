// A conference point's heartbeat (POST /api/points/me/heartbeat): it says the point is
// alive and, in a meeting room, reports its media link from its own RTCPeerConnection.
// The server keeps the report apart (reported_stats) and judges health from it only when
// its own measure of the link is missing (docs/operations.md, "Conference points' health").
import { api } from "./api.js";

const ROOM_EVERY_MS = 10000;
const FIRST_RATES_MS = 3000; // a first report soon after joining, not 10 s later
const SHELL_EVERY_MS = 30000; // well inside HOINGHI_POINT_ONLINE_SECONDS (90 by default)

async function counters(pc) {
  const report = await pc.getStats();
  const c = { at: performance.now(), bytesSent: 0, bytesReceived: 0, packetsSent: 0, remoteLost: 0, rtt: [], jitter: [], fraction: [] };
  const selected = new Set();
  report.forEach((s) => s.type === "transport" && s.selectedCandidatePairId && selected.add(s.selectedCandidatePairId));
  report.forEach((s) => {
    if (s.type === "transport") {
      c.bytesSent += s.bytesSent || 0;
      c.bytesReceived += s.bytesReceived || 0;
    } else if (s.type === "candidate-pair" && selected.has(s.id) && s.currentRoundTripTime !== undefined) {
      c.rtt.push(s.currentRoundTripTime * 1000);
    } else if (s.type === "outbound-rtp") {
      c.packetsSent += s.packetsSent || 0;
      if (s.kind === "video") {
        c.framesSent = s.framesSent;
        c.fps = s.framesPerSecond;
        c.width = s.frameWidth;
        c.height = s.frameHeight;
      }
    } else if (s.type === "remote-inbound-rtp") {
      // The server's receiver reports on what this point sends.
      c.remoteLost += Math.max(0, s.packetsLost || 0);
      if (s.roundTripTime !== undefined && !c.rtt.length) c.rtt.push(s.roundTripTime * 1000);
      if (s.jitter !== undefined) c.jitter.push(s.jitter * 1000);
      if (s.fractionLost !== undefined) c.fraction.push(s.fractionLost * 100);
    }
  });
  return c;
}

const round = (value, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

// The link in the server's own words (rooms/media/room.py measures each point's link from
// the server's side): "in" is what reaches the server FROM the point and "out" what the
// server sends TO it. So kbps_in here is the bitrate this point SENDS, and loss_pct, jitter_ms,
// fps_in, width and height describe the point's camera and microphone as the server gets
// them: the server calls a point "silent" when its kbps_in is too low, and the names must
// mean the same whoever measured them.
export function linkFigures(now, before) {
  const seconds = (now.at - before.at) / 1000;
  if (seconds <= 0) return {};
  const sent = now.packetsSent - before.packetsSent;
  const lost = now.remoteLost - before.remoteLost;
  const figures = {
    rtt_ms: now.rtt.length ? round(Math.max(...now.rtt)) : undefined,
    loss_pct: sent > 0 ? round((100 * Math.max(0, lost)) / (sent + Math.max(0, lost)), 2) : now.fraction.length ? round(Math.max(...now.fraction), 2) : undefined,
    jitter_ms: now.jitter.length ? round(Math.max(...now.jitter)) : undefined,
    kbps_in: round(((now.bytesSent - before.bytesSent) * 8) / 1000 / seconds),
    kbps_out: round(((now.bytesReceived - before.bytesReceived) * 8) / 1000 / seconds),
    fps_in:
      now.framesSent !== undefined && before.framesSent !== undefined
        ? round((now.framesSent - before.framesSent) / seconds)
        : now.fps,
    width: now.width,
    height: now.height,
  };
  for (const [key, value] of Object.entries(figures))
    if (typeof value !== "number" || !Number.isFinite(value)) delete figures[key];
  return figures;
}

async function beat(body) {
  try {
    await api("/api/points/me/heartbeat", { method: "POST", body });
  } catch {
    // Offline or signed out: the next beat tries again; the page says what is wrong.
  }
}

// In a meeting room: every 10 s while the caller is a point, with its link figures once it
// has two readings of the same peer connection to take rates from.
export function reportLink({ you, pc: currentPc }) {
  let last = null; // { pc, counters }
  const tick = async () => {
    let next = ROOM_EVERY_MS;
    try {
      if (you()?.role !== "point") return;
      const pc = currentPc();
      if (!pc || pc.connectionState !== "connected") {
        last = null;
        return await beat({});
      }
      const now = await counters(pc);
      if (!last || last.pc !== pc) {
        last = { pc, counters: now };
        next = FIRST_RATES_MS;
        return await beat({});
      }
      const figures = linkFigures(now, last.counters);
      last = { pc, counters: now };
      await beat(Object.keys(figures).length ? { link_stats: figures } : {});
    } catch (error) {
      console.warn("heartbeat: link statistics failed", error);
    } finally {
      setTimeout(tick, next);
    }
  };
  setTimeout(tick, FIRST_RATES_MS);
}

// Anywhere else in the client (the kiosk's dashboard while it waits for a meeting, the
// self-test): a plain heartbeat, so the point is not taken for offline while it is idle.
export function keepAlive(isPoint) {
  setInterval(() => isPoint() && beat({}), SHELL_EVERY_MS);
}
