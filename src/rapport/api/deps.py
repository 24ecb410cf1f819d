"""Request dependencies: the service context and the signed-in member."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rapport.api.client_address import client_address
from rapport.domain.errors import NotPermitted, Unauthorized
from rapport.domain.model import Member
from rapport.services import accounts
from rapport.services.context import Context

# Dependencies are `async def` even when they never await: FastAPI runs plain `def`
# dependencies in its thread pool, a thread hop per request on the hottest path.


async def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(get_context)]


_bearer_scheme = HTTPBearer(auto_error=False, description="The session token from register or login.")
BearerScheme = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)]
"""Declares the bearer scheme in OpenAPI for every route that needs a session (and so its 401)."""


async def bearer_token(request: Request, _scheme: BearerScheme = None) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Sign in: send Authorization: Bearer <token>.", code="unauthorized")
    return token.strip()


Token = Annotated[str, Depends(bearer_token)]


async def client_address_of(request: Request, ctx: Ctx) -> str:
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.get("x-forwarded-for"), ctx.settings.trusted_proxies)


ClientAddress = Annotated[str, Depends(client_address_of)]
"""Where the request comes from, for limits counted per address."""


async def current_member(ctx: Ctx, token: Token) -> Member:
    return await accounts.authenticate(ctx, token=token)


CurrentMember = Annotated[Member, Depends(current_member)]


async def require_admin(ctx: Ctx, token: Token) -> None:
    """Admin routes answer only to RAPPORT_ADMIN_TOKEN, and not at all when it is unset."""
    expected = ctx.settings.admin_token
    if not expected:
        raise NotPermitted("Admin routes are off: RAPPORT_ADMIN_TOKEN is not set.", code="admin_disabled")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("That is not the admin token.", code="invalid_admin_token")


Admin = Depends(require_admin)
