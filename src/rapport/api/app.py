"""The application factory: everything is built here, in the lifespan, never at import."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from rapport import __version__
from rapport.api import access_log, errors, openapi
from rapport.api.inbox_route import InboxRoute
from rapport.api.limits import BodySizeLimit
from rapport.api.routes import accounts, campaigns, connections, conversations, events, safety
from rapport.api.routes import attachments as attachment_routes
from rapport.api.routes import groups as group_routes
from rapport.api.routes import insight as insight_routes
from rapport.api.routes import limits as limit_routes
from rapport.api.routes import notifications as notification_routes
from rapport.api.routes import profile as profile_routes
from rapport.api.routes import search as search_routes
from rapport.api.security import HEADERS, SecurityHeaders, docs_page, download_origins, security_headers
from rapport.api.send_route import SendRoute
from rapport.api.text_guard import RefuseUnstorableText
from rapport.api.ws import WS_PATH, websocket
from rapport.api.ws import router as ws_router
from rapport.bus import create_bus
from rapport.clock import Clock, SystemClock
from rapport.jobs import JobRunner
from rapport.notify import alerts as notify_alerts
from rapport.notify import keys as notify_keys
from rapport.services import attachments as attachment_service
from rapport.services import campaign_delivery
from rapport.services.context import Context, NetworkSwitches
from rapport.services.rate_limits import RateLimits
from rapport.services.sessions import SessionRegistry
from rapport.services.typing_state import TypingTracker
from rapport.settings import Settings
from rapport.store import members as member_store
from rapport.store.blobs import blob_store
from rapport.store.dialect import Database
from rapport.store.migrate import upgrade
from rapport.store.prepared import Prepared

WEB = Path(__file__).resolve().parent.parent / "web"
log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, migrate: bool = True, freeze_heap: bool = False
) -> FastAPI:
    """The app. `freeze_heap` (a served process, not the many apps of a test run): once started,
    everything made so far is moved out of the garbage collector's reach (gc.freeze). It lives
    as long as the process anyway, and a full collection walked all of it (~160,000 objects,
    about 100 ms on a busy 2-core machine): a stall for every request in flight, every few
    thousand requests (e.g. while a campaign is delivered)."""
    settings = settings or Settings.from_env()
    access_log.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if migrate:
            await upgrade(settings.resolved_database_url)
        db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
        bus = create_bus(settings.redis_url, namespace=settings.redis_namespace)

        async def live_tokens(hashes: Iterable[str]) -> set[str]:
            async with db.read() as conn:
                return await member_store.live_tokens(conn, token_hashes=hashes)

        sessions = SessionRegistry(cache_seconds=settings.token_cache_seconds, live_tokens=live_tokens)
        bus.on_control(sessions.handle)
        await bus.start()
        the_clock = clock or SystemClock()
        runner = JobRunner(db, the_clock, poll_seconds=settings.jobs_poll_seconds)
        ctx = Context(
            settings=settings,
            db=db,
            bus=bus,
            clock=the_clock,
            network=NetworkSwitches(receipts_default=settings.read_receipts_enabled),
            typing=TypingTracker(),
            jobs=runner,
            sessions=sessions,
            limits=RateLimits(
                enabled=settings.rate_limits_enabled,
                redis_url=settings.redis_url,
                namespace=settings.redis_namespace,
                overrides=settings.rate_limits,
            ),
            keys=notify_keys.load(settings.data_dir, settings.vapid_private_key),
        )
        ctx.blob_store = blob_store(settings)
        await ctx.blob_store.start()
        app.state.ctx = ctx
        # Every job kind's handler is registered here, before the runner starts.
        campaign_delivery.register(ctx)
        assert ctx.keys is not None
        alerts = notify_alerts.start(ctx, ctx.keys)
        if settings.jobs_enabled:
            runner.start()
        stop_sweeper = attachment_service.start_sweeper(ctx)
        if freeze_heap:
            Prepared.compile_all(db.writer.dialect)
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await runner.stop()
            await alerts.close()
            await stop_sweeper()
            await ctx.blob_store.aclose()
            ctx.typing.close()
            await ctx.limits.close()
            await bus.close()
            await db.dispose()

    app = RapportApp(
        title="Rapport",
        version=__version__,
        summary="Messaging for professional networks.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.security_headers = security_headers(download_origins(settings))
    app.add_middleware(BodySizeLimit, limit=1024 * 1024, exempt=("/api/v1/attachments",))
    app.add_middleware(RefuseUnstorableText)
    errors.install(app)
    # Starlette tries routes in order: the ones every message takes go first.
    for router in (conversations.router, events.router, ws_router, accounts.router, connections.router):
        app.include_router(router)
    app.include_router(attachment_routes.router)
    app.include_router(search_routes.router)
    app.include_router(safety.router)
    app.include_router(insight_routes.router)
    app.include_router(group_routes.router)
    app.include_router(limit_routes.router)
    app.include_router(profile_routes.router)
    app.include_router(campaigns.router)

    @app.get("/api/docs", include_in_schema=False)
    async def docs() -> Response:
        return docs_page(openapi_url=app.openapi_url or "/openapi.json", title="Rapport API")

    app.include_router(notification_routes.router)

    @app.get("/healthz", include_in_schema=False)
    async def health() -> Response:
        return Response(b'{"ok":true}', media_type="application/json")

    if WEB.is_dir():
        app.mount("/static", StaticFiles(directory=WEB), name="static")

        @app.get("/", include_in_schema=False)
        async def index() -> FileResponse:
            return FileResponse(WEB / "index.html")

        @app.get("/sw.js", include_in_schema=False)
        async def service_worker() -> FileResponse:
            """The push service worker, from the root so its scope covers the whole app."""
            return FileResponse(WEB / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    return app


class RapportApp(FastAPI):
    """FastAPI with the security headers outermost (around the error handlers too), and the
    send and inbox routes ahead of it all (api/send_route.py, api/inbox_route.py)."""

    def build_middleware_stack(self) -> ASGIApp:
        headers: dict[str, str] = getattr(self.state, "security_headers", HEADERS)
        encoded = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        behind = SecurityHeaders(super().build_middleware_stack(), headers)
        return SendRoute(InboxRoute(behind, self.state, encoded), self.state, encoded)

    def openapi(self) -> dict[str, Any]:
        """Every route's error answers, declared in one place (api/openapi.py)."""
        if self.openapi_schema is None:
            self.openapi_schema = openapi.document(self)
        return self.openapi_schema


