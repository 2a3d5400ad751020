"""The README's first command, for real: a fresh data dir, `hoinghi serve`, a browser URL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

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
