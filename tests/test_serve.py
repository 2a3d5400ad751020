"""The README's first command, for real: a fresh data dir, `hoinghi serve`, a browser URL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.conftest import LiveServer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_first_start_migrates_seeds_prints_url_and_serves(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HOINGHI_")},
        "HOINGHI_DATA_DIR": str(tmp_path / "hoinghi-data"),
        "PYTHONUNBUFFERED": "1",
    }
    hoinghi = Path(sys.executable).with_name("hoinghi")
    with subprocess.Popen(
        [str(hoinghi), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        try:
            _check_first_start(process, port)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=15)


def _check_first_start(process: subprocess.Popen[str], port: int) -> None:
    output: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if line.startswith("Open"):
            break
    # Keep reading the server's log so its pipe never fills and blocks it.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    text = "".join(output)
    assert f"http://127.0.0.1:{port}/" in text, text
    passwords = dict(
        line.split()
        for line in text.split("demo accounts")[1].splitlines()[1:]
        if line.startswith("  ")
    )
    assert set(passwords) == {"admin", "thuky", "chutich", "canbo", "vanhanh"}

    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            health = httpx.get(f"{base}/healthz")
            break
        except httpx.ConnectError:
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.1)
    assert health.status_code == 200
    assert httpx.get(f"{base}/readyz").status_code == 200
    assert "hoinghi" in httpx.get(f"{base}/").text

    login = httpx.post(
        f"{base}/api/auth/login", json={"username": "admin", "password": passwords["admin"]}
    )
    assert login.status_code == 200
    points = httpx.get(
        f"{base}/api/points", headers={"Authorization": f"Bearer {login.json()['token']}"}
    )
    assert points.json()["total"] == 204


def test_live_server_fixture_serves_the_app(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/readyz")
    assert response.status_code == 200
    missing = httpx.get(f"{live_server.url}/api/nothing")
    assert missing.headers["content-type"] == "application/problem+json"


def test_serve_logs_json_lines_and_never_a_token(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HOINGHI_")},
        "HOINGHI_DATA_DIR": str(tmp_path / "hoinghi-data"),
        "HOINGHI_SEED_DEMO": "false",
        "HOINGHI_LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }
    hoinghi = Path(sys.executable).with_name("hoinghi")
    log_file = tmp_path / "server.log"
    secret = "hd_not-a-real-token-but-secret"
    with (
        log_file.open("w") as log,
        subprocess.Popen(
            [str(hoinghi), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        ) as process,
    ):
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{base}/healthz")
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline, "server did not come up"
                    time.sleep(0.1)
            assert httpx.get(f"{base}/api/me", params={"token": secret}).status_code == 401
            refused = httpx.get(f"{base}/ws/meetings/1", params={"token": secret})
            assert refused.status_code in (400, 403, 404, 426)
            # A real handshake with the token in the query, as the protocol allows.
            with (
                contextlib.suppress(Exception),
                connect(
                    f"ws://127.0.0.1:{port}/ws/meetings/1?token={secret}", open_timeout=10
                ) as socket_,
            ):
                socket_.recv(timeout=10)
            missing = httpx.get(f"{base}/api/calendar/{secret}.ics")
            assert missing.status_code == 404
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=15)
    text = log_file.read_text()
    assert secret not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    requests = [line for line in lines if line.get("logger") == "hoinghi.request"]
    routes = {line["route"] for line in requests}
    assert {"/healthz", "/api/me", "/api/calendar/{token}.ics"} <= routes, routes
    me = next(line for line in requests if line["route"] == "/api/me")
    assert me["status"] == 401 and me["request_id"] and me["level"] == "INFO"
