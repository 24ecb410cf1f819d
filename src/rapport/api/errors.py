"""The one place that maps refusals to HTTP statuses (DESIGN §8)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from rapport.api.responses import Json
from rapport.domain.errors import (
    Conflict,
    DomainError,
    Invalid,
    LimitExceeded,
    NotFound,
    NotPermitted,
    TooLarge,
    Unauthorized,
    Unavailable,
    Unsupported,
)

log = logging.getLogger(__name__)

STATUS: dict[type[DomainError], int] = {
    Unauthorized: 401,
    NotPermitted: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    Unsupported: 415,
    Invalid: 422,
    LimitExceeded: 429,
    Unavailable: 503,
}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def status_of(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route answers on this path (several routes may share a path: one
    per method), for the `Allow` of a 405."""
    allowed = []
    for method in METHODS:
        probe = {**scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in app.router.routes):
            allowed.append(method)
    return allowed


INTERNAL_ERROR = error_body("internal_error", "Something went wrong on our side.")


def domain_error(exc: DomainError) -> tuple[int, dict[str, str], dict[str, dict[str, str]]]:
    """A refusal's status, headers and body: for the handler below and for api.send_route and api.inbox_route."""
    headers = {}
    if isinstance(exc, LimitExceeded):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, Unavailable):
        headers["Retry-After"] = "30"
    return status_of(exc), headers, error_body(exc.code, exc.message)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def refused(_: Request, exc: DomainError) -> Json:
        status, headers, body = domain_error(exc)
        return Json(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Json:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return Json(error_body("bad_request", "The request body is not valid JSON."), status_code=400)
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        message = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid"))
        return Json(error_body("validation_error", message), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Json:
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 413: "too_large"}
        code = codes.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else "Request refused."
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 404:
            message = "Not found."
        if exc.status_code == 405:
            # Starlette names the methods of the first route on the path only.
            allowed = allowed_methods(app, request.scope) or [headers.get("Allow", "")]
            headers["Allow"] = ", ".join(allowed)
        return Json(error_body(code, message), status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Json:
        log.exception("unhandled error", exc_info=exc)
        return Json(INTERNAL_ERROR, status_code=500)
