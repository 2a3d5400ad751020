"""Media forwarding: one publisher, N subscribers, the server's CPU per subscriber.

The chair publishes 640x360 at 30 fps VP8 (rooms.media.client.ColourBars, or with
``--picture noise`` a picture no encoder compresses) and Opus (Tone) from its own process;
N conference points subscribe to the ``main`` slot from ``--procs`` client processes
(aiortc peers that decode what they receive, as a point's screen does; ``--no-decode``
counts the reassembled encoded frames instead, so that the load generator costs less).
Phases:

1. hoinghi (``hoinghi serve``, one process): the server's CPU time (``/proc``) over a
   ``--seconds`` window with the publisher alone, then over the same window with N
   subscribers receiving; ``cpu_pct_per_sub`` = (CPU with N - CPU publisher alone) / N,
   in percent of one core. Every subscriber's frame rate over the window (``fps_min``),
   the time from starting its offer to its first picture when all N join at once
   (``first_frame_s_max``), and then the same for one more point joining the running
   meeting (``late_first_frame_s``).
2. The baseline: the same publisher and clients against bench/relay_baseline.py, aiortc's
   ``MediaRelay`` (decode once, encode per subscriber), at ``--relay-subscribers``.
3. ``--max-search``: N grows by ``--step`` until a subscriber drops under 29 fps, a late
   joiner waits a second or more for its picture, the server's CPU nears one core, or a
   client gets no picture; ``largest_sustained_n``.

Every window also records how busy the whole machine was and how much CPU went to
processes outside the benchmark (``elsewhere_cpu_pct``), since frame rates depend on them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

import httpx

from bench.signaling import BENCH_ENV, _setup
from bench.support import cpu_seconds, hoinghi_server, percentile, uvicorn_app

WIDTH, HEIGHT = 640, 360
FPS_TARGET = 29.0
FIRST_FRAME_TARGET_S = 1.0
CPU_PCT_PER_SUB_TARGET = 1.0
RELAY_RATIO_TARGET = 10.0
# A server whose event loop is this busy (percent of one core) has no room to grow.
SATURATED_PCT = 90.0
# Processes outside the benchmark using more than this (percent of a core) are noted.
SHARED_PCT = 25.0
SETTLE_S = 2.0  # after the last first picture, before the window opens


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--subscribers", type=int, default=16, help="points receiving")
    parser.add_argument("--procs", type=int, default=2, help="subscriber client processes")
    parser.add_argument("--seconds", type=float, default=8, help="each measuring window")
    parser.add_argument(
        "--relay-subscribers",
        default="4",
        help="comma-separated N for the MediaRelay baseline; '' to skip",
    )
    parser.add_argument("--relay-seconds", type=float, default=5, help="baseline windows")
    parser.add_argument(
        "--max-search",
        action="store_true",
        help="grow N by --step after the main run until the machine no longer sustains it",
    )
    parser.add_argument("--step", type=int, default=16, help="N increment of --max-search")
    parser.add_argument("--max-n", type=int, default=160, help="--max-search stops here")
    parser.add_argument(
        "--per-proc", type=int, default=8, help="--max-search: subscribers per client process"
    )
    parser.add_argument(
        "--media-workers",
        type=int,
        default=0,
        help="HOINGHI_MEDIA_WORKERS for the server (its CPU includes theirs)",
    )
    parser.add_argument(
        "--picture",
        choices=("bars", "noise"),
        default="bars",
        help="the chair's camera: ColourBars, or bars with noise (runs at the encoder's rate)",
    )
    parser.add_argument(
        "--no-decode",
        dest="decode",
        action="store_false",
        help="subscribers count the encoded frames they reassemble instead of decoding them "
        "(the load generator then costs far less CPU)",
    )


# --- client processes -------------------------------------------------------------------


async def _open_room(url: str) -> Any:
    """Open the point's room socket and wait for its welcome; kept open (closing it
    leaves the media)."""
    from websockets.asyncio.client import connect

    ws = await connect(url, max_queue=None, open_timeout=60)
    while json.loads(await ws.recv())["type"] != "welcome":
        pass
    _SOCKETS.append(ws)
    return ws


async def _signal_hoinghi(ws: Any, sdp: str) -> str:
    """Offer on the room socket; the answer. The socket is drained in the background."""
    await ws.send(json.dumps({"type": "offer", "id": "o1", "sdp": sdp}))
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("id") == "o1" and frame["type"] in ("ack", "error"):
            break
    if frame["type"] != "ack":
        raise RuntimeError(f"offer refused: {frame}")
    _TASKS.append(asyncio.get_running_loop().create_task(_drain_socket(ws)))
    return str(frame["answer"]["sdp"])


_SOCKETS: list[Any] = []
_TASKS: list[asyncio.Task[Any]] = []


async def _drain_socket(ws: Any) -> None:
    with contextlib.suppress(Exception):
        async for _ in ws:
            pass


async def _signal_relay(url: str, sdp: str) -> str:
    async with httpx.AsyncClient(timeout=60) as http:
        for _ in range(100):
            reply = await http.post(url, json={"sdp": sdp})
            if reply.status_code != 409:  # the publisher is not there yet
                break
            await asyncio.sleep(0.1)
        reply.raise_for_status()
        return str(reply.json()["sdp"])


def _count_without_decoding(media: Any) -> None:
    """Count complete encoded frames as the receivers reassemble them, in the slots
    MediaClient keeps, instead of decoding them (``--no-decode``)."""
    from rooms.media import aiortc_hooks

    def counter(name: str) -> Any:
        got = media.slots[name]

        def on_frame(codec: Any, frame: Any) -> None:
            now = time.monotonic()
            got.frames += 1
            got.first_at = got.first_at or now
            got.last_at = now

        return on_frame

    for name, transceiver in zip(media.slots, media.pc.getTransceivers(), strict=True):
        aiortc_hooks.tap_encoded_frames(transceiver.receiver, counter(name))


class _CountingQueue:
    """Stands in for a receiver's decoder queue and passes everything on to it, counting
    the complete encoded frames that arrive (decoded or not, later, by aiortc's thread)."""

    def __init__(self, original: Any, counts: list[int]) -> None:
        self._original = original
        self._counts = counts

    def put(self, item: Any) -> None:
        if item is not None:
            self._counts[0] += 1
        self._original.put(item)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._original.get(*args, **kwargs)


def _count_arrivals(media: Any) -> list[int]:
    """A one-element list that counts the main video frames reaching ``media`` before its
    decoder (the same private attribute rooms/media/aiortc_hooks.py taps)."""
    from rooms.media import aiortc_hooks

    counts = [0]
    receiver = media.pc.getTransceivers()[0].receiver
    original = getattr(receiver, aiortc_hooks._DECODER_QUEUE)
    setattr(receiver, aiortc_hooks._DECODER_QUEUE, _CountingQueue(original, counts))
    return counts


async def _join(media: Any, target: str, decode: bool = True) -> tuple[float, dict[str, float]]:
    """Join ``target`` (a room socket URL, or the relay's) and offer ``media``'s connection:
    the monotonic time the offer started (after the room's welcome), and seconds taken by
    the steps (``welcome`` before that start; ``offer``, ``answer`` since)."""
    before = time.monotonic()
    ws = await _open_room(target) if target.startswith("ws") else None
    started = time.monotonic()
    marks = {"welcome": started - before}
    sdp = await media.offer()
    marks["offer"] = time.monotonic() - started
    if decode:
        media.bench_arrived = _count_arrivals(media)
    else:
        _count_without_decoding(media)
    if ws is not None:
        answer = await _signal_hoinghi(ws, sdp)
    else:
        answer = await _signal_relay(target, sdp)
    marks["answer"] = time.monotonic() - started
    await media.accept(answer)
    return started, marks


async def _commands(pipe: Connection) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, pipe.recv)


