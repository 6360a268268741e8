"""When `klasbot run` stops, /readyz says so first (503 `stopping`), while /healthz and /metrics
still answer: a load balancer or an orchestrator sends nothing new to a stopping worker."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from adapters.http.server import HttpServer
from bot import bootstrap
from config.settings import Settings


async def test_a_draining_server_is_not_ready_but_alive(settings: Settings, tmp_path: Path) -> None:
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings) as app:
        server = HttpServer(
            port=0,
            host="127.0.0.1",
            db=app.db,
            clock=lambda: datetime(2026, 11, 23, 9, tzinfo=UTC),
            platforms={},
            connected=set(),
        )
        await server.start()
        base = f"http://127.0.0.1:{server.bound_port}"
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/readyz") as response:
                    assert (response.status, await response.json()) == (200, {"status": "ready"})
                server.drain()
                async with http.get(f"{base}/readyz") as response:
                    assert response.status == 503
                    assert await response.json() == {"status": "stopping"}
                async with http.get(f"{base}/healthz") as response:
                    assert response.status == 200
                async with http.get(f"{base}/metrics") as response:
                    assert response.status == 200
                    assert "klasbot_database_up" in await response.text()
        finally:
            await server.stop()
