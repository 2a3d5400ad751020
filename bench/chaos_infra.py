"""What `python -m bench chaos` runs on and breaks: its own PostgreSQL database, its own
Redis (a child process), and `hoinghi serve` processes that can be killed and restarted."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

from bench.support import _read_start, _wait_healthy, free_port

# --- the database ------------------------------------------------------------------------


async def create_database(server: str) -> str:
    """A new, empty database ``hoinghi_chaos_<random>`` on ``server``; its name."""
    import asyncpg

    name = f"hoinghi_chaos_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(server: str, name: str) -> None:
    import asyncpg

    assert name.startswith("hoinghi_chaos_"), name  # never anyone else's database
    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# --- Redis: a child process on a port of its own -------------------------------------------


class RedisChild:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] = open(workdir / "redis.log", "ab")  # noqa: SIM115

    def start(self) -> None:
        """Start redis-server (on the same port every time) and wait until it answers."""
        import redis

        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        command += ["--dir", str(self.workdir)]
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.process.returncode})")
            try:
                if redis.Redis.from_url(self.url, socket_timeout=1).ping():
                    return
            except redis.RedisError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer")

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(how)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        self._log.close()


# --- hoinghi serve -----------------------------------------------------------------------


class Server:
    """One `hoinghi serve` process; killed with SIGKILL, started again on the same port."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}"
        self.data_dir = workdir / f"data-{name}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HOINGHI_")},
            "HOINGHI_DATA_DIR": str(self.data_dir),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.log_path = workdir / f"server-{name}.log"
        self.process: subprocess.Popen[str] | None = None
        self.starts = 0
        self.pids: dict[int, str] = {}  # every process it has been: pid -> "a#2"
        self.lines: Counter[str] = Counter()  # "error", "traceback" lines in its log

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, seed_demo: bool) -> dict[str, str]:
        """Start and wait until ready; the demo passwords it printed (first start only)."""
        env = {**self.env, "HOINGHI_SEED_DEMO": "true" if seed_demo else "false"}
        command = [sys.executable, "-m", "server", "serve", "--port", str(self.port)]
        log = open(self.log_path, "a")  # noqa: SIM115 (closed by the reader thread's end)
        self.starts += 1
        log.write(f"--- start {self.starts} at {time.strftime('%H:%M:%S')}\n")
        log.flush()

        def output(line: str) -> None:
            if " ERROR " in line:
                self.lines["error"] += 1
            if line.startswith("Traceback"):
                self.lines["traceback"] += 1
            log.write(line)

        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.pids[self.process.pid] = f"{self.name}#{self.starts}"
        passwords = _read_start(self.process, output)
        _wait_healthy(self.url, "/readyz")
        return passwords

    def kill(self) -> None:
        """kill -9: no shutdown, leases not released, every socket cut."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- the faults --------------------------------------------------------------------------------


class Faults:
    """Server and Redis faults, drawn from the seed before the run (times in seconds from the
    start of the chaos), and the record of every fault injected (client drops included)."""

    KINDS = ("drops", "kill", "redis")

    def __init__(
        self,
        kinds: set[str],
        seed: int,
        seconds: float,
        servers: list[Server],
        redis: RedisChild,
        meeting_id: int,
    ) -> None:
        rng = random.Random(f"{seed}:faults")
        self.servers, self.redis, self.meeting_id = servers, redis, meeting_id
        self.kill_at = rng.uniform(0.2, 0.4) * seconds if "kill" in kinds else None
        self.victim = rng.choice(servers)
        self.kill_down = rng.uniform(2, 6)
        self.redis_at = rng.uniform(0.6, 0.85) * seconds if "redis" in kinds else None
        self.redis_signal = rng.choice((signal.SIGTERM, signal.SIGKILL))
        self.redis_down = rng.uniform(1, 3)
        self.t0 = 0.0
        self.log: list[dict[str, Any]] = []

    def plan(self) -> str:
        parts = []
        if self.kill_at is not None:
            parts.append(
                f"SIGKILL server {self.victim.name} at {self.kill_at:.1f} s, "
                f"restart {self.kill_down:.1f} s later"
            )
        if self.redis_at is not None:
            parts.append(
                f"stop Redis ({self.redis_signal.name}) at {self.redis_at:.1f} s, "
                f"start it {self.redis_down:.1f} s later"
            )
        return "; ".join(parts) or "no server or Redis faults"

    def record(self, kind: str, **details: Any) -> None:
        at = time.time()
        self.log.append({"kind": kind, "at": at, **details})
        if kind != "client_drop":
            shown = " ".join(f"{k}={v}" for k, v in details.items())
            print(f"[{at - self.t0:6.1f} s] {kind} {shown}", flush=True)

    async def _sleep_until(self, at: float) -> None:
        await asyncio.sleep(max(0.0, self.t0 + at - time.time()))

    async def run(self) -> None:
        tasks = []
        if self.kill_at is not None:
            tasks.append(self._kill_a_server(self.kill_at))
        if self.redis_at is not None:
            tasks.append(self._restart_redis(self.redis_at))
        await asyncio.gather(*tasks)

    async def _kill_a_server(self, at: float) -> None:
        await self._sleep_until(at)
        victim = self.victim
        owner = await asyncio.to_thread(self._owner_pid)
        pid = victim.pid
        await asyncio.to_thread(victim.kill)
        self.record(
            "server_kill", server=victim.name, pid=pid, owned_the_room=owner == pid,
            down_s=round(self.kill_down, 1),
        )  # fmt: skip
        await asyncio.sleep(self.kill_down)
        await asyncio.to_thread(victim.start, False)
        self.record("server_restarted", server=victim.name, pid=victim.pid)

    async def _restart_redis(self, at: float) -> None:
        await self._sleep_until(at)
        await asyncio.to_thread(self.redis.stop, self.redis_signal)
        self.record(
            "redis_restart", signal=self.redis_signal.name, down_s=round(self.redis_down, 1)
        )
        await asyncio.sleep(self.redis_down)
        await asyncio.to_thread(self.redis.start)
        self.record("redis_started")

    def _owner_pid(self) -> int | None:
        import redis

        with redis.Redis.from_url(self.redis.url, socket_timeout=2) as client:
            value = client.get(f"chaos:room:{self.meeting_id}:owner")
        return int(value.decode().split("-")[-2]) if value else None

    def servers_up(self) -> bool:
        return all(s.process is not None and s.process.poll() is None for s in self.servers)
