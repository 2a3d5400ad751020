"""One meeting's media: a peer connection per participant's socket, and the slots between.

Every participant's browser (or point agent) offers one ``RTCPeerConnection`` whose
m-lines are, in order (``LAYOUT``; docs/protocol.md):

    0 video  its camera out, the ``main`` slot's video in
    1 audio  its microphone out, the ``main`` slot's audio in
    2 video  the ``floor`` slot's video in
    3 audio  the ``floor`` slot's audio in
    4...     organizers only: one page of point thumbnails in (video)

The server never decodes: each publisher's receivers are tapped for encoded frames
(rooms/media/aiortc_hooks.py), which the slots hand to the subscribers' senders as
packets. The room's state (who chairs, who has the floor, who is muted) decides what feeds
each slot; a change moves sources without renegotiating anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

from rooms.media import aiortc_hooks, policy
from rooms.media.recorder import Finished, Recorder
from rooms.media.slots import Frame, Outlet, Slot, is_keyframe, vp8_size
from rooms.media.track import OutletTrack, packet
from rooms.state import Role, RoomState

log = logging.getLogger(__name__)

# aiortc's default (balanced) loses every audio m-line after the second when bundling:
# one transport for everything.
MAX_BUNDLE = RTCBundlePolicy.MAX_BUNDLE

LAYOUT: tuple[tuple[str, str], ...] = (
    ("main", "video"),
    ("main", "audio"),
    ("floor", "video"),
    ("floor", "audio"),
)
# A keyframe costs a publisher several times a normal frame: at most one per interval.
KEYFRAME_INTERVAL_S = 0.5


class MediaError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class KeyframeThrottle:
    """At most one keyframe request per source per interval; one asked for inside the
    interval is sent when it ends, never lost."""

    def __init__(self, send: Callable[[str], None], interval: float = KEYFRAME_INTERVAL_S) -> None:
        self._send = send
        self._interval = interval
        self._last: dict[str, float] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self.sent = 0

    def request(self, source: str) -> None:
        now = time.monotonic()
        wait = self._last.get(source, -1e9) + self._interval - now
        if wait <= 0:
            self._fire(source)
        elif source not in self._pending:
            loop = asyncio.get_running_loop()
            self._pending[source] = loop.call_later(wait, self._fire, source)

    def _fire(self, source: str) -> None:
        self._pending.pop(source, None)
        self._last[source] = time.monotonic()
        self.sent += 1
        self._send(source)

    def close(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()


@dataclass
class Peer:
    conn_id: str
    member: str
    role: Role
    pc: RTCPeerConnection
    receivers: dict[str, RTCRtpReceiver] = field(default_factory=dict)
    outlets: list[tuple[Slot, Outlet]] = field(default_factory=list)
    thumbnails: list[Slot] = field(default_factory=list)
    page: int = 0
    video_frames_in: int = 0
    size_in: tuple[int, int] | None = None
    # The previous stats sample: (monotonic time, counters) for rates over the interval.
    last_sample: tuple[float, dict[str, float]] | None = None
    # Tells the participant what its m-lines show whenever that changes.
    notify: Callable[[dict[str, Any]], None] | None = None
    shown: dict[str, Any] | None = None


class MediaRoom:
    def __init__(
        self,
        meeting_id: int,
        ice_servers: list[RTCIceServer] | None = None,
        recordings: Path | None = None,
        on_recording: Callable[[Finished], Awaitable[None]] | None = None,
    ) -> None:
        self.meeting_id = meeting_id
        self.ice_servers = ice_servers or []
        self.recordings = recordings
        self.on_recording = on_recording
        self.recorder: Recorder | None = None
        # Set by a media worker: frames of local publishers go to the other workers, and
        # keyframe requests for publishers elsewhere go to theirs.
        self.relay: Callable[[str, str, Frame], None] | None = None
        self.remote_keyframe: Callable[[str], None] | None = None
        self._recorder_stops: set[asyncio.Task[Any]] = set()
        self.state = RoomState(meeting_id)
        self.peers: dict[str, Peer] = {}
        # The publishing connection of each member (its latest).
        self.publishers: dict[str, Peer] = {}
        self.keyframes = KeyframeThrottle(self._ask_for_keyframe)
        self.slots = {
            f"{name}.{kind}": Slot(
                f"{name}.{kind}", kind == "video", self.keyframes.request, packet
            )
            for name, kind in LAYOUT
        }

    # --- signaling --------------------------------------------------------------------

    async def negotiate(
        self,
        conn_id: str,
        member: str,
        role: Role,
        sdp: str,
        notify: Callable[[dict[str, Any]], None] | None = None,
    ) -> str:
        """Answer a participant's offer; a second offer from the same socket replaces the
        first peer connection."""
        await self.drop(conn_id)
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=self.ice_servers, bundlePolicy=MAX_BUNDLE)
        )
        peer = Peer(conn_id, member, role, pc, notify=notify)
        self.peers[conn_id] = peer
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            self._wire(peer)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await self.drop(conn_id)
            if isinstance(exc, MediaError):
                raise
            raise MediaError("bad_offer", f"the offer could not be answered: {exc}") from None

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and self.peers.get(conn_id) is peer:
                await self.drop(conn_id)

        self.update(self.state)
        peer.shown = self.layout(conn_id)  # the answer carries it
        return pc.localDescription.sdp

    def _wire(self, peer: Peer) -> None:
        transceivers = peer.pc.getTransceivers()
        if len(transceivers) < len(LAYOUT):
            raise MediaError("bad_offer", f"an offer has at least {len(LAYOUT)} m-lines")
        wanted_thumbnails = len(transceivers) - len(LAYOUT)
        if wanted_thumbnails and not policy.sees_thumbnails(peer.role):
            raise MediaError("forbidden", "only the chair and secretaries receive thumbnails")
        if wanted_thumbnails > policy.THUMBNAILS_PER_PAGE:
            raise MediaError("bad_offer", f"at most {policy.THUMBNAILS_PER_PAGE} thumbnails")
        for index, transceiver in enumerate(transceivers):
            name, kind = LAYOUT[index] if index < len(LAYOUT) else (f"thumb{index - 4}", "video")
            if transceiver.kind != kind:
                raise MediaError("bad_offer", f"m-line {index} must be {kind}")
            sends = aiortc_hooks.remote_sends(transceiver)
            if name == "main" and sends:
                receiver = transceiver.receiver
                peer.receivers[kind] = receiver
                aiortc_hooks.tap_encoded_frames(receiver, partial(self._ingest, peer, kind))
            if name.startswith("thumb"):
                slot = Slot(name, True, self.keyframes.request, packet)
                peer.thumbnails.append(slot)
            else:
                slot = self.slots[f"{name}.{kind}"]
            outlet = Outlet(peer.conn_id, kind == "video", member=peer.member)
            peer.outlets.append((slot, outlet))
            transceiver.sender.replaceTrack(OutletTrack(kind, outlet))
            aiortc_hooks.on_keyframe_request(
                transceiver.sender, partial(slot.keyframe_wanted, peer.conn_id)
            )
            transceiver.direction = "sendrecv" if sends else "sendonly"
        if peer.receivers:
            self.publishers[peer.member] = peer
        for slot, outlet in peer.outlets:
            slot.add(outlet)

    async def add_candidate(
        self, conn_id: str, candidate: str, mid: str | None, index: int | None
    ) -> None:
        peer = self.peers.get(conn_id)
        if peer is None:
            raise MediaError("no_peer", "send an offer first")
        line = candidate.removeprefix("candidate:")
        try:
            parsed = candidate_from_sdp(line)
        except (ValueError, IndexError):
            raise MediaError("bad_candidate", "not an ICE candidate line") from None
        parsed.sdpMid, parsed.sdpMLineIndex = mid, index
        await peer.pc.addIceCandidate(parsed)

    def set_page(self, conn_id: str, page: int) -> dict[str, Any]:
        peer = self.peers.get(conn_id)
        if peer is None or not peer.thumbnails:
            raise MediaError("no_thumbnails", "this connection receives no thumbnails")
        peer.page = max(0, min(page, policy.point_pages(self.state) - 1))
        self._feed_thumbnails(peer)
        peer.shown = self.layout(conn_id)
        return peer.shown

    def layout(self, conn_id: str) -> dict[str, Any]:
        """What each received m-line shows now, for the client's labels."""
        peer = self.peers.get(conn_id)
        out: dict[str, Any] = {
            "main": self.slots["main.video"].source,
            "floor": self.slots["floor.video"].source,
        }
        if peer is not None and peer.thumbnails:
            out["thumbnails"] = [slot.source for slot in peer.thumbnails]
            out["page"] = peer.page
            out["pages"] = policy.point_pages(self.state)
        return out

    async def drop(self, conn_id: str) -> None:
        peer = self.peers.pop(conn_id, None)
        if peer is None:
            return
        for slot, _ in peer.outlets:
            if slot.outlets.get(conn_id) is not None:
                slot.remove(conn_id)
        if self.publishers.get(peer.member) is peer:
            del self.publishers[peer.member]
        with contextlib.suppress(Exception):
            await peer.pc.close()

    async def close(self) -> None:
        if self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            await recorder.stop()
        for task in list(self._recorder_stops):
            await task
        for conn_id in list(self.peers):
            await self.drop(conn_id)
        self.keyframes.close()

    # --- the room's state decides the sources ------------------------------------------

    def update(self, state: RoomState) -> None:
        self.state = state
        chosen = policy.sources(state)
        for kind in ("video", "audio"):
            self.slots[f"main.{kind}"].set_source(chosen.main)
            self.slots[f"floor.{kind}"].set_source(chosen.floor)
        self._follow_recording(state, chosen.main)
        for peer in self.peers.values():
            if peer.thumbnails:
                self._feed_thumbnails(peer)
            shown = self.layout(peer.conn_id)
            if peer.shown is not None and shown != peer.shown and peer.notify is not None:
                peer.notify(shown)
            if peer.shown is not None:
                peer.shown = shown

    def _follow_recording(self, state: RoomState, main: str | None) -> None:
        wanted = state.recording.number if state.recording else None
        current = self.recorder.number if self.recorder else None
        if current is not None and current != wanted:
            recorder, self.recorder = self.recorder, None
            assert recorder is not None
            task = asyncio.get_running_loop().create_task(recorder.stop())
            self._recorder_stops.add(task)
            task.add_done_callback(self._recorder_stops.discard)
        # One process records: the one the chair's media arrives at.
        records_here = main is not None and main in self.publishers
        if wanted is not None and self.recorder is None and self.recordings and records_here:
            # A recording that outlives this room's media (everyone left and came back) goes
            # on in a new file: one file per stretch, never one written over another.
            stamp = time.strftime("%Y%m%dT%H%M%S")
            name = f"recording-{wanted}-{stamp}-{id(self):x}.webm"
            path = self.recordings / f"meeting-{self.meeting_id}" / name
            item = state.agenda_item.item_id if state.agenda_item else None
            self.recorder = Recorder(
                self.meeting_id, wanted, path, self.slots, self.on_recording, item
            )
            self.recorder.start()

    def _feed_thumbnails(self, peer: Peer) -> None:
        keys = policy.thumbnail_page(self.state, peer.page, len(peer.thumbnails))
        for index, slot in enumerate(peer.thumbnails):
            slot.set_source(keys[index] if index < len(keys) else None)

    # --- frames -------------------------------------------------------------------------

    def _ingest(self, peer: Peer, kind: str, codec: Any, encoded: Any) -> None:
        if self.publishers.get(peer.member) is not peer:
            return  # an older connection of a member who has a newer one
        if kind == "audio" and not policy.audible(self.state, peer.member):
            return
        frame = Frame(
            encoded.data, encoded.timestamp, codec.clockRate, is_keyframe(codec.name, encoded.data)
        )
        if kind == "video":
            peer.video_frames_in += 1
            if frame.keyframe:
                peer.size_in = vp8_size(encoded.data) or peer.size_in
        self.deliver(peer.member, kind, frame)
        if self.relay is not None:
            self.relay(peer.member, kind, frame)

    def deliver(self, member: str, kind: str, frame: Frame) -> None:
        """A frame of ``member``'s camera or microphone, to every slot it feeds here."""
        now = time.monotonic()
        for name in ("main", "floor"):
            self.slots[f"{name}.{kind}"].push(member, frame, now)
        if kind == "video":
            for viewer in self.peers.values():
                for slot in viewer.thumbnails:
                    slot.push(member, frame, now)

    async def link_stats(self) -> dict[str, dict[str, Any]]:
        """What each participant's link to the server looks like now (per member, from its
        latest connection): RTT, loss, jitter, bitrate both ways, frame rate and size in."""
        out: dict[str, dict[str, Any]] = {}
        for peer in list(self.peers.values()):
            try:
                report = await peer.pc.getStats()
            except Exception:  # a peer closing under us
                continue
            out[peer.member] = _link_figures(peer, list(report.values()), time.monotonic())
        return out

    def _ask_for_keyframe(self, member: str) -> None:
        peer = self.publishers.get(member)
        receiver = peer.receivers.get("video") if peer else None
        if receiver is not None:
            aiortc_hooks.request_keyframe(receiver)
        elif peer is None and self.remote_keyframe is not None:
            self.remote_keyframe(member)  # its camera arrives at another media worker


