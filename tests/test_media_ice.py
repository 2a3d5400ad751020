"""STUN/TURN for peers: coturn shared-secret credentials, handed to signed-in callers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from server.media_ice import ice_servers, turn_credential
from server.settings import Settings
from tests.conftest import Account


def test_turn_credentials_follow_coturns_shared_secret_scheme() -> None:
    username, password = turn_credential("s3cret", "p12", 3600, now=1_700_000_000)
    assert username == "1700003600:p12"
    # The same HMAC computed by openssl, as coturn's documentation shows it.
    expected = subprocess.run(
        ["openssl", "dgst", "-binary", "-sha1", "-hmac", "s3cret"],
        input=username.encode(),
        capture_output=True,
        check=True,
    ).stdout
    assert base64.b64decode(password) == expected
    assert (
        password
        == base64.b64encode(hmac.new(b"s3cret", username.encode(), hashlib.sha1).digest()).decode()
    )


def test_stun_only_and_turn_without_a_secret_give_no_credentials(settings: Settings) -> None:
    plain = settings.model_copy(update={"ice_servers": "stun:stun.tinh.gov.vn:3478"})
    assert ice_servers(plain, "u1") == [{"urls": ["stun:stun.tinh.gov.vn:3478"]}]
    no_secret = settings.model_copy(update={"ice_servers": "turn:turn.tinh.gov.vn:3478"})
    assert ice_servers(no_secret, "u1") == []


def test_a_malformed_ice_server_setting_is_refused() -> None:
    with pytest.raises(ValidationError, match="stun:, turn: or turns:"):
        Settings(ice_servers="http://turn.tinh.gov.vn")


async def test_signed_in_callers_get_ice_servers_and_strangers_do_not(
    app: FastAPI, client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    settings: Settings = app.state.settings
    app.state.settings = settings.model_copy(
        update={
            "ice_servers": "stun:turn.tinh.gov.vn:3478,turn:turn.tinh.gov.vn:3478?transport=udp",
            "turn_secret": "bí mật",
        }
    )
    client.cookies.clear()
    assert (await client.get("/api/media/ice-servers")).status_code == 401
    answer = await client.get("/api/media/ice-servers", headers=accounts["official"].auth)
    assert answer.status_code == 200
    stun, turn = answer.json()["ice_servers"]
    assert stun == {"urls": ["stun:turn.tinh.gov.vn:3478"]}
    assert turn["urls"] == ["turn:turn.tinh.gov.vn:3478?transport=udp"]
    assert turn["username"].endswith(f":u{accounts['official'].id}")
    digest = hmac.new("bí mật".encode(), turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(digest).decode()


def test_a_malformed_media_worker_address_is_refused() -> None:
    for bad in ("10.0.0.5", "10.0.0.5:http", ":7000", "10.0.0.5:70000"):
        with pytest.raises(ValidationError, match="host:port"):
            Settings(media_worker_addresses=bad)
    assert Settings(media_worker_addresses="10.0.0.5:7000, mw2:7001").media_worker_addresses
