"""Errors as RFC 9457 problem details (``application/problem+json``), everywhere.

Each problem carries a stable ``code`` besides the human ``title``/``detail``: the web
client shows its own words for a code, in the reader's language.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

# Codes for plain HTTP failures raised by the framework itself (unknown path, wrong method).
_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class Problem(Exception):
    """An error the API reports to its caller; raised anywhere below a route."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str | None = None,
        *,
        title: str | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"urn:hoinghi:problem:{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
        }
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body

    def response(self) -> JSONResponse:
        return JSONResponse(
            self.body(), status_code=self.status, headers=self.headers, media_type=MEDIA_TYPE
        )


def not_found(what: str) -> Problem:
    return Problem(404, "not_found", f"{what} not found")


def field_error(field: str, message: str, status: int = 422) -> Problem:
    return Problem(
        status,
        "validation_failed",
        f"{field}: {message}",
        errors=[{"field": field, "message": message}],
    )


def _field_name(location: Sequence[Any]) -> str:
    # ("body", "roles", 0) -> "roles[0]"; the "body"/"query" prefix says where, not what.
    parts = [str(p) for p in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    name = ""
    for part in parts:
        name += f"[{part}]" if part.isdigit() else (f".{part}" if name else part)
    return name or "body"


async def _problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return exc.response()


# FastAPI's words when a body is not even decodable (bad UTF-8, absurd nesting).
_UNPARSABLE_BODY = "There was an error parsing the body"


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
        return Problem(400, "malformed_json", "the request body is not valid JSON").response()
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if exc.detail != HTTPStatus(exc.status_code).phrase else None
    return Problem(exc.status_code, code, detail, headers=exc.headers).response()


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(err.get("type") == "json_invalid" for err in exc.errors()):
        return Problem(400, "malformed_json", "the request body is not valid JSON").response()
    errors = [
        {"field": _field_name(err.get("loc", ())), "message": err.get("msg", "invalid")}
        for err in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return Problem(422, "validation_failed", detail, errors=errors).response()


async def _integrity_error(_: Request, exc: Exception) -> JSONResponse:
    # A constraint the route did not check first (a race, or a row still referenced).
    log.info("integrity error: %s", exc)
    return Problem(409, "conflict", "the change conflicts with existing data").response()


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    # A value the database cannot hold slipped past validation; say so instead of a 500.
    log.warning("database refused a value: %s", exc)
    return Problem(422, "invalid_value", "a value is out of range or not storable").response()


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The route's template, not the path: some paths hold tokens (calendar feeds).
    route = getattr(request.scope.get("route"), "path", None) or "unmatched"
    log.exception("unhandled error in %s %s", request.method, route)
    return Problem(500, "internal_error", "an unexpected error occurred").response()


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
