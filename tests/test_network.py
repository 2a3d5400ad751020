"""Units and conference points through the API: tree, CRUD, tokens, online status."""

from __future__ import annotations

import httpx

from server.db import Database
from server.demo import seed_demo
from tests.conftest import Account


async def _seed(db: Database) -> None:
    async with db.writer() as session:
        await seed_demo(session)
        await session.commit()


async def _unit_id(client: httpx.AsyncClient, auth: dict[str, str], code: str) -> int:
    def walk(nodes: list[dict]) -> dict | None:  # type: ignore[type-arg]
        for node in nodes:
            if node["code"] == code:
                return node
            found = walk(node["children"])
            if found:
                return found
        return None

    node = walk((await client.get("/api/units", headers=auth)).json())
    assert node is not None, code
    return int(node["id"])


async def test_unit_tree_has_the_province_at_the_root(
    client: httpx.AsyncClient, db: Database, accounts: dict[str, Account]
) -> None:
    await _seed(db)
    client.cookies.clear()
    tree = (await client.get("/api/units", headers=accounts["official"].auth)).json()
    assert [root["code"] for root in tree] == ["hoa-son"]
    children = tree[0]["children"]
    kinds = [c["kind"] for c in children]
    assert kinds.count("department") == 6
    assert len([k for k in kinds if k in ("commune", "ward", "special_zone")]) == 102
    assert kinds.index("department") < kinds.index("commune")
    assert sum(c["point_count"] for c in children) + tree[0]["point_count"] == 204


