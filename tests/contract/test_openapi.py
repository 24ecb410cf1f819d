"""The OpenAPI document is the contract: schemathesis generates requests from it and checks
the answers (no 5xx, only declared statuses and content types, bodies matching their
schema), against a real server on SQLite and on PostgreSQL, signed in as a member.

Bounded for CI: a few examples per operation and per mode (valid and invalid input),
derandomized so a run is repeatable, no shrinking. RAPPORT_SCHEMATHESIS_EXAMPLES raises it.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from rapport.api.app import create_app
from tests.api.live_server import run_server
from tests.conftest import ADMIN, Api, make_settings

EXAMPLES = int(os.environ.get("RAPPORT_SCHEMATHESIS_EXAMPLES") or 6)
# Operations that would end the session the run signs in with.
SKIP = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/me/password"), ("DELETE", "/api/v1/me")}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


async def _seed(api: Api) -> str:
    """A small network, so some generated requests find something: returns alice's token."""
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    r = await api.start(alice, bob, body="hello")
    assert r.status_code == 201, r.text
    return alice.token


@pytest.mark.timeout(900)  # a few minutes on a busy 2-core machine; more with more examples
async def test_generated_requests_get_declared_answers(tmp_path: Path, database_url: str) -> None:
    with run_server(make_settings(tmp_path, database_url=database_url)) as server:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=20) as client:
            token = await _seed(Api(client, server.app))
        schema = schemathesis.openapi.from_url(f"{server.http_url}/openapi.json")
        session = requests.Session()
        failures: list[str] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 40
        for operation in operations:
            if (operation.method.upper(), operation.path) in SKIP:
                continue
            auth = {"Authorization": f"Bearer {ADMIN if '/admin/' in operation.path else token}"}
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                checks = CHECKS if mode is GenerationMode.POSITIVE else [not_a_server_error, status_code_conformance]
                probe(server.http_url, session, operation, mode, auth, checks, failures)
        assert not failures, "\n\n".join(failures[:20]) + f"\n\n({len(failures)} failures)"


def probe(
    base_url: str,
    session: requests.Session,
    operation: Any,
    mode: GenerationMode,
    headers: dict[str, str],
    checks: list[Any],
    failures: list[str],
) -> None:
    """EXAMPLES generated requests to one operation; each failed check is noted."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        if isinstance((case.query or {}).get("timeout"), int | float):
            case.query["timeout"] = 0  # a long-poll would only wait
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        try:
            case.validate_response(response, checks=checks)
        except (Exception, BaseExceptionGroup) as exc:  # every failure, not only the first
            failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {exc}"[:1500])

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no parameters, no body)
        run()


def test_every_operation_declares_its_error_answers(tmp_path: Path) -> None:
    """Declared in one place (api/openapi.py), so routes added later are covered too."""
    schema = create_app(make_settings(tmp_path)).openapi()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert components["ErrorRead"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorRead"}}}
    secured = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            expected = ["403", "404", "409", "422", "429"]
            if method in ("post", "put", "patch"):
                expected += ["400", "413"]
            if operation.get("security"):
                expected.append("401")
                secured += 1
            for status in expected:
                content = responses[status].get("content", {})
                # a route may answer with a page of its own (the unsubscribe link); JSON is the error
                assert content == error or "application/json" not in content, (method, path, status)
    assert secured > 40
    assert "401" in schema["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert "200" in schema["paths"]["/api/v1/conversations"]["post"]["responses"]  # a repeated client_id


async def test_a_405_allows_every_method_of_its_path(api: Api) -> None:
    """Several routes share a path (one per method): `Allow` names all of them."""
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    templates = [
        (
            re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in re.split(r"(\{[^}]+\})", path))),
            item,
        )
        for path, item in paths.items()
    ]
    checked = 0
    for path in paths:
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        # every template this path matches, as the router does (`/conversations/{id}` matches
        # `/conversations/check-recipients` too)
        routed = {m.upper() for pattern, item in templates if pattern.fullmatch(concrete) for m in item}
        absent = next((m for m in ("PUT", "PATCH", "DELETE", "POST", "GET") if m not in routed), None)
        if absent is None:
            continue
        r = await api.client.request(absent, concrete)
        assert r.status_code == 405, (absent, concrete, r.status_code)
        assert set(r.headers["allow"].split(", ")) == routed, (path, r.headers["allow"])
        assert r.json()["error"]["code"] == "method_not_allowed"
        checked += 1
    assert checked > 40


def _pattern(template: str) -> str:
    """`/a/{id}/b` as a regular expression, a parameter matching one segment."""
    return "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in re.split(r"(\{[^}]+\})", template))
