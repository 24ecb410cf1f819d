"""The OpenAPI document, completed in one place for every route, present and future.

FastAPI documents each route's success and a 422 of its own shape; Rapport's refusals are
`{"error": {"code", "message"}}` (DESIGN §8) with statuses that come from the services.
Here every operation gets the error answers it can give, with the error schema: 401 where
the route needs a session (FastAPI marks it with the bearer scheme `deps.bearer_token`
depends on, so a new route that uses `CurrentMember` is covered without doing anything),
400 and 413 where it takes a body, and 403, 404, 409, 422 and 429 everywhere (domain
refusals, and `api/text_guard.py`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from rapport.api.schemas import ErrorRead

ERROR_REF = {"$ref": "#/components/schemas/ErrorRead"}
DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "No session, or not a valid one (`WWW-Authenticate: Bearer`).",
    403: "Not permitted.",
    404: "No such thing, or not one of yours.",
    409: "Conflicts with the current state.",
    413: "The request body is too large.",
    422: "Invalid input.",
    429: "Too many requests (`Retry-After`).",
}
ALWAYS = (403, 404, 409, 422, 429)
WITH_BODY = (400, 413)
BODY_METHODS = {"post", "put", "patch"}


def error_response(status: int) -> dict[str, Any]:
    return {"description": DESCRIPTIONS[status], "content": {"application/json": {"schema": ERROR_REF}}}


def document(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error_schema = ErrorRead.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorRead"] = error_schema
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            statuses = list(ALWAYS)
            if method in BODY_METHODS:
                statuses += WITH_BODY
            if operation.get("security"):
                statuses.append(401)
            for status in sorted(statuses):
                existing = responses.get(str(status))
                if existing is None or status == 422:  # FastAPI's own 422 has another shape
                    responses[str(status)] = error_response(status)
    return schema