def _camera(picture: str) -> Any:
    """The chair's camera: ColourBars (a flat colour and a moving bar, which VP8 squeezes
    far below its target bitrate), or ``noise``: the same with every pixel's low bits
    random, which no encoder compresses, so the stream runs at the encoder's bitrate like a
    detailed camera picture."""
    import numpy as np

    from rooms.media.client import ColourBars

    class Noisy(ColourBars):
        def __init__(self) -> None:
            super().__init__((40, 110, 160), WIDTH, HEIGHT)
            self._rng = np.random.default_rng(1)
            self._plain = self._base

        async def recv(self) -> Any:
            self._base = self._plain ^ self._rng.integers(0, 32, self._plain.shape, dtype=np.uint8)
            return await super().recv()

    return Noisy() if picture == "noise" else ColourBars((40, 110, 160), WIDTH, HEIGHT)


async def _publisher(target: str, picture: str, pipe: Connection) -> None:
    from rooms.media.client import MediaClient, Tone

    camera = _camera(picture)
    media = MediaClient(camera, Tone(440))
    await _join(media, target)
    async with asyncio.timeout(20):
        while media.pc.connectionState != "connected":  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    pipe.send("ready")
    while await _commands(pipe) != "stop":  # "mark": the frames the camera has given
        pipe.send({"at": time.monotonic(), "frames": camera._count})
    await media.close()
    for ws in _SOCKETS:
        await ws.close()
    pipe.send("done")


