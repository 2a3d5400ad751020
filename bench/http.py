"""HTTP API: sign-in and the conference-point list against a live server on SQLite.

The server is started the README's way (one process, SQLite, demo province); the load
comes from separate client processes so client CPU does not count against the server.
Baseline in the same run: GET /healthz, the cheapest round trip through the same stack.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from typing import Any

import httpx

from bench.support import hoinghi_server, latency_figures

# "mixed" is the morning rush: half the clients sign in while the other half load the
# network page; it shows whether password hashing starves everything else.
PHASES = ("healthz", "login", "points", "mixed")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=8, help="length of each phase")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight per client")


async def _load(
    url: str, phase: str, seconds: float, concurrency: int, password: str
) -> dict[str, tuple[list[float], int]]:
    results: dict[str, tuple[list[float], int]] = {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        login_body = {"username": "admin", "password": password}
        token = (await client.post("/api/auth/login", json=login_body)).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        client.cookies.clear()

        async def one(kind: str) -> httpx.Response:
            if kind == "healthz":
                return await client.get("/healthz")
            if kind == "login":
                response = await client.post("/api/auth/login", json=login_body)
                client.cookies.clear()
                return response
            return await client.get("/api/points", headers=auth)

        async def worker(kind: str, stop_at: float) -> None:
            latencies, errors = results.setdefault(kind, ([], 0))
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                response = await one(kind)
                elapsed = time.perf_counter() - started
                if response.status_code == 200:
                    latencies.append(elapsed)
                else:
                    errors += 1
            results[kind] = (latencies, errors)

        if phase == "mixed":
            kinds = ["login" if i % 2 == 0 else "points" for i in range(concurrency)]
        else:
            kinds = [phase] * concurrency
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(worker(kind, stop_at) for kind in kinds))
    return results


def _client_process(
    args: tuple[str, str, float, int, str],
) -> dict[str, tuple[list[float], int]]:
    return asyncio.run(_load(*args))


def run(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "clients": args.clients,
        "concurrency_per_client": args.concurrency,
        "phase_seconds": args.seconds,
        "database": "sqlite",
        "server_workers": 1,
    }
    with hoinghi_server() as server:
        password = server.passwords["admin"]
        context = multiprocessing.get_context("spawn")
        with context.Pool(args.clients) as pool:
            for phase in PHASES:
                job = (server.url, phase, args.seconds, args.concurrency, password)
                results = pool.map(_client_process, [job] * args.clients)
                for kind in sorted({k for r in results for k in r}):
                    name = kind if phase != "mixed" else f"mixed_{kind}"
                    latencies = [x for r in results for x in r.get(kind, ([], 0))[0]]
                    errors = sum(r.get(kind, ([], 0))[1] for r in results)
                    figures.update(latency_figures(name, latencies, args.seconds, errors))
                    print(
                        f"{name}: {figures[name + '_rps']} req/s, "
                        f"p99 {figures[name + '_p99_ms']} ms",
                        flush=True,
                    )
    if figures["healthz_rps"]:
        figures["points_rps_vs_healthz"] = round(figures["points_rps"] / figures["healthz_rps"], 3)
    return figures
