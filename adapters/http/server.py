"""The HTTP server of `klasbot run` on `http.port`: /healthz, /readyz and /metrics, and the
endpoints of a platform that receives over HTTP (Teams' /api/messages) on the same port.

- `/healthz`: the process is up (200, `{"status": "ok"}`) — answered from the start, before any
  platform connects.
- `/readyz`: 200 once the database answers and every configured chat platform is connected, else
  503 naming what is not (`{"status": "unavailable", "failing": ["database", "telegram"]}`):
  names of components only, never an error text (a database error can hold its URL).
- `/metrics`: Prometheus text format (`adapters.http.prometheus`).

A platform with a `routes(web_app)` method (Teams) adds its routes to this server's app instead
of listening on a port of its own (its `port` is set to None before it starts).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from adapters.http.prometheus import DatabaseCollector, Exposition, PrometheusMetrics
from bot import metrics as hooks
from storage.store import Database

logger = logging.getLogger(__name__)

DB_TIMEOUT = 3.0
"""Seconds a readiness probe waits for the database: a hung database is not a ready one."""
SHUTDOWN = 10.0
"""Seconds the server waits for requests in flight when klasbot stops."""


async def database_ready(db: Database) -> bool:
    """Whether the database answers. SQLite: its file is there and holds klasbot's schema (read
    on a connection of its own, read-only: a pooled connection keeps reading a file that was
    deleted or unmounted). Any other database: a `SELECT 1` on the engine's pool."""
    url = db.engine.url
    try:
        async with asyncio.timeout(DB_TIMEOUT):
            if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
                return await asyncio.to_thread(_sqlite_ready, Path(url.database))
            async with db.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            return True
    except Exception as exc:
        logger.warning("readyz: the database does not answer (%s)", type(exc).__name__)
        return False


def _sqlite_ready(path: Path) -> bool:
    if not path.is_file():
        return False
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=DB_TIMEOUT)
    try:
        conn.execute("SELECT 1 FROM alembic_version").fetchall()
        return True
    finally:
        conn.close()


class HttpServer:
    """Serves the endpoints above; `connected` holds the names of the platforms that are up
    (filled by whoever connects them: `bot.bootstrap.build`)."""

    def __init__(
        self,
        *,
        port: int,
        db: Database,
        clock: Callable[[], datetime],
        platforms: Mapping[str, Any],
        connected: set[str],
        host: str = "0.0.0.0",  # noqa: S104 - Prometheus and Teams call from outside
    ) -> None:
        self.port = port
        self.host = host
        self.db = db
        self.platforms = platforms
        self.connected = connected
        self.metrics = PrometheusMetrics()
        self.exposition = Exposition(
            self.metrics, DatabaseCollector(db, clock, self.platform_states)
        )
        self.bound_port: int | None = None
        self.stopping = False
        self._runner: web.AppRunner | None = None
        self._previous: hooks.Metrics | None = None

    def platform_states(self) -> dict[str, bool]:
        return {name: name in self.connected for name in self.platforms}

    def app(self) -> web.Application:
        web_app = web.Application()
        web_app.router.add_get("/healthz", self._healthz)
        web_app.router.add_get("/readyz", self._readyz)
        web_app.router.add_get("/metrics", self._metrics)
        for platform in self.platforms.values():
            routes = getattr(platform, "routes", None)
            if callable(routes):
                routes(web_app)
                platform.port = None  # served here: the platform listens on no port of its own
        return web_app

    async def start(self) -> None:
        # A request in flight (a Teams turn, a scrape) gets a few seconds when klasbot stops.
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=SHUTDOWN)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self.port
        self._previous = hooks.install(self.metrics)
        logger.info("http: serving /healthz, /readyz and /metrics on port %s", self.bound_port)

    def drain(self) -> None:
        """klasbot is stopping: /readyz says so (503), so that a load balancer or an orchestrator
        sends nothing new while the platforms stop; /healthz and /metrics still answer."""
        self.stopping = True

    async def stop(self) -> None:
        if self._previous is not None:
            hooks.install(self._previous)
            self._previous = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        if self.stopping:
            return web.json_response({"status": "stopping"}, status=503)
        failing = [] if await database_ready(self.db) else ["database"]
        failing += sorted(name for name, up in self.platform_states().items() if not up)
        if failing:
            return web.json_response({"status": "unavailable", "failing": failing}, status=503)
        return web.json_response({"status": "ready"})

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = await self.exposition.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def serve(
    stack: AsyncExitStack,
    *,
    port: int | None,
    db: Database,
    clock: Callable[[], datetime],
    platforms: Mapping[str, Any],
    connected: set[str],
) -> HttpServer | None:
    """Start the server on `stack` when there is a port to serve on: `port`, else Teams'
    default 3978 when a platform serves over HTTP. None when there is nothing to serve."""
    if port is None and any(callable(getattr(p, "routes", None)) for p in platforms.values()):
        port = 3978
    if port is None:
        return None
    server = HttpServer(port=port, db=db, clock=clock, platforms=platforms, connected=connected)
    await server.start()
    stack.push_async_callback(server.stop)
    return server