async def _subscribers(targets: list[str], decode: bool, pipe: Connection) -> None:
    from rooms.media.client import MediaClient

    clients = [MediaClient() for _ in targets]
    starts: list[float | None] = [None] * len(targets)
    errors: list[str] = []

    async def join(index: int) -> None:
        try:
            starts[index], _ = await _join(clients[index], targets[index], decode)
        except Exception as exc:  # reported, counted as a subscriber with no picture
            errors.append(f"{type(exc).__name__}: {exc}")

    await asyncio.gather(*(join(i) for i in range(len(targets))))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(  # noqa: ASYNC110 - polls the readers' counters
        c.slots["main.video"].frames and c.slots["main.audio"].frames for c in clients
    ):
        await asyncio.sleep(0.05)

    def first(slot: str) -> list[float | None]:
        out: list[float | None] = []
        for client, start in zip(clients, starts, strict=True):
            at = client.slots[slot].first_at
            out.append(None if at is None or start is None else at - start)
        return out

    pipe.send(
        {
            "first_video_s": first("main.video"),
            "first_audio_s": first("main.audio"),
            "errors": errors,
        }
    )
    while (command := await _commands(pipe)) != "stop":
        if isinstance(command, tuple) and command[0] == "late":
            late = MediaClient()
            clients.append(late)  # closed with the others
            pipe.send(await _late_join(late, command[1], decode))
            continue
        assert command == "mark"
        counts = await asyncio.gather(*(_packets(c.pc) for c in clients))
        pipe.send(
            {
                "at": time.monotonic(),
                "video": [c.slots["main.video"].frames for c in clients],
                "arrived": [_arrived(c) for c in clients],
                "audio": [c.slots["main.audio"].frames for c in clients],
                "packets": [received for received, _, _ in counts],
                "video_packets": [video for _, video, _ in counts],
                "lost": [lost for _, _, lost in counts],
            }
        )
    for client in clients:
        await client.close()
    for ws in _SOCKETS:
        await ws.close()
    pipe.send("done")


def _arrived(media: Any) -> int:
    counts = getattr(media, "bench_arrived", None)
    return counts[0] if counts else int(media.slots["main.video"].frames)


