"""`klasbot run` with `http.port`, as a process: /healthz, /readyz (503 naming the database once
its file is gone), Prometheus /metrics whose families hold the database's outbox (e-mails stuck
at a mail server that does not answer) and the retries that follow, Teams' /api/messages on the
same port, and JSON log lines (`log.format = "json"`) without a roster name — not even the one
the mail server says."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import DEMO_ROSTER
from tests.integration.test_log_privacy import roster_data
from tests.support.processes import klasbot, process_env, start_bot, until
from tests.support.smtp import free_port

TEXT_LOG_LINE = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+: ")


class SilentMailServer:
    """A mail server that accepts connections and says nothing until `answer(line)`: the
    dispatcher's e-mails stay claimed, pending and due while it waits."""

    def __init__(self) -> None:
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> SilentMailServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self.writers:
            writer.close()

    async def _accept(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)

    async def answer(self, line: str) -> None:
        """Say `line` on every open connection and hang up (a 4xx: try again later); from then
        on the server is down (a connection is refused at once)."""
        assert self._server is not None
        self._server.close()
        for writer in self.writers:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()
            writer.close()
        self.writers.clear()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    try:
        async with http.get(url) as response:
            return response.status, await response.text()
    except aiohttp.ClientConnectionError:
        return 0, ""


async def poll(http: aiohttp.ClientSession, url: str, status: int, timeout: float = 60) -> str:
    """The body of `url` once it answers `status`."""
    async with asyncio.timeout(timeout):
        while True:
            got, body = await get(http, url)
            if got == status:
                return body
            await asyncio.sleep(0.2)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def due_emails(database: Path) -> int:
    """Pending e-mails due by the test clock's time (10:00 in Amsterdam), read from the file."""
    with sqlite3.connect(database) as conn:
        [(count,)] = conn.execute(
            "SELECT count(*) FROM deliveries WHERE channel = 'email' AND status = 'pending'"
            " AND due_at <= '2026-11-23 09:30' AND letter_key IS NULL"
        ).fetchall()
    return int(count)


async def test_health_readiness_metrics_and_json_logs(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    names, _, _ = roster_data()
    name = sorted(names)[0]
    port = free_port()
    async with SilentMailServer() as mail:
        env = process_env(
            tmp_path,
            KLASBOT_HTTP__PORT=str(port),
            KLASBOT_LOG__FORMAT="json",
            KLASBOT_MAIL__TRANSPORT="smtp",
            KLASBOT_MAIL__SMTP_HOST="127.0.0.1",
            KLASBOT_MAIL__SMTP_PORT=str(mail.port),
            # Teams' endpoint shares the port (no Teams is called: nothing is bound to it).
            KLASBOT_TEAMS__ALLOW_UNAUTHENTICATED="true",
        )
        await klasbot(env, "db", "upgrade")
        await klasbot(env, "roster", "import", str(DEMO_ROSTER))
        await klasbot(
            env,
            *("announce", "--class", "2B", "--as", "t-devries", "--kind", "reminder"),
            *("--text", "Morgen gymkleren mee"),
        )
        expected = due_emails(tmp_path / "klasbot.db")
        assert expected > 0
        base = f"http://127.0.0.1:{port}"
        bot = await start_bot(env, "-v")
        try:
            assert json.loads(await poll(http, f"{base}/healthz", 200)) == {"status": "ok"}
            assert json.loads(await poll(http, f"{base}/readyz", 200)) == {"status": "ready"}
            # The dispatcher took the e-mails and waits for the mail server's greeting.
            await until(lambda: bool(mail.writers), "the dispatcher at the mail server", 60)
            status, text = await get(http, f"{base}/metrics")
            assert status == 200
            got = samples(text)
            assert got[("klasbot_database_up", ())] == 1.0
            assert got[("klasbot_platform_connected", (("platform", "teams"),))] == 1.0
            async with http.post(f"{base}/api/messages", json={}) as response:
                assert response.status not in (404, 405)  # Teams' endpoint, on the same port
            assert got[("klasbot_queue_depth", (("channel", "email"),))] == expected
            assert got[("klasbot_queue_depth", (("channel", "group"),))] == 0.0
            assert got[("klasbot_queue_oldest_age_seconds", (("channel", "email"),))] > 0
            pending = got[("klasbot_deliveries", (("channel", "email"), ("status", "pending")))]
            assert pending >= expected  # and the day's overview for 16:00
            assert ("klasbot_deliveries", (("channel", "post"), ("status", "pending"))) in got
            assert ("klasbot_delivery_retries_total", (("channel", "email"),)) not in got

            await mail.answer(f"421 {name} cannot take mail now")

            async def retried() -> float:
                _, text = await get(http, f"{base}/metrics")
                return samples(text).get(
                    ("klasbot_delivery_retries_total", (("channel", "email"),)), 0.0
                )

            async with asyncio.timeout(60):
                while await retried() < expected:
                    await asyncio.sleep(0.2)

            database = tmp_path / "klasbot.db"
            database.rename(tmp_path / "elsewhere.db")  # the volume is gone
            try:
                body = json.loads(await poll(http, f"{base}/readyz", 503, timeout=10))
                assert body == {"status": "unavailable", "failing": ["database"]}
            finally:
                (tmp_path / "elsewhere.db").rename(database)
            await poll(http, f"{base}/readyz", 200, timeout=10)
        finally:
            bot.send_signal(signal.SIGTERM)
            out, err = await bot.communicate()
    assert bot.returncode == 0, err.decode()[-2000:]

    log = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert log
    for line in err.decode().splitlines():
        assert not TEXT_LOG_LINE.match(line), line  # every log line is JSON
    for entry in log:
        assert {"time", "level", "logger", "message"} <= set(entry)
        assert datetime.fromisoformat(entry["time"]).utcoffset() is not None
    text = json.dumps(log, ensure_ascii=False)
    assert any("http: serving" in e["message"] for e in log)
    assert "[name] cannot take mail now" in text  # the mail server's words, redacted
    found = {n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text, re.I)}
    assert not found
