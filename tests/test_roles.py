"""Role checks, found from the app's own route table so a new admin route is covered too."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from server.identity import Role
from tests.conftest import Account

# Routes anyone may call without signing in.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/point-login"),
    # A calendar feed: the secret token in the URL is the credential.
    ("GET", "/api/calendar/1.ics"),
    ("GET", "/api/client-config"),
    # The built-in CA's public parts: a validator or a PDF signer fetches them.
    ("GET", "/api/ca/root.pem"),
    ("GET", "/api/ca/crl"),
}


def _allowed_roles(dependant: Dependant) -> Iterator[frozenset[Role]]:
    for sub in dependant.dependencies:
        roles = getattr(sub.call, "allowed_roles", None)
        if roles is not None:
            yield roles
        yield from _allowed_roles(sub)


def _api_routes(app: FastAPI) -> Iterator[tuple[str, str, Dependant]]:
    # Included routers appear in app.routes as one entry each; iter_route_contexts is
    # FastAPI's own walk over them (the one its OpenAPI generator uses).
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            for method in sorted((context.methods or set()) - {"HEAD"}):
                # Any id works: the role check runs before the route looks anything up.
                path = re.sub(r"\{[^}]+\}", "1", context.path_format or "")
                yield method, path, context.dependant


def _admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method, path)
        for method, path, dependant in _api_routes(app)
        if frozenset({Role.ADMIN}) in set(_allowed_roles(dependant))
    ]


def test_admin_routes_are_found_in_the_route_table(app: FastAPI) -> None:
    routes = set(_admin_routes(app))
    # A sample the enumeration must find; the test below covers every one it finds.
    assert {("GET", "/api/users"), ("POST", "/api/points"), ("PATCH", "/api/units/1")} <= routes
    assert ("POST", "/api/points/1/rotate-token") in routes


async def test_every_admin_route_refuses_other_roles(
    app: FastAPI, client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    client.cookies.clear()
    for method, path in _admin_routes(app):
        anonymous = await client.request(method, path, json={})
        assert anonymous.status_code == 401, (method, path)
        for role, account in accounts.items():
            response = await client.request(method, path, json={}, headers=account.auth)
            if role == Role.ADMIN:
                assert response.status_code not in (401, 403), (method, path)
                assert response.status_code < 500, (method, path, response.text)
            else:
                assert response.status_code == 403, (method, path, role)
                assert response.json()["code"] == "forbidden"


async def test_every_api_route_but_sign_in_needs_credentials(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for method, path, _ in _api_routes(app):
        if (method, path) in PUBLIC or not path.startswith("/api/"):
            continue
        response = await client.request(method, path, json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"] == "application/problem+json"


async def test_network_page_is_for_the_people_who_run_meetings(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    client.cookies.clear()
    expected = {"admin": 200, "secretary": 200, "chair": 200, "operator": 200, "official": 403}
    for role, status in expected.items():
        response = await client.get("/api/points", headers=accounts[role].auth)
        assert response.status_code == status, role