async def _late_join(media: Any, target: str, decode: bool) -> dict[str, float | None]:
    """One more subscriber joins while the others receive: seconds from starting its offer
    (once in the room) to its answer, its connection, its first picture (None: not within
    10 s)."""
    started, steps = await _join(media, target, decode)
    marks: dict[str, float | None] = {**steps}
    got = media.slots["main.video"]
    connected = None
    deadline = time.monotonic() + 10
    while got.first_at is None and time.monotonic() < deadline:
        if connected is None and media.pc.connectionState == "connected":
            connected = time.monotonic() - started
        await asyncio.sleep(0.005)
    marks["connected"] = connected
    marks["picture"] = None if got.first_at is None else got.first_at - started
    return marks


async def _packets(pc: Any) -> tuple[int, int, int]:
    """RTP packets received (all, video) and lost so far on a peer connection."""
    received = video = lost = 0
    for stats in (await pc.getStats()).values():
        if stats.type == "inbound-rtp":
            received += stats.packetsReceived
            video += stats.packetsReceived if stats.kind == "video" else 0
            lost += max(0, stats.packetsLost)
    return received, video, lost


def _publisher_process(target: str, picture: str, pipe: Connection) -> None:
    asyncio.run(_publisher(target, picture, pipe))


def _subscriber_process(targets: list[str], decode: bool, pipe: Connection) -> None:
    asyncio.run(_subscribers(targets, decode, pipe))


# --- the orchestrator's side --------------------------------------------------------------


class Clients:
    """Client processes, each with a pipe for commands."""

    def __init__(self, target: Any, argsets: list[tuple[Any, ...]]) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs = []
        for args in argsets:
            ours, theirs = context.Pipe()
            proc = context.Process(target=target, args=(*args, theirs), daemon=True)
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None]

    def receive(self, timeout: float = 60) -> list[Any]:
        out = []
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            if not pipe.poll(timeout):
                raise RuntimeError(f"client process {proc.pid} did not answer")
            out.append(pipe.recv())
        return out

    def ask(self, command: str, timeout: float = 60) -> list[Any]:
        for pipe in self.pipes:
            pipe.send(command)
        return self.receive(timeout)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("stop", timeout=30)
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


