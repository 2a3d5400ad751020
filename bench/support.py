"""Pieces the benchmarks share: a real server process, load from client processes, stats."""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


@dataclass
class ServerProcess:
    url: str
    data_dir: Path
    passwords: dict[str, str]
    pid: int

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    """``pid`` and its descendants (processes a server started: paper or media workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        out.append(current := todo.pop())
        todo.extend(children.get(current, []))
    return out


def family_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds so far of ``pid`` and of each of its living descendants, by pid."""
    out = {}
    for member in family(pid):
        with suppress(OSError):
            out[member] = cpu_seconds(member)
    return out


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two ``family_cpu_seconds``: processes started since count from 0
    (ones that ended in between are not counted)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def machine_cpu_seconds() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - fields[3] - fields[4]) / tick, sum(fields) / tick


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def hoinghi_server(
    extra_env: dict[str, str] | None = None,
    data_dir: Path | None = None,
    output: Callable[[str], None] | None = None,
) -> Iterator[ServerProcess]:
    """`hoinghi serve` as users start it: on a fresh data dir (demo province seeded), or on
    ``data_dir`` again. ``output``, if given, gets each line the server prints after it
    started (its log); otherwise they are dropped."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="hoinghi-bench-") as fresh:
        tmp = str(data_dir or fresh)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HOINGHI_")},
            "HOINGHI_DATA_DIR": tmp,
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        command = [sys.executable, "-m", "server", "serve", "--port", str(port)]
        with subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as process:
            try:
                passwords = _read_start(process, output)
                url = f"http://127.0.0.1:{port}"
                _wait_healthy(url)
                yield ServerProcess(url, Path(tmp), passwords, process.pid)
            finally:
                _stop(process)


def _read_start(
    process: subprocess.Popen[str], output: Callable[[str], None] | None = None
) -> dict[str, str]:
    assert process.stdout is not None
    passwords: dict[str, str] = {}
    pins = False  # the demo's signing PINs follow the passwords, in the same form
    for line in process.stdout:
        if line.startswith("demo signing PINs"):
            pins = True
        elif line.startswith("  ") and len(line.split()) == 2:
            user, secret = line.split()
            passwords[f"pin:{user}" if pins else user] = secret
        if line.startswith("Open"):
            break
    else:
        raise RuntimeError("server exited before it started")
    stdout = process.stdout
    if output is None:
        threading.Thread(target=stdout.read, daemon=True).start()
    else:
        threading.Thread(target=lambda: [output(line) for line in stdout], daemon=True).start()
    return passwords


def _wait_healthy(url: str, probe: str = "/healthz", any_answer: bool = False) -> None:
    """Until ``url + probe`` answers 200 (or anything, with ``any_answer``)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{url}{probe}")
            if any_answer or answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _stop(process: subprocess.Popen[Any]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def latency_figures(
    prefix: str, latencies_s: list[float], seconds: float, errors: int
) -> dict[str, float]:
    values = sorted(latencies_s)
    return {
        f"{prefix}_requests": len(values),
        f"{prefix}_errors": errors,
        f"{prefix}_rps": round(len(values) / seconds, 1) if seconds else 0.0,
        f"{prefix}_p50_ms": round(percentile(values, 0.50) * 1000, 2),
        f"{prefix}_p99_ms": round(percentile(values, 0.99) * 1000, 2),
    }


@contextmanager
def uvicorn_app(app: str, *options: str, probe: str = "/") -> Iterator[tuple[str, int]]:
    """A baseline ASGI app (``module:attribute``) served by uvicorn in its own process:
    its base URL and pid once it answers ``probe``."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen([*command, *options])
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, probe, any_answer=True)
        yield url, process.pid
    finally:
        _stop(process)