class SocketsFirst:
    """What uvicorn serves: the live socket goes straight to its endpoint, the rest to FastAPI.

    An idle socket keeps alive every frame of the stack that called its endpoint. Through
    FastAPI that is its middlewares, exception handlers and router: about 5 KB a socket,
    for nothing a socket uses (it has no body and no dependencies, and answers its own
    errors). The route stays registered in FastAPI too, for anything that calls the app.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == WS_PATH:
            scope["app"] = self.app  # what `WebSocket.app` reads
            await websocket(WebSocket(scope, receive, send))
            return
        await self.app(scope, receive, send)


SERVER_OPTIONS: dict[str, Any] = {
    # RAPPORT_TRUSTED_PROXIES alone decides whose X-Forwarded-For is read (api/client_address).
    # uvicorn's own proxy handling would first trust it from 127.0.0.1, any local client included.
    "proxy_headers": False,
    # uvicorn's websockets-sansio protocol (its legacy "websockets" one is deprecated), with one
    # keepalive timer for the whole process instead of two per socket (api/keepalive.py).
    "ws": "rapport.api.keepalive:KeepaliveProtocol",
}
"""uvicorn's options for serving the app, `rapport serve` and the tests' live server, with
`ping_options` for the settings' keepalive."""


def ping_options(seconds: float) -> dict[str, Any]:
    """The WebSocket keepalive: a quiet socket pinged every `seconds` (0: none), an answer due
    within as long (the settings uvicorn hands to `api/keepalive.py`'s protocol).

    Pings find dead peers and keep proxies from closing quiet sockets (nginx and most load
    balancers default to 60 s). One timer per process sends them (RAPPORT_WS_PING_SECONDS)."""
    interval = seconds if seconds > 0 else None
    return {"ws_ping_interval": interval, "ws_ping_timeout": interval}


def compression_options(on: bool) -> dict[str, Any]:
    """uvicorn's permessage-deflate (RFC 7692), off unless the operator turns it on.

    Every browser offers it, and uvicorn accepts it by default. A compressed socket then
    holds a compressor and a decompressor for its whole life (about 12 KB more per idle
    socket, measured), and each frame of a group chat's fan-out is deflated once per socket
    and goes the slow way, through the ASGI send, instead of being written as it is
    (api/ws_wire). Chat frames are a few hundred bytes; the bandwidth saved is worth that
    only on links where bytes are dear (RAPPORT_WS_COMPRESSION)."""
    return {"ws_per_message_deflate": on}


def app_from_env() -> SocketsFirst:
    """For `uvicorn --factory`: `rapport serve` has already migrated."""
    migrate = os.environ.get("RAPPORT_MIGRATED") != "1"
    return SocketsFirst(create_app(Settings.from_env(), migrate=migrate, freeze_heap=True))