async def test_admin_adds_a_unit_and_cannot_make_a_cycle(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    client.cookies.clear()
    admin = accounts["admin"].auth
    province = await client.post(
        "/api/units", headers=admin, json={"code": "tinh", "name": "Tỉnh", "kind": "province"}
    )
    assert province.status_code == 201
    commune = await client.post(
        "/api/units",
        headers=admin,
        json={
            "code": "xa-moi",
            "name": "Xã Mới",
            "kind": "commune",
            "parent_id": province.json()["id"],
        },
    )
    assert commune.status_code == 201
    again = await client.post(
        "/api/units", headers=admin, json={"code": "xa-moi", "name": "X", "kind": "commune"}
    )
    assert again.status_code == 409
    cycle = await client.patch(
        f"/api/units/{province.json()['id']}",
        headers=admin,
        json={"parent_id": commune.json()["id"]},
    )
    assert cycle.status_code == 409
    assert cycle.json()["code"] == "unit_cycle"
    bad_code = await client.post(
        "/api/units", headers=admin, json={"code": "Có Dấu", "name": "X", "kind": "commune"}
    )
    assert bad_code.status_code == 422


async def test_points_list_shows_all_204_with_unit_and_status(
    client: httpx.AsyncClient, db: Database, accounts: dict[str, Account]
) -> None:
    await _seed(db)
    client.cookies.clear()
    page = (await client.get("/api/points", headers=accounts["admin"].auth)).json()
    assert page["total"] == 204
    assert len(page["items"]) == 204
    assert page["online"] == 0
    first = page["items"][0]
    assert first["unit"]["kind"] == "province"
    assert first["online"] is False
    assert "token" not in str(page).replace("token_rotated", "")


async def test_points_filter_by_unit_search_and_paging(
    client: httpx.AsyncClient, db: Database, accounts: dict[str, Account]
) -> None:
    await _seed(db)
    client.cookies.clear()
    auth = accounts["secretary"].auth
    unit_id = await _unit_id(client, auth, "xa-tan-phu")
    in_unit = (await client.get("/api/points", params={"unit_id": unit_id}, headers=auth)).json()
    assert in_unit["total"] == 2
    assert {p["unit"]["code"] for p in in_unit["items"]} == {"xa-tan-phu"}

    for query in ("Đảng ủy", "đảng ủy", "dang uy", "DANG UY"):
        found = (await client.get("/api/points", params={"q": query}, headers=auth)).json()
        assert found["total"] == 94, query
    by_unit = (await client.get("/api/points", params={"q": "tan phu"}, headers=auth)).json()
    assert {p["unit"]["code"] for p in by_unit["items"]} == {"xa-tan-phu"}
    wildcard = (await client.get("/api/points", params={"q": "%"}, headers=auth)).json()
    assert wildcard["total"] == 0

    first = (await client.get("/api/points", params={"limit": 10}, headers=auth)).json()
    second = (
        await client.get("/api/points", params={"limit": 10, "offset": 10}, headers=auth)
    ).json()
    assert len(first["items"]) == len(second["items"]) == 10
    assert not {p["id"] for p in first["items"]} & {p["id"] for p in second["items"]}
    too_many = await client.get("/api/points", params={"limit": 100000}, headers=auth)
    assert too_many.status_code == 422


async def test_admin_creates_a_point_and_its_token_works_once_shown(
    client: httpx.AsyncClient, db: Database, accounts: dict[str, Account]
) -> None:
    await _seed(db)
    client.cookies.clear()
    admin = accounts["admin"].auth
    unit_id = await _unit_id(client, admin, "xa-hoa-binh")
    created = await client.post(
        "/api/points",
        headers=admin,
        json={"name": "Nhà văn hóa thôn 3", "unit_id": unit_id, "location": "Thôn 3"},
    )
    assert created.status_code == 201
    token = created.json()["device_token"]
    point_id = created.json()["point"]["id"]
    shown = await client.get(f"/api/points/{point_id}", headers=admin)
    assert "device_token" not in shown.json()

    me = await client.get("/api/points/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["name"] == "Nhà văn hóa thôn 3"
    assert me.json()["online"] is True

    duplicate = await client.post(
        "/api/points", headers=admin, json={"name": "Nhà văn hóa thôn 3", "unit_id": unit_id}
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "point_exists"


async def test_rotating_the_token_stops_the_old_one_at_once(
    client: httpx.AsyncClient, db: Database, accounts: dict[str, Account]
) -> None:
    await _seed(db)
    client.cookies.clear()
    admin = accounts["admin"].auth
    unit_id = await _unit_id(client, admin, "xa-hoa-binh")
    created = (
        await client.post("/api/points", headers=admin, json={"name": "P", "unit_id": unit_id})
    ).json()
    old = created["device_token"]
    kiosk = (await client.post("/api/auth/point-login", json={"device_token": old})).json()
    client.cookies.clear()

    rotated = await client.post(f"/api/points/{created['point']['id']}/rotate-token", headers=admin)
    assert rotated.status_code == 200
    new = rotated.json()["device_token"]
    assert new != old
    for token in (old, kiosk["token"]):
        refused = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401
    assert (
        await client.get("/api/me", headers={"Authorization": f"Bearer {new}"})
    ).status_code == 200


async def test_disabled_point_is_refused_and_counts_offline(
    client: httpx.AsyncClient, db: Database, accounts: dict[str, Account]
) -> None:
    await _seed(db)
    client.cookies.clear()
    admin = accounts["admin"].auth
    unit_id = await _unit_id(client, admin, "xa-hoa-binh")
    created = (
        await client.post("/api/points", headers=admin, json={"name": "P", "unit_id": unit_id})
    ).json()
    device = {"Authorization": f"Bearer {created['device_token']}"}
    assert (
        await client.post("/api/points/me/heartbeat", headers=device, json={})
    ).status_code == 204
    assert (await client.get("/api/points", headers=admin)).json()["online"] == 1

    patched = await client.patch(
        f"/api/points/{created['point']['id']}", headers=admin, json={"enabled": False}
    )
    assert patched.status_code == 200
    assert patched.json()["online"] is False
    refused = await client.get("/api/me", headers=device)
    assert refused.status_code == 401
    assert refused.json()["code"] == "point_disabled"
    assert (await client.get("/api/points", headers=admin)).json()["online"] == 0


async def test_heartbeat_keeps_link_stats_and_refuses_junk(
    client: httpx.AsyncClient, db: Database, accounts: dict[str, Account]
) -> None:
    await _seed(db)
    client.cookies.clear()
    admin = accounts["admin"].auth
    unit_id = await _unit_id(client, admin, "xa-hoa-binh")
    created = (
        await client.post("/api/points", headers=admin, json={"name": "P", "unit_id": unit_id})
    ).json()
    device = {"Authorization": f"Bearer {created['device_token']}"}
    stats = {"rtt_ms": 38.5, "loss_pct": 0.2, "codec": "VP8"}
    ok = await client.post("/api/points/me/heartbeat", headers=device, json={"link_stats": stats})
    assert ok.status_code == 204
    online = (await client.get("/api/points", params={"online": True}, headers=admin)).json()
    assert [p["id"] for p in online["items"]] == [created["point"]["id"]]
    assert online["items"][0]["reported_stats"] == stats

    nested = await client.post(
        "/api/points/me/heartbeat", headers=device, json={"link_stats": {"a": {"b": 1}}}
    )
    assert nested.status_code == 422
    huge = {f"k{i}": i for i in range(100)}
    assert (
        await client.post("/api/points/me/heartbeat", headers=device, json={"link_stats": huge})
    ).status_code == 422
    # Users are not points.
    assert (
        await client.post("/api/points/me/heartbeat", headers=admin, json={})
    ).status_code == 403


async def test_admin_deletes_a_point(
    client: httpx.AsyncClient, db: Database, accounts: dict[str, Account]
) -> None:
    await _seed(db)
    client.cookies.clear()
    admin = accounts["admin"].auth
    point_id = (await client.get("/api/points", headers=admin)).json()["items"][-1]["id"]
    assert (await client.delete(f"/api/points/{point_id}", headers=admin)).status_code == 204
    assert (await client.get(f"/api/points/{point_id}", headers=admin)).status_code == 404
    assert (await client.get("/api/points", headers=admin)).json()["total"] == 203
