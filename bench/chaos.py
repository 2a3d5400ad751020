"""Load with faults: a live meeting of N points on two server processes + Redis, while
clients drop, a server process is killed and restarted, and Redis is restarted.

Its own PostgreSQL database (created, dropped at the end) and its own redis-server (a child
process on a free port). Two `hoinghi serve` share both; the chair joins through the first
(which then owns the room), the points through both, from client processes. Then, for
``--seconds``, with faults drawn from ``--seed``:

- every client (the chair too) drops now and then, a clean close or a cut socket, and comes
  back after a pause with ``resume_from``, to the same server or the other;
- one server process is killed with SIGKILL and started again a few seconds later;
- Redis is stopped (SIGTERM or SIGKILL) and started again on the same port;

while the room works: the chair grants, revokes and passes the floor (timed floors lapse),
points raise hands, a roll call that every point answers, a poll that every point votes in
(a ballot not answered before a drop is sent again, same command id, after the reconnect).
At the end the chair closes the poll and says a marker everyone waits for; then every
client's events (merged over its connections) must equal the log's events addressed to it,
every ballot be counted once, every point have answered the roll call and be recorded as
attended, and the room's view of who is connected be true: a connection recorded as lost
only if its process was killed, every client (all connected at the marker) in the room.
Anything lost makes the run fail (exit status 1). ``--faults`` picks the kinds of fault.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import chaos_check
from bench.chaos_client import MARKER, Member
from bench.chaos_infra import Faults, RedisChild, Server, create_database, drop_database
from bench.chaos_points import point_process

BENCH_ENV = {"HOINGHI_WS_MESSAGES_PER_SECOND": "1000", "HOINGHI_WS_BURST": "1000"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--points", type=int, default=200, help="points in the meeting")
    parser.add_argument("--seconds", type=float, default=75, help="how long the chaos lasts")
    parser.add_argument("--seed", type=int, default=1, help="draws the faults and the work")
    parser.add_argument("--procs", type=int, default=2, help="client processes for the points")
    parser.add_argument(
        "--drop-every", type=float, default=30, help="mean seconds between two drops of a client"
    )
    parser.add_argument("--max-pause", type=float, default=4, help="longest pause after a drop")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server for the DB"
    )
    parser.add_argument(
        "--faults",
        default="drops,kill,redis",
        help="which faults: drops (clients), kill (a server), redis (a restart)",
    )
    parser.add_argument("--keep-logs", default="", help="keep the servers' and Redis' logs here")


def run(args: argparse.Namespace) -> dict[str, Any]:
    kinds = {k.strip() for k in args.faults.split(",") if k.strip()}
    if not kinds <= set(Faults.KINDS):
        raise SystemExit(f"--faults: choose from {', '.join(Faults.KINDS)}")
    started = time.monotonic()
    workdir = Path(args.keep_logs or tempfile.mkdtemp(prefix="hoinghi-chaos-"))
    workdir.mkdir(parents=True, exist_ok=True)
    database = asyncio.run(create_database(args.postgres))
    url = f"{args.postgres.replace('postgresql://', 'postgresql+asyncpg://')}/{database}"
    print(f"database {database}, logs in {workdir}", flush=True)
    redis = RedisChild(workdir)
    servers: list[Server] = []
    try:
        redis.start()
        env = {
            **BENCH_ENV,
            "HOINGHI_DATABASE_URL": url,
            "HOINGHI_REDIS_URL": redis.url,
            "HOINGHI_REDIS_PREFIX": "chaos",
            "HOINGHI_SECRET_KEY": os.urandom(24).hex(),
        }
        servers = [Server("a", env, workdir), Server("b", env, workdir)]
        passwords = servers[0].start(seed_demo=True)  # migrates and seeds; then b
        servers[1].start(seed_demo=False)
        os.environ["HOINGHI_DATABASE_URL"] = url  # bench.signaling makes the points there
        from bench.signaling import _setup

        mid, tokens, chair_token = _setup(
            servers[0].url, servers[0].data_dir, passwords["admin"], args.points
        )
        setup_s = time.monotonic() - started
        print(f"meeting {mid} live with {args.points} points ({setup_s:.1f} s)", flush=True)
        faults = Faults(kinds, args.seed, args.seconds, servers, redis, mid)
        chaos = Chaos(args, kinds, faults, servers, mid, tokens, chair_token, url)
        figures = asyncio.run(chaos.run())
        figures["setup_s"] = round(setup_s, 1)
        figures["server_log_errors"] = sum(s.lines["error"] for s in servers)
        figures["server_log_tracebacks"] = sum(s.lines["traceback"] for s in servers)
    finally:
        for server in servers:
            server.stop()
        redis.close()
        asyncio.run(drop_database(args.postgres, database))
        if not args.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)
    figures["total_s"] = round(time.monotonic() - started, 1)
    return figures


class Chaos:
    def __init__(
        self,
        args: argparse.Namespace,
        kinds: set[str],
        faults: Faults,
        servers: list[Server],
        meeting_id: int,
        tokens: list[str],
        chair_token: str,
        database_url: str,
    ) -> None:
        self.args = args
        self.kinds = kinds
        self.faults = faults
        self.servers = servers
        self.meeting_id = meeting_id
        self.tokens = tokens
        self.database_url = database_url
        self.chair_token = chair_token
        self.n = len(tokens)
        self.rng = random.Random(f"{args.seed}:chair")
        self.urls = [s.ws for s in servers]
        self.chair = Member(
            chair_token, self.urls, meeting_id, random.Random(f"{args.seed}:chair-member"),
            home=0, on_event=self._chair_event,
        )  # fmt: skip
        self.t0 = 0.0
        self.present: set[str] = set()
        self.voted: set[str] = set()
        self.poll_number: int | None = None
        self.chair_errors: Counter[str] = Counter()
        self.chair_stop = False

    # --- the chair ----------------------------------------------------------------------

    def _chair_event(self, frame: dict[str, Any]) -> None:
        kind, data = frame["event"], frame["data"]
        if kind == "member.joined" and data["kind"] == "point":
            self.present.add(data["key"])
        elif kind == "member.left" and data.get("last"):
            self.present.discard(data["key"])
        elif kind == "poll.opened":
            self.poll_number = data["number"]
        elif kind == "poll.voted":
            self.voted.add(data["key"])

    async def _say(self, kind: str, within: float = 90, **fields: Any) -> dict[str, Any]:
        reply = await asyncio.wait_for(self.chair.command(kind, **fields), within)
        if reply["type"] == "error":
            self.chair_errors[f"{kind}:{reply['code']}"] += 1
        return reply

    async def _floor(self) -> None:
        """The chair runs the floor: grants (some timed, to lapse), passes it on, revokes."""
        while True:
            await asyncio.sleep(self.rng.uniform(1.0, 3.0))
            roll = self.rng.random()
            with _tolerated():
                if roll < 0.5 and self.present:
                    target = self.rng.choice(sorted(self.present))
                    seconds = self.rng.choice((None, None, 10))
                    extra = {"seconds": seconds} if seconds else {}
                    await self._say("grant_floor", target=target, **extra)
                elif roll < 0.8:
                    await self._say("next_floor")
                else:
                    await self._say("revoke_floor")

    async def _chair_drops(self) -> None:
        rng = random.Random(f"{self.args.seed}:chair-drops")
        while not self.chair_stop:
            await asyncio.sleep(rng.expovariate(1 / (2 * self.args.drop_every)))
            how, pause = rng.choice(("close", "abort")), rng.uniform(0.2, 2.0)
            if not self.chair_stop and not self.shared["calm"].is_set() and self.chair.attached:
                self.faults.record("client_drop", how=how, target="chair", pause_s=round(pause, 2))
                await self.chair.drop(how, pause)

    # --- the run ------------------------------------------------------------------------

    async def _sleep_until(self, at: float) -> None:
        await asyncio.sleep(max(0.0, self.t0 + at - time.time()))

    async def _until(self, done: Any, within: float, what: str) -> bool:
        deadline = time.monotonic() + within
        while not done():
            if time.monotonic() > deadline:
                print(f"gave up waiting for {what} after {within:.0f} s", flush=True)
                return False
            await asyncio.sleep(0.2)
        return True

    def _all(self, flag: str) -> bool:
        return sum(self.shared[flag]) == self.n

    async def run(self) -> dict[str, Any]:
        args, seconds = self.args, self.args.seconds
        context = multiprocessing.get_context("spawn")
        self.shared = {
            "attached": context.Array("b", self.n, lock=False),
            "answered": context.Array("b", self.n, lock=False),
            "voted": context.Array("b", self.n, lock=False),
            "go": context.Event(),
            "calm": context.Event(),
            "stop": context.Event(),
        }
        out = context.Queue()
        config = {
            "urls": self.urls,
            "meeting_id": self.meeting_id,
            "seed": args.seed,
            "drop_every": args.drop_every if "drops" in self.kinds else 1e9,
            "pause": (0.2, args.max_pause),
            "hand_every": 40.0,
            "answer_spread": 0.2 * seconds,
            "vote_spread": 0.25 * seconds,
            "settle_timeout": 180.0,
        }
        chair_task = asyncio.create_task(self.chair.run())
        await asyncio.wait_for(self.chair.attached_again(), 60)  # first: the first server owns
        indexed = list(enumerate(self.tokens))
        procs = [
            context.Process(
                target=point_process,
                args=(indexed[i :: args.procs], config, self.shared, out),
                daemon=True,  # gone with this process if the run fails
            )
            for i in range(args.procs)
        ]
        joining = time.monotonic()
        for proc in procs:
            proc.start()
        await self._until(lambda: self._all("attached"), 300, "every point to join")
        join_s = time.monotonic() - joining
        print(f"{self.n} points in the room ({join_s:.1f} s); {seconds:.0f} s of chaos", flush=True)
        print(f"faults planned: {self.faults.plan()}", flush=True)

        self.t0 = self.faults.t0 = time.time()
        self.shared["go"].set()
        floor = asyncio.create_task(self._floor())
        chair_drops = asyncio.create_task(self._chair_drops()) if "drops" in self.kinds else None
        faults = asyncio.create_task(self.faults.run())
        await self._sleep_until(0.15 * seconds)
        with _tolerated():
            await self._say("open_roll_call")
        await self._sleep_until(0.5 * seconds)
        poll_opened_at = await self._open_poll()
        await self._sleep_until(seconds)

        # Settle: no more drops; servers and Redis back; every ballot and answer in.
        settling = time.monotonic()
        self.shared["stop"].set()
        self.chair_stop = True
        if chair_drops is not None:
            chair_drops.cancel()
        await faults
        await self._until(lambda: self._all("attached") and self.chair.attached, 120, "rejoins")
        await self._until(
            lambda: self._all("voted") and self._all("answered") and len(self.voted) >= self.n,
            120,
            "every ballot and roll-call answer",
        )
        floor.cancel()
        with _tolerated():
            await self._say("close_roll_call")
        if self.poll_number is not None:
            with _tolerated():
                await self._say("close_poll", poll=self.poll_number)
        marker = await self._say("chat", text=MARKER, to="all")
        records = [await asyncio.to_thread(out.get, True, 300) for _ in procs]
        settle_s = time.monotonic() - settling
        chair_record = self.chair.record()
        await self.chair.finish()
        chair_task.cancel()
        for proc in procs:
            await asyncio.to_thread(proc.join, 30)
        return await self._check(
            [r for batch in records for r in batch], chair_record, marker.get("seq"),
            {"join_s": join_s, "settle_s": settle_s, "poll_opened_at_s": poll_opened_at},
        )  # fmt: skip

    async def _open_poll(self) -> float | None:
        """Calm (no drops) until every point is back in the room, then open the poll: every
        point is eligible. The drops start again as soon as it is open."""
        self.shared["calm"].set()
        try:
            await self._until(
                lambda: self._all("attached") and self.chair.attached and self.faults.servers_up(),
                120,
                "every point back before the poll",
            )
            await asyncio.sleep(0.5)
            with _tolerated():
                await self._say("open_poll", question="Thông qua nghị quyết thử nghiệm?")
            return round(time.time() - self.t0, 1)
        finally:
            self.shared["calm"].clear()

    async def _check(
        self,
        points: list[dict[str, Any]],
        chair: dict[str, Any],
        marker_seq: int | None,
        durations: dict[str, Any],
    ) -> dict[str, Any]:
        checking = time.monotonic()
        faults = self.faults.log
        for record in points:
            for at, how, pause in record["drops"]:
                faults.append(
                    {"kind": "client_drop", "at": at, "how": how, "target": record["key"],
                     "pause_s": round(pause, 2)}
                )  # fmt: skip
        log = await chaos_check.read_log(self.database_url, self.meeting_id)
        seqs = [e.seq for e in log]
        records = [chair, *points]
        figures: dict[str, Any] = {
            "points": self.n,
            "seconds": self.args.seconds,
            "seed": self.args.seed,
            "fault_kinds": sorted(self.kinds),
            **chaos_check.faults_summary(faults, self.t0),
            "server_faults": [
                {k: (round(v - self.t0, 1) if k == "at" else v) for k, v in f.items()}
                for f in faults
                if f["kind"] != "client_drop"
            ],
            "events_persisted": len(log),
            "log_contiguous": seqs == list(range(1, len(seqs) + 1)),
            "marker_seq": marker_seq,
            **chaos_check.connections(records),
            "chair_errors": dict(self.chair_errors),
        }
        notes: list[str] = []
        if marker_seq is None:
            notes.append("the chair's marker was not acknowledged")
            marker_seq = seqs[-1] if seqs else 0
        logs, more = chaos_check.event_logs(records, log, marker_seq, faults)
        figures.update(logs)
        notes += more
        ballots, more = chaos_check.poll(points, log, self.poll_number)
        figures.update(ballots)
        notes += more
        figures.update(chaos_check.roll_call(points, log))
        processes = {pid: name for s in self.servers for pid, name in s.pids.items()}
        killed = {f["pid"] for f in faults if f["kind"] == "server_kill"}
        keys = [r["key"] for r in records if r["base_seq"] is not None]
        present, more = chaos_check.presence(log, marker_seq, keys, processes, killed, faults)
        figures.update(present)
        notes += more
        await asyncio.sleep(2)  # the servers write attendance once a second
        figures.update(
            await chaos_check.attendance(
                self.database_url, self.meeting_id, self.servers[0].url, self.chair_token, self.n
            )
        )
        figures["join_s"] = round(durations["join_s"], 1)
        figures["poll_opened_at_s"] = durations["poll_opened_at_s"]
        figures["settle_s"] = round(durations["settle_s"], 1)
        figures["check_s"] = round(time.monotonic() - checking, 1)
        figures["ok"] = bool(
            figures["log_contiguous"]
            and figures["mismatches"] == 0
            and figures["clients_checked"] == self.n + 1
            and figures["poll_ok"]
            and figures["roll_call_ok"]
            and figures["attendance_ok"]
            and figures["member_left_lost_of_live_processes"] == 0
            and figures["clients_absent_at_marker"] == 0
        )
        for note in notes:
            print(f"! {note}", flush=True)
        return figures


class _tolerated:
    """The chair's commands may time out while its server is down: the run goes on (what
    was lost shows in the checks)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool:
        if isinstance(value, TimeoutError):
            print(f"a chair command timed out: {value!r}", flush=True)
            return True
        return False