def _link_figures(peer: Peer, stats: list[Any], now: float) -> dict[str, Any]:
    counters = {"bytes_in": 0.0, "bytes_out": 0.0, "received": 0.0, "lost": 0.0}
    jitter_ms: list[float] = []
    rtt_ms: list[float] = []
    for s in stats:
        if s.type == "transport":
            counters["bytes_in"] += s.bytesReceived
            counters["bytes_out"] += s.bytesSent
        elif s.type == "inbound-rtp":
            counters["received"] += s.packetsReceived
            counters["lost"] += max(0, s.packetsLost)
            clock = 90 if s.kind == "video" else 48  # RTP units per millisecond
            jitter_ms.append(s.jitter / clock)
        elif s.type == "remote-inbound-rtp" and s.roundTripTime is not None:
            rtt_ms.append(s.roundTripTime * 1000)
    counters["frames"] = float(peer.video_frames_in)
    figures: dict[str, Any] = {
        "rtt_ms": round(max(rtt_ms), 1) if rtt_ms else None,
        "jitter_ms": round(max(jitter_ms), 1) if jitter_ms else None,
        "width": peer.size_in[0] if peer.size_in else None,
        "height": peer.size_in[1] if peer.size_in else None,
    }
    previous = peer.last_sample
    peer.last_sample = (now, counters)
    if previous is None or now <= previous[0]:
        figures.update(loss_pct=None, kbps_in=None, kbps_out=None, fps_in=None)
        return figures
    seconds = now - previous[0]
    delta = {k: counters[k] - previous[1].get(k, 0.0) for k in counters}
    packets = delta["received"] + delta["lost"]
    figures.update(
        loss_pct=round(100 * delta["lost"] / packets, 2) if packets > 0 else 0.0,
        kbps_in=round(delta["bytes_in"] * 8 / 1000 / seconds, 1),
        kbps_out=round(delta["bytes_out"] * 8 / 1000 / seconds, 1),
        fps_in=round(delta["frames"] / seconds, 1),
    )
    return figures
