"""Account administration through the API."""

from __future__ import annotations

import httpx

from tests.conftest import Account


async def test_admin_creates_lists_and_changes_users(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    client.cookies.clear()
    admin = accounts["admin"].auth
    created = await client.post(
        "/api/users",
        headers=admin,
        json={
            "username": "PhoChuTich",
            "full_name": "Đặng Thị Hồng Nhung",
            "roles": ["chair", "official"],
            "password": "mật khẩu đủ dài",
        },
    )
    assert created.status_code == 201
    user = created.json()
    assert user["username"] == "phochutich"
    assert user["full_name"] == "Đặng Thị Hồng Nhung"
    assert user["roles"] == ["chair", "official"]
    assert "password" not in created.text

    chairs = (await client.get("/api/users", params={"role": "chair"}, headers=admin)).json()
    assert {u["username"] for u in chairs["items"]} == {"chair", "phochutich"}
    found = (await client.get("/api/users", params={"q": "nhung"}, headers=admin)).json()
    assert [u["username"] for u in found["items"]] == ["phochutich"]

    patched = await client.patch(
        f"/api/users/{user['id']}", headers=admin, json={"roles": ["secretary"]}
    )
    assert patched.json()["roles"] == ["secretary"]

    taken = await client.post(
        "/api/users",
        headers=admin,
        json={
            "username": "phochutich",
            "full_name": "X",
            "roles": ["official"],
            "password": "mật khẩu đủ dài",
        },
    )
    assert taken.status_code == 409
    assert taken.json()["code"] == "user_exists"


async def test_disabling_a_user_ends_their_sessions(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    client.cookies.clear()
    official = accounts["official"]
    response = await client.patch(
        f"/api/users/{official.id}", headers=accounts["admin"].auth, json={"active": False}
    )
    assert response.json()["active"] is False
    assert (await client.get("/api/me", headers=official.auth)).status_code == 401


async def test_admin_password_reset_ends_sessions_and_sets_the_new_password(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    client.cookies.clear()
    official = accounts["official"]
    response = await client.patch(
        f"/api/users/{official.id}",
        headers=accounts["admin"].auth,
        json={"password": "mật khẩu mới tinh"},
    )
    assert response.status_code == 200
    assert (await client.get("/api/me", headers=official.auth)).status_code == 401
    login = await client.post(
        "/api/auth/login", json={"username": official.username, "password": "mật khẩu mới tinh"}
    )
    assert login.status_code == 200


async def test_admin_cannot_lock_themselves_out(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    client.cookies.clear()
    admin = accounts["admin"]
    for change in ({"active": False}, {"roles": ["official"]}):
        response = await client.patch(f"/api/users/{admin.id}", headers=admin.auth, json=change)
        assert response.status_code == 409
        assert response.json()["code"] == "self_lockout"
    assert (await client.get("/api/me", headers=admin.auth)).json()["user"]["roles"] == ["admin"]


async def test_unknown_unit_is_refused(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    client.cookies.clear()
    response = await client.post(
        "/api/users",
        headers=accounts["admin"].auth,
        json={
            "username": "x-user",
            "full_name": "X",
            "roles": ["official"],
            "password": "mật khẩu đủ dài",
            "unit_id": 424242,
        },
    )
    assert response.status_code == 404
