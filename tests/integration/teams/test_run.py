"""`klasbot run` with Teams configured: the process serves /api/messages on `http.port`."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import aiohttp

from tests.conftest import DEMO_ROSTER
from tests.integration.teams.conftest import BOT, TENANT
from tests.support.fake_connector import FakeConnector, post_activity
from tests.support.processes import klasbot, process_env, start_bot, until
from tests.support.smtp import free_port


async def test_run_serves_the_teams_endpoint(tmp_path: Path) -> None:
    port = free_port()
    env = process_env(
        tmp_path, KLASBOT_TEAMS__ALLOW_UNAUTHENTICATED="true", KLASBOT_HTTP__PORT=str(port)
    )
    await klasbot(env, "db", "upgrade")
    await klasbot(env, "roster", "import", str(DEMO_ROSTER))
    [row] = json.loads(await klasbot(env, "invites", "create", "--person", "t-devries", "--json"))
    async with FakeConnector() as fake, aiohttp.ClientSession() as http:
        bot = await start_bot(env)
        try:
            activity = {
                "type": "message",
                "id": "1",
                "channelId": "msteams",
                "serviceUrl": fake.base_url,
                "from": {"id": "29:t-devries", "aadObjectId": "aad-t-devries"},
                "recipient": {"id": BOT, "name": "Klasbot"},
                "conversation": {"id": "a:1", "conversationType": "personal", "tenantId": TENANT},
                "text": f"/start {row['code']}",
            }
            url = f"http://127.0.0.1:{port}/api/messages"
            async with asyncio.timeout(30):
                while (status := await post_activity(http, url, activity)) == 0:
                    await asyncio.sleep(0.2)
            assert status == 202
            await until(lambda: bool(fake.sent()), "the answer in the personal chat")
            assert "/a:1/activities" in fake.sent()[0].path
            assert "Gelukt" in fake.sent()[0].body["text"]  # linked with the code
        finally:
            bot.send_signal(signal.SIGTERM)
            out, err = await bot.communicate()
        assert bot.returncode == 0, err.decode()[-2000:]