def _machine_busy() -> tuple[float, float]:
    """Busy and total jiffies of the whole machine (/proc/stat; guest time is already in
    user time)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:9]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _family(pid: int) -> list[int]:
    """``pid`` and its descendants (the server's media workers, if it started any)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        out.append(current := todo.pop())
        todo.extend(children.get(current, []))
    return out


def _cpu(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            out[pid] = cpu_seconds(pid)
    return out


def _window(seconds: float, server_pid: int, others: list[int]) -> dict[str, float]:
    """CPU used over ``seconds``: the server with any processes it started (percent of one
    core; and its busiest process), the other processes named, and the whole machine."""
    family = _family(server_pid)
    busy0, total0 = _machine_busy()
    server0, others0 = _cpu(family), _cpu(others)
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    busy1, total1 = _machine_busy()
    server1, others1 = _cpu(family), _cpu(others)
    per_process = [100 * (server1[p] - server0[p]) / elapsed for p in server1 if p in server0]
    server = sum(per_process)
    clients = 100 * sum(others1[p] - others0[p] for p in others1 if p in others0) / elapsed
    cores = os.cpu_count() or 1
    machine = 100 * (busy1 - busy0) / max(1, total1 - total0)
    return {
        "server_pct": server,
        "server_busiest_pct": max(per_process, default=0.0),
        "server_processes": len(family),
        "clients_pct": clients,
        "machine_busy_pct": machine,
        # Whatever else ran on the machine meanwhile, in percent of one core.
        "elsewhere_pct": max(0.0, machine * cores - server - clients),
    }


@contextlib.contextmanager
def _publishing(target: str, picture: str) -> Iterator[Clients]:
    publisher = Clients(_publisher_process, [(target, picture)])
    try:
        if publisher.receive(timeout=60) != ["ready"]:
            raise RuntimeError("the publisher did not connect")
        yield publisher
    finally:
        publisher.stop()


def _measure_publisher_alone(
    server_pid: int, publisher: Clients, seconds: float, label: str
) -> float:
    time.sleep(SETTLE_S)
    alone = _window(seconds, server_pid, publisher.pids)
    print(
        f"{label}: publisher alone: server {alone['server_pct']:.1f} % of a core, "
        f"publisher {alone['clients_pct']:.1f} %",
        flush=True,
    )
    return alone["server_pct"]


def _measure_subscribers(
    targets: list[str],
    procs: int,
    server_pid: int,
    publisher: Clients,
    seconds: float,
    alone_pct: float,
    decode: bool,
    late: str | None = None,
) -> dict[str, Any]:
    """N subscribers from ``procs`` client processes, all joining at once: first pictures,
    then one window; then ``late`` joins too (its first picture)."""
    split = [targets[i::procs] for i in range(procs) if targets[i::procs]]
    subs = Clients(_subscriber_process, [(part, decode) for part in split])
    try:
        joined = subs.receive(timeout=90)
        time.sleep(SETTLE_S)
        before, (sent_before,) = subs.ask("mark"), publisher.ask("mark")
        cpu = _window(seconds, server_pid, [*subs.pids, *publisher.pids])
        after, (sent_after,) = subs.ask("mark"), publisher.ask("mark")
        late_marks: dict[str, float | None] = {}
        if late is not None:
            subs.pipes[0].send(("late", late))
            if subs.pipes[0].poll(30):
                late_marks = subs.pipes[0].recv()
    finally:
        subs.stop()
    n = len(targets)
    firsts = [x for j in joined for x in j["first_video_s"]]
    audio_firsts = [x for j in joined for x in j["first_audio_s"]]
    fps, audio_fps, arrival_fps = [], [], []
    for b, a in zip(before, after, strict=True):
        elapsed = a["at"] - b["at"]
        fps += [(v1 - v0) / elapsed for v0, v1 in zip(b["video"], a["video"], strict=True)]
        arrival_fps += [
            (v1 - v0) / elapsed for v0, v1 in zip(b["arrived"], a["arrived"], strict=True)
        ]
        audio_fps += [(v1 - v0) / elapsed for v0, v1 in zip(b["audio"], a["audio"], strict=True)]
    pictures = sorted(x for x in firsts if x is not None)

    def rates(key: str) -> list[float]:
        return [
            (p1 - p0) / (a["at"] - b["at"])
            for b, a in zip(before, after, strict=True)
            for p0, p1 in zip(b[key], a[key], strict=True)
        ]

    packets, video_packets = rates("packets"), rates("video_packets")
    lost = sum(sum(a["lost"]) - sum(b["lost"]) for b, a in zip(before, after, strict=True))
    per_sub = (cpu["server_pct"] - alone_pct) / n
    return {
        "subscribers": n,
        "client_procs": len(split),
        "cpu_pct_per_sub": round(per_sub, 3),
        "server_cpu_pct": round(cpu["server_pct"], 1),
        "server_busiest_process_cpu_pct": round(cpu["server_busiest_pct"], 1),
        "server_processes": cpu["server_processes"],
        "server_cpu_pct_publisher_alone": round(alone_pct, 1),
        "clients_cpu_pct": round(cpu["clients_pct"], 1),
        "machine_busy_pct": round(cpu["machine_busy_pct"], 1),
        "elsewhere_cpu_pct": round(cpu["elsewhere_pct"], 1),
        "packets_per_s_per_sub": round(sum(packets) / n, 1),
        "video_packets_per_s_per_sub": round(sum(video_packets) / n, 1),
        "packets_lost": lost,
        "publisher_fps": round(
            (sent_after["frames"] - sent_before["frames"]) / (sent_after["at"] - sent_before["at"]),
            2,
        ),
        "fps_min": round(min(fps), 2),
        "fps_mean": round(sum(fps) / n, 2),
        "arrival_fps_min": round(min(arrival_fps), 2),
        "audio_fps_min": round(min(audio_fps), 2),
        "first_frame_s_max": round(max(pictures), 3) if len(pictures) == n else None,
        "first_frame_s_p50": round(percentile(pictures, 0.5), 3) if pictures else None,
        **{
            f"late_{key}": _rounded(late_marks.get(mark))
            for key, mark in (
                ("first_frame_s", "picture"),
                ("welcome_s", "welcome"),
                ("offer_s", "offer"),
                ("answer_s", "answer"),
                ("connected_s", "connected"),
            )
        },
        "no_picture": n - len(pictures),
        "no_sound": sum(1 for x in audio_firsts if x is None),
        "errors": [e for j in joined for e in j["errors"]][:3],
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _shortfall(result: dict[str, Any]) -> str | None:
    """Why this N is not sustained (None: it is)."""
    if result["no_picture"]:
        return f"{result['no_picture']} subscribers without a picture"
    if result["fps_min"] < FPS_TARGET:
        return f"a subscriber at {result['fps_min']} fps"
    late = result["late_first_frame_s"]
    if late is None or late >= FIRST_FRAME_TARGET_S:
        return f"a late joiner's first picture after {late} s"
    if result["server_busiest_process_cpu_pct"] >= SATURATED_PCT:
        return f"a server process at {result['server_busiest_process_cpu_pct']} % of a core"
    return None


def _show(label: str, result: dict[str, Any]) -> None:
    print(
        f"{label}, N={result['subscribers']}: server {result['server_cpu_pct']} % of a core "
        f"({result['cpu_pct_per_sub']} % per subscriber), fps min {result['fps_min']} "
        f"mean {result['fps_mean']} (arriving: min {result['arrival_fps_min']}; "
        f"the chair's camera gave {result['publisher_fps']}), "
        f"first picture max {result['first_frame_s_max']} s "
        f"(a late joiner {result['late_first_frame_s']} s: offer {result['late_offer_s']}, "
        f"answer {result['late_answer_s']}, connected {result['late_connected_s']}; "
        f"its room welcome took {result['late_welcome_s']} s before), "
        f"{result['packets_per_s_per_sub']} packets/s each "
        f"({result['video_packets_per_s_per_sub']} video); machine "
        f"{result['machine_busy_pct']} % busy, {result['elsewhere_cpu_pct']} % of a core "
        "used outside the benchmark",
        flush=True,
    )
    if result["elsewhere_cpu_pct"] > SHARED_PCT:
        print(
            "  note: other processes took a share of this machine during the window; frame "
            "rates and waits are not the server's alone",
            flush=True,
        )


# --- phases --------------------------------------------------------------------------------


def _hoinghi_phase(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    points = (args.max_n if args.max_search else args.subscribers) + 1  # + a late joiner
    env = {**BENCH_ENV, "HOINGHI_MEDIA_WORKERS": str(args.media_workers)}
    with hoinghi_server(env) as server:
        mid, tokens, chair_token = _setup(
            server.url, server.data_dir, server.passwords["admin"], points
        )
        room = f"{server.ws}/ws/meetings/{mid}"
        targets = [f"{room}?token={t}" for t in tokens]
        with _publishing(f"{room}?token={chair_token}", args.picture) as publisher:
            alone = _measure_publisher_alone(server.pid, publisher, args.seconds, "hoinghi")
            main = _measure_subscribers(
                targets[: args.subscribers],
                args.procs,
                server.pid,
                publisher,
                args.seconds,
                alone,
                args.decode,
                late=targets[args.subscribers],
            )
            _show("hoinghi", main)
            figures.update(main)
            if args.max_search:
                figures.update(_search(args, targets, server.pid, publisher, alone, main))
    return figures


def _search(
    args: argparse.Namespace,
    targets: list[str],
    server_pid: int,
    publisher: Clients,
    alone: float,
    main: dict[str, Any],
) -> dict[str, Any]:
    limit = _shortfall(main)
    largest = 0 if limit else main["subscribers"]
    steps: list[dict[str, Any]] = []
    n = args.subscribers
    while not limit:
        n += args.step
        if n > args.max_n:
            break
        procs = max(args.procs, math.ceil(n / args.per_proc))
        result = _measure_subscribers(
            targets[:n],
            procs,
            server_pid,
            publisher,
            args.seconds,
            alone,
            args.decode,
            late=targets[n],
        )
        _show("hoinghi search", result)
        steps.append(
            {
                k: result[k]
                for k in (
                    "subscribers",
                    "cpu_pct_per_sub",
                    "server_cpu_pct",
                    "fps_min",
                    "video_packets_per_s_per_sub",
                    "first_frame_s_max",
                    "late_first_frame_s",
                    "machine_busy_pct",
                    "elsewhere_cpu_pct",
                )
            }
        )
        limit = _shortfall(result)
        if limit:
            break
        largest = n
    limit = limit or f"--max-n {args.max_n} reached"
    print(f"largest N sustained: {largest} (then {limit})", flush=True)
    return {"largest_sustained_n": largest, "search_stopped_by": limit, "search": steps}


def _relay_phase(args: argparse.Namespace, sizes: list[int]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    runs = []
    with (
        uvicorn_app("bench.relay_baseline:app", probe="/healthz") as (url, pid),
        _publishing(f"{url}/publish", args.picture) as publisher,
    ):
        alone = _measure_publisher_alone(pid, publisher, args.relay_seconds, "MediaRelay")
        for n in sizes:
            result = _measure_subscribers(
                [f"{url}/subscribe"] * n,
                min(args.procs, n),
                pid,
                publisher,
                args.relay_seconds,
                alone,
                args.decode,
                late=f"{url}/subscribe",
            )
            _show("MediaRelay", result)
            runs.append(result)
            # The closed subscribers' connections must be gone before the next size.
            deadline = time.time() + 10
            while httpx.get(f"{url}/healthz").json()["peers"] > 1 and time.time() < deadline:
                time.sleep(0.1)
    last = runs[-1]
    figures["relay_subscribers"] = last["subscribers"]
    figures["relay_cpu_pct_per_sub"] = last["cpu_pct_per_sub"]
    for run in runs:
        n = run["subscribers"]
        for key in (
            "cpu_pct_per_sub",
            "server_cpu_pct",
            "fps_min",
            "first_frame_s_max",
            "late_first_frame_s",
        ):
            figures[f"relay_n{n}_{key}"] = run[key]
    figures["relay_server_cpu_pct_publisher_alone"] = last["server_cpu_pct_publisher_alone"]
    return figures


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    figures: dict[str, Any] = {
        "width": WIDTH,
        "height": HEIGHT,
        "picture": args.picture,
        "media_workers": args.media_workers,
        "decode": args.decode,
        "window_s": args.seconds,
    }
    figures.update(_hoinghi_phase(args))
    sizes = [int(x) for x in args.relay_subscribers.split(",") if x.strip()]
    if sizes:
        figures.update(_relay_phase(args, sizes))
        ours = max(figures["cpu_pct_per_sub"], 1e-3)
        figures["relay_vs_hoinghi_cpu_ratio"] = round(figures["relay_cpu_pct_per_sub"] / ours, 1)
    figures["elapsed_s"] = round(time.monotonic() - started, 1)
    first, late = figures["first_frame_s_max"], figures["late_first_frame_s"]
    figures["targets"] = {
        "cpu_pct_per_sub_at_most_1": figures["cpu_pct_per_sub"] <= CPU_PCT_PER_SUB_TARGET,
        "10x_cheaper_than_relay": figures.get("relay_vs_hoinghi_cpu_ratio", 0)
        >= RELAY_RATIO_TARGET,
        "fps_min_at_least_29": figures["fps_min"] >= FPS_TARGET,
        "first_frame_under_1s": first is not None and first < FIRST_FRAME_TARGET_S,
        "late_first_frame_under_1s": late is not None and late < FIRST_FRAME_TARGET_S,
    }
    return figures
