"""HTTP API: sign-in and the conference-point list against a live server on SQLite.

The server is started the README's way (one process, SQLite, demo province); the load
comes from separate client processes so client CPU does not count against the server.
Every concurrent worker signs in as its own account, as people do. Baseline in the same
run: GET /healthz, the cheapest round trip through the same stack.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import time
from typing import Any

import httpx

from bench.support import hoinghi_server, latency_figures

# "mixed" is the morning rush: half the workers sign in while the other half load the
# network page; it shows whether password hashing starves everything else.
PHASES = ("healthz", "login", "points", "mixed")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=8, help="length of each phase")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight per client")


Job = tuple[str, str, float, list[str], str]


async def _load(
    url: str, phase: str, seconds: float, usernames: list[str], password: str
) -> dict[str, tuple[list[float], int]]:
    results: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def sign_in(username: str) -> httpx.Response:
            response = await client.post(
                "/api/auth/login", json={"username": username, "password": password}
            )
            client.cookies.clear()
            return response

        async def worker(kind: str, username: str, token: str, stop_at: float) -> None:
            auth = {"Authorization": f"Bearer {token}"}
            latencies = results.setdefault(kind, [])
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                if kind == "healthz":
                    response = await client.get("/healthz")
                elif kind == "login":
                    response = await sign_in(username)
                else:
                    response = await client.get("/api/points", headers=auth)
                elapsed = time.perf_counter() - started
                if response.status_code == 200:
                    latencies.append(elapsed)
                else:
                    errors[kind] = errors.get(kind, 0) + 1

        if phase == "mixed":
            kinds = ["login" if i % 2 == 0 else "points" for i in range(len(usernames))]
        else:
            kinds = [phase] * len(usernames)
        # Sign every worker in before the clock starts: that is setup, not the measurement.
        signed_in = await asyncio.gather(*(sign_in(u) for u in usernames))
        tokens = [response.json()["token"] for response in signed_in]
        stop_at = time.monotonic() + seconds
        await asyncio.gather(
            *(
                worker(kind, user, token, stop_at)
                for kind, user, token in zip(kinds, usernames, tokens, strict=True)
            )
        )
    return {kind: (latencies, errors.get(kind, 0)) for kind, latencies in results.items()}


def _client_process(job: Job) -> dict[str, tuple[list[float], int]]:
    return asyncio.run(_load(*job))


def _create_accounts(url: str, admin_password: str, count: int) -> tuple[list[str], str]:
    password = secrets.token_urlsafe(12)
    login = {"username": "admin", "password": admin_password}
    with httpx.Client(base_url=url, timeout=60) as client:
        token = client.post("/api/auth/login", json=login).json()["token"]
        client.cookies.clear()
        names = [f"bench-{i}" for i in range(count)]
        for name in names:
            response = client.post(
                "/api/users",
                headers={"Authorization": f"Bearer {token}"},
                json={"username": name, "full_name": name, "roles": ["secretary"],
                      "password": password},
            )  # fmt: skip
            response.raise_for_status()
    return names, password


def run(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "clients": args.clients,
        "concurrency_per_client": args.concurrency,
        "phase_seconds": args.seconds,
        "database": "sqlite",
        "server_workers": 1,
    }
    with hoinghi_server() as server:
        names, password = _create_accounts(
            server.url, server.passwords["admin"], args.clients * args.concurrency
        )
        per_client = [names[i :: args.clients] for i in range(args.clients)]
        context = multiprocessing.get_context("spawn")
        with context.Pool(args.clients) as pool:
            for phase in PHASES:
                jobs = [(server.url, phase, args.seconds, mine, password) for mine in per_client]
                results = pool.map(_client_process, jobs)
                for kind in sorted({k for r in results for k in r}):
                    name = kind if phase != "mixed" else f"mixed_{kind}"
                    latencies = [x for r in results for x in r.get(kind, ([], 0))[0]]
                    errors = sum(r.get(kind, ([], 0))[1] for r in results)
                    figures.update(latency_figures(name, latencies, args.seconds, errors))
                    print(
                        f"{name}: {figures[name + '_rps']} req/s, "
                        f"p99 {figures[name + '_p99_ms']} ms, {errors} errors",
                        flush=True,
                    )
    if figures["healthz_rps"]:
        figures["points_rps_vs_healthz"] = round(figures["points_rps"] / figures["healthz_rps"], 3)
    return figures
