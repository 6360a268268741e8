"""`klasbot run` with Telegram, Matrix and Teams configured at once serves all three, as one real
process: a pupil links with a code on each platform and each gets the answer on their own."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import DEMO_ROSTER
from tests.integration.matrix.helpers import MatrixUser, unique
from tests.integration.matrix.synapse import Synapse
from tests.integration.teams.conftest import BOT, TENANT
from tests.support.fake_connector import FakeConnector, post_activity
from tests.support.processes import klasbot, process_env, start_bot, until
from tests.support.smtp import free_port
from tests.support.telegram_emulator import BotApiEmulator


@pytest.mark.parametrize("synapse", ["12"], indirect=True)  # one room version is enough here
async def test_run_serves_telegram_matrix_and_teams_at_once(
    tmp_path: Path, synapse: Synapse, matrix_users: Callable[[str], Awaitable[MatrixUser]]
) -> None:
    matrix_bot = synapse.register(unique("klasbot"), displayname="klasbot")
    port = free_port()
    async with BotApiEmulator() as emulator, FakeConnector() as connector:
        env = process_env(
            tmp_path,
            KLASBOT_TELEGRAM__TOKEN=emulator.token,
            KLASBOT_TELEGRAM__BASE_URL=emulator.base_url,
            KLASBOT_TELEGRAM__BASE_FILE_URL=emulator.base_file_url,
            KLASBOT_TELEGRAM__POLL_TIMEOUT="1",
            KLASBOT_MATRIX__HOMESERVER=synapse.base_url,
            KLASBOT_MATRIX__USER_ID=matrix_bot.user_id,
            KLASBOT_MATRIX__PASSWORD=matrix_bot.password,
            KLASBOT_MATRIX__SYNC_TIMEOUT="2",
            KLASBOT_TEAMS__ALLOW_UNAUTHENTICATED="true",
            KLASBOT_HTTP__PORT=str(port),
        )
        await klasbot(env, "db", "upgrade")
        await klasbot(env, "roster", "import", str(DEMO_ROSTER))
        codes = {
            row["person"]: row["code"]
            for person in ("p-2b-01", "p-2b-02", "p-2b-03")
            for row in json.loads(
                await klasbot(env, "invites", "create", "--person", person, "--json")
            )
        }
        matrix_pupil = await matrix_users("pupil")
        run = await start_bot(env)
        try:
            # Telegram: a private chat with the bot.
            telegram_pupil = emulator.user("Zoë", "van den Berg")
            emulator.user_sends(telegram_pupil, None, f"/start {codes['p-2b-01']}")
            # Teams: the personal chat, posted to the endpoint the way the connector posts it.
            activity = {
                "type": "message",
                "id": "1",
                "channelId": "msteams",
                "serviceUrl": connector.base_url,
                "from": {"id": "29:p-2b-02", "aadObjectId": "aad-p-2b-02"},
                "recipient": {"id": BOT, "name": "Klasbot"},
                "conversation": {"id": "a:2", "conversationType": "personal", "tenantId": TENANT},
                "text": f"/start {codes['p-2b-02']}",
            }
            url = f"http://127.0.0.1:{port}/api/messages"
            async with aiohttp.ClientSession() as http:
                async with asyncio.timeout(40):
                    while (status := await post_activity(http, url, activity)) == 0:
                        await asyncio.sleep(0.2)
            assert status == 202
            # Matrix: a direct chat with the bot.
            dm = await matrix_pupil.open_direct_chat(matrix_bot.user_id)
            answer = await matrix_pupil.ask(
                dm, f"!start {codes['p-2b-03']}", matrix_bot.user_id, within=40
            )
            assert "Gelukt" in answer
            await until(
                lambda: any("Gelukt" in t for t in emulator.texts(telegram_pupil)),
                "the Telegram pupil linked",
            )
            await until(
                lambda: any("Gelukt" in (m.body.get("text") or "") for m in connector.sent()),
                "the Teams pupil linked",
            )
            assert all("/a:2/activities" in m.path for m in connector.sent())
        finally:
            run.send_signal(signal.SIGTERM)
            async with asyncio.timeout(60):
                _, err = await run.communicate()
        assert run.returncode == 0, err.decode()[-2000:]
    linked = json.loads(await klasbot(env, "dossier", "export", "p-2b-02", "--json"))
    assert [a["platform"] for a in linked["accounts"]] == ["teams"]
