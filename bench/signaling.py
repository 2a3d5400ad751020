"""Room signaling: N points in one live meeting, the chair's events fanned out to all.

Phases, each with the load in separate client processes:

1. hoinghi, one process (SQLite, as the README starts it): N points join (time until every
   one has its welcome), then the chair sends ``--events`` chat messages, ``--interval-ms``
   apart; every point records when each arrived (latency from the chair's send), and the
   server's CPU time over the phase gives deliveries per CPU-second.
2. The floor: a bare Starlette broadcast loop (bench/baseline_app.py), same clients.
3. hoinghi, two processes sharing the meeting through Redis (``--redis``), the points
   split between them, the chair on the first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from bench.support import cpu_seconds, hoinghi_server, percentile, uvicorn_app

# Bench clients pace themselves; the server's flood limit is for people, not this.
BENCH_ENV = {"HOINGHI_WS_MESSAGES_PER_SECOND": "1000", "HOINGHI_WS_BURST": "1000"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=1000, help="points in the meeting")
    parser.add_argument("--events", type=int, default=100, help="chair events to time")
    parser.add_argument("--interval-ms", type=float, default=50, help="between chair events")
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="'' to skip")


# --- client processes -----------------------------------------------------------------


async def _points(
    urls: list[str], started_at: float, events: int, ready: Any, go: Any, out: Any
) -> None:
    """Connect every URL, report when all have their welcome, then time the events."""
    latencies: list[float] = []
    welcomed: list[float] = []
    sockets = []
    limit = asyncio.Semaphore(200)

    async def join(url: str) -> Any:
        async with limit:
            ws = await connect(url, max_queue=None, open_timeout=60)
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "welcome":
                    welcomed.append(time.time() - started_at)
                    return ws

    sockets = await asyncio.gather(*(join(u) for u in urls))
    ready.put(max(welcomed))
    await asyncio.get_running_loop().run_in_executor(None, go.wait)

    async def listen(ws: Any) -> int:
        seen = 0
        while seen < events:
            try:
                raw = await asyncio.wait_for(ws.recv(), 30)
            except TimeoutError:
                break
            arrived = time.time()
            frame = json.loads(raw)
            if frame.get("event") == "chat.sent":
                text = frame["data"]["text"]
                if text.startswith("bench "):
                    latencies.append(arrived - float(text.split()[1]))
                    seen += 1
        return seen

    counts = await asyncio.gather(*(listen(ws) for ws in sockets))
    out.put((latencies, sum(counts)))
    for ws in sockets:
        await ws.close()


def _point_process(
    urls: list[str], started_at: float, events: int, ready: Any, go: Any, out: Any
) -> None:
    asyncio.run(_points(urls, started_at, events, ready, go, out))


async def _chair(url: str, events: int, interval: float, baseline: bool) -> None:
    async with connect(url, max_queue=None) as ws:
        while json.loads(await ws.recv())["type"] != "welcome":
            pass
        for i in range(events):
            frame: dict[str, Any] = {"text": f"bench {time.time()}"}
            if not baseline:
                frame |= {"type": "chat", "id": f"b{i}"}
            await ws.send(json.dumps(frame))
            await asyncio.sleep(interval)
        await asyncio.sleep(1)


def _phase(
    point_urls: list[list[str]],
    chair_url: str,
    args: argparse.Namespace,
    pids: list[int],
    baseline: bool = False,
) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    ready, out, go = context.Queue(), context.Queue(), context.Event()
    join_cpu_before = sum(cpu_seconds(pid) for pid in pids)
    started_at = time.time()
    procs = [
        context.Process(target=_point_process, args=(urls, started_at, args.events, ready, go, out))
        for urls in point_urls
    ]
    for proc in procs:
        proc.start()
    join_all = max(ready.get(timeout=300) for _ in procs)
    join_cpu = sum(cpu_seconds(pid) for pid in pids) - join_cpu_before
    time.sleep(1)  # let the join storm settle before timing
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    go.set()
    asyncio.run(_chair(chair_url, args.events, args.interval_ms / 1000, baseline))
    results = [out.get(timeout=120) for _ in procs]
    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    for proc in procs:
        proc.join(timeout=30)
    latencies = sorted(x for lat, _ in results for x in lat)
    deliveries = sum(count for _, count in results)
    expected = args.events * sum(len(urls) for urls in point_urls)
    return {
        "join_all_s": round(join_all, 3),
        "join_server_cpu_s": round(join_cpu, 3),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "deliveries": deliveries,
        "deliveries_missing": expected - deliveries,
        "server_cpu_s": round(cpu, 3),
        "deliveries_per_cpu_s": round(deliveries / cpu) if cpu else 0,
    }


# --- setting up a meeting with N points --------------------------------------------------


def _setup(url: str, data_dir: Path, admin_password: str, n: int) -> tuple[int, list[str], str]:
    """N points (made here, straight in the server's database), a live meeting, tokens."""
    os.environ["HOINGHI_DATA_DIR"] = str(data_dir)
    tokens = asyncio.run(_make_points(n))
    with httpx.Client(base_url=url, timeout=60) as http:

        def login(user: str, password: str) -> dict[str, str]:
            token = http.post(
                "/api/auth/login", json={"username": user, "password": password}
            ).json()["token"]
            http.cookies.clear()
            return {"Authorization": f"Bearer {token}"}

        admin = login("admin", admin_password)
        chair = http.get("/api/users", params={"role": "chair"}, headers=admin).json()["items"][0]
        unit = next(
            u
            for u in http.get("/api/units", headers=admin).json()[0]["children"]
            if u["code"] == "bench-units"
        )
        starts = time.time()
        meeting = http.post(
            "/api/meetings",
            headers=admin,
            json={
                "title": "Bench",
                "host_unit_id": unit["id"],
                "chair_id": chair["id"],
                "secretary_id": http.get(
                    "/api/users", params={"role": "secretary"}, headers=admin
                ).json()["items"][0]["id"],
                "starts_at": _iso(starts),
                "ends_at": _iso(starts + 7200),
            },
        ).json()
        mid = meeting["id"]
        http.post(
            f"/api/meetings/{mid}/invitations", headers=admin, json={"unit_ids": [unit["id"]]}
        ).raise_for_status()
        http.post(f"/api/meetings/{mid}/schedule", headers=admin).raise_for_status()
        http.patch(
            f"/api/users/{chair['id']}", headers=admin, json={"password": "bench-chair-password"}
        ).raise_for_status()
        chair_auth = login(chair["username"], "bench-chair-password")
        http.post(f"/api/meetings/{mid}/start", headers=chair_auth).raise_for_status()
    return mid, tokens, chair_auth["Authorization"].split()[1]


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat()


async def _make_points(n: int) -> list[str]:
    from server.db import Database
    from server.network.models import Unit, UnitKind
    from server.network.service import create_point, find_unit
    from server.settings import load_settings

    settings = load_settings()
    db = Database(settings.database_url)
    tokens = []
    try:
        async with db.writer() as session:
            province = await find_unit(session, "hoa-son")
            unit = Unit(
                code="bench-units",
                name="Bench",
                kind=UnitKind.COMMUNE,
                parent_id=province.id if province else None,
            )
            session.add(unit)
            await session.flush()
            for i in range(n):
                _, token = await create_point(session, unit, f"Điểm cầu thử {i:04d}")
                tokens.append(token)
            await session.commit()
    finally:
        await db.dispose()
    return tokens


def _split(urls: list[str], parts: int) -> list[list[str]]:
    return [urls[i::parts] for i in range(parts)]


def run(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"n": args.n, "events": args.events, "interval_ms": args.interval_ms}
    with hoinghi_server(BENCH_ENV) as server:
        mid, tokens, chair_token = _setup(
            server.url, server.data_dir, server.passwords["admin"], args.n
        )
        data_dir = server.data_dir
        points = [f"{server.ws}/ws/meetings/{mid}?token={t}" for t in tokens]
        chair = f"{server.ws}/ws/meetings/{mid}?token={chair_token}"
        one = _phase(_split(points, args.procs), chair, args, [server.pid])
        figures.update(one)
        print(f"hoinghi, 1 process: {one}", flush=True)

        with uvicorn_app(
            "bench.baseline_app:app",
            "--ws",
            "websockets-sansio",
            "--ws-per-message-deflate",
            "false",
        ) as (base_url, base_pid):
            base_ws = base_url.replace("http://", "ws://")
            urls = [f"{base_ws}/ws/meetings/1" for _ in range(args.n)]
            floor = _phase(
                _split(urls, args.procs),
                f"{base_ws}/ws/meetings/1",
                args,
                [base_pid],
                baseline=True,
            )
        print(f"baseline: {floor}", flush=True)
        figures.update({f"baseline_{k}": v for k, v in floor.items()})
        keep = Path(str(data_dir) + "-kept")
        if args.redis:
            import shutil

            shutil.copytree(data_dir, keep)  # the one-process server must be gone first
    if args.redis:
        try:
            figures.update(_redis_phase(args, keep, mid, tokens, chair_token))
        finally:
            import shutil

            shutil.rmtree(keep, ignore_errors=True)
    if figures.get("baseline_deliveries_per_cpu_s"):
        figures["vs_baseline_cpu_ratio"] = round(
            figures["baseline_deliveries_per_cpu_s"] / max(1, figures["deliveries_per_cpu_s"]), 2
        )
    figures["targets"] = {
        "join_all_under_2s": figures["join_all_s"] < 2,
        "p99_under_100ms": figures["p99_ms"] < 100,
        "deliveries_per_cpu_s_over_100k": figures["deliveries_per_cpu_s"] >= 100_000,
        "within_2x_of_baseline": figures.get("vs_baseline_cpu_ratio", 0) <= 2,
        "redis_p99_under_150ms": figures.get("redis_p99_ms", 1e9) < 150,
    }
    return figures


def _redis_phase(
    args: argparse.Namespace, data_dir: Path, mid: int, tokens: list[str], chair_token: str
) -> dict[str, Any]:
    import secrets

    env = {
        **BENCH_ENV,
        "HOINGHI_REDIS_URL": args.redis,
        "HOINGHI_REDIS_PREFIX": f"bench-{secrets.token_hex(3)}",
        "HOINGHI_SECRET_KEY": (data_dir / "secret_key").read_text().strip(),
    }
    with ExitStack() as stack:
        a = stack.enter_context(hoinghi_server(env, data_dir=data_dir))
        b = stack.enter_context(hoinghi_server(env, data_dir=data_dir))
        halves = _split(tokens, 2)
        urls = [f"{a.ws}/ws/meetings/{mid}?token={t}" for t in halves[0]]
        urls += [f"{b.ws}/ws/meetings/{mid}?token={t}" for t in halves[1]]
        chair = f"{a.ws}/ws/meetings/{mid}?token={chair_token}"
        two = _phase(_split(urls, args.procs), chair, args, [a.pid, b.pid])
    print(f"hoinghi, 2 processes + Redis: {two}", flush=True)
    return {f"redis_{k}": v for k, v in two.items()}
