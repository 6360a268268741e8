"""Webhook mode: `klasbot run` as a real process receives its updates from the Bot API emulator
through python-telegram-bot's webhook server, which refuses requests without the secret."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import DEMO_ROSTER
from tests.support.processes import klasbot, process_env, start_bot, until
from tests.support.telegram_emulator import BotApiEmulator

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SECRET = "webhook-secret_0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def api(
    emulator: BotApiEmulator, method: str, **params: object
) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emulator.base_url}{emulator.token}/{method}", json=params) as r:
            return r.status, await r.json()


async def test_emulator_webhook_blocks_get_updates_until_deleted(emulator: BotApiEmulator) -> None:
    port = free_port()  # nothing listens: deliveries fail and are given up
    emulator.webhook_retry_delay = 0.01
    status, body = await api(
        emulator,
        "setWebhook",
        url=f"http://127.0.0.1:{port}/telegram",
        secret_token=SECRET,
        allowed_updates=["message"],
    )
    assert (status, body) == (200, {"ok": True, "result": True})
    status, body = await api(emulator, "getUpdates")
    assert status == 409
    assert body["description"].startswith("Conflict: can't use getUpdates method")
    status, body = await api(
        emulator, "setWebhook", url="http://127.0.0.1:1/x", secret_token="not secret!"
    )
    assert status == 400

    emulator.user_sends(emulator.user("Zoë"), None, "hallo")
    await until(lambda: bool(emulator.webhook_given_up), "update given up")
    _, body = await api(emulator, "getWebhookInfo")
    info = body["result"]
    assert info["url"] == f"http://127.0.0.1:{port}/telegram"
    assert info["pending_update_count"] == 0
    assert info["allowed_updates"] == ["message"]
    assert info["last_error_message"].startswith("Connection failed")

    assert (await api(emulator, "deleteWebhook"))[0] == 200
    _, body = await api(emulator, "getWebhookInfo")
    assert body["result"]["url"] == ""
    status, body = await api(emulator, "getUpdates", timeout=0)
    assert (status, body) == (200, {"ok": True, "result": []})


async def test_run_in_webhook_mode_links_and_refuses_a_wrong_secret(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    port = free_port()
    webhook = f"http://127.0.0.1:{port}/telegram"
    env = process_env(
        tmp_path,
        KLASBOT_TELEGRAM__TOKEN=emulator.token,
        KLASBOT_TELEGRAM__BASE_URL=emulator.base_url,
        KLASBOT_TELEGRAM__BASE_FILE_URL=emulator.base_file_url,
        KLASBOT_TELEGRAM__MODE="webhook",
        KLASBOT_TELEGRAM__WEBHOOK_URL=webhook,
        KLASBOT_TELEGRAM__WEBHOOK_LISTEN="127.0.0.1",
        KLASBOT_TELEGRAM__WEBHOOK_PORT=str(port),
        KLASBOT_TELEGRAM__WEBHOOK_SECRET=SECRET,
    )
    await klasbot(env, "db", "upgrade")
    await klasbot(env, "roster", "import", str(DEMO_ROSTER))
    codes = {
        row["person"]: row["code"]
        for person in ("p-2b-01", "p-2b-02")
        for row in json.loads(await klasbot(env, "invites", "create", "--person", person, "--json"))
    }
    pupil = emulator.user("Zoë", "van den Berg")
    other = emulator.user("Daan", "de Jong")
    # Sent before the bot starts: queued, then delivered once the webhook is set.
    emulator.user_sends(pupil, None, f"/start {codes['p-2b-01']}")
    bot = await start_bot(env)
    try:
        await until(lambda: any("Gelukt" in t for t in emulator.texts(pupil)), "pupil linked")
        assert emulator.webhook_url == webhook
        assert emulator.webhook_secret == SECRET
        assert not any(method == "getUpdates" for method, _ in emulator.calls)
        assert emulator.webhook_given_up == []

        # A forged update: the other pupil's real code, but not from Telegram.
        forged = {
            "update_id": 10_000,
            "message": {
                "message_id": 1,
                "date": 1_790_000_000,
                "chat": {"id": other, "type": "private", "first_name": "Daan"},
                "from": emulator.users[other],
                "text": f"/start {codes['p-2b-02']}",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        emulator.chats[other].started = True  # the bot could answer, if it were fooled
        sent_before = len(emulator.sent)
        async with aiohttp.ClientSession() as session:
            for headers in ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {}):
                async with session.post(webhook, json=forged, headers=headers) as response:
                    assert response.status == 403
        await asyncio.sleep(1.0)
        assert len(emulator.sent) == sent_before
        assert emulator.texts(other) == []

        # The code was not used: the real /start still links, once.
        emulator.user_sends(other, None, f"/start {codes['p-2b-02']}")
        await until(lambda: any("Gelukt" in t for t in emulator.texts(other)), "other linked")
        assert sum("Gelukt" in t for t in emulator.texts(other)) == 1
    finally:
        bot.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _, err = await bot.communicate()
    assert bot.returncode == 0, err.decode()
    assert "klasbot is gestopt" in err.decode()
    assert emulator.webhook_given_up == []
