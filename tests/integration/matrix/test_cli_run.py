"""The operator's path on Matrix, as real processes: `klasbot groups create --platform matrix`
creates the class room, `klasbot run` links, invites, previews and posts, and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.conftest import DEMO_ROSTER
from tests.integration.matrix.helpers import MatrixUser, unique
from tests.integration.matrix.synapse import Synapse
from tests.support.processes import klasbot, process_env, start_bot

SIGNATURE = "— J. de Vries, mentor 2B, De Passie Utrecht"


async def test_groups_create_and_run_as_processes(
    tmp_path: Path, synapse: Synapse, matrix_users: Callable[[str], Awaitable[MatrixUser]]
) -> None:
    bot = synapse.register(unique("klasbot"), displayname="klasbot")
    env = process_env(
        tmp_path,
        KLASBOT_MATRIX__HOMESERVER=synapse.base_url,
        KLASBOT_MATRIX__USER_ID=bot.user_id,
        KLASBOT_MATRIX__PASSWORD=bot.password,
        KLASBOT_MATRIX__SYNC_TIMEOUT="2",
    )
    await klasbot(env, "db", "upgrade")
    await klasbot(env, "roster", "import", str(DEMO_ROSTER))
    created = json.loads(
        await klasbot(env, "groups", "create", "--class", "2B", "--platform", "matrix", "--json")
    )
    room = created["chat"]
    assert room.startswith("!")
    codes = {
        row["person"]: row["code"]
        for person in ("t-devries", "p-2b-01")
        for row in json.loads(await klasbot(env, "invites", "create", "--person", person, "--json"))
    }
    teacher = await matrix_users("teacher")
    pupil = await matrix_users("pupil")
    run = await start_bot(env)
    try:
        dm = await pupil.open_direct_chat(bot.user_id)
        assert "Gelukt" in await pupil.ask(dm, f"!start {codes['p-2b-01']}", bot.user_id, within=40)
        await pupil.until(lambda: room in pupil.invites, what="the class room invite", within=40)
        joined = await pupil.client.join(room)
        assert getattr(joined, "room_id", None) == room, joined

        teacher_dm = await teacher.open_direct_chat(bot.user_id)
        await teacher.ask(teacher_dm, f"!start {codes['t-devries']}", bot.user_id, within=40)
        preview = await teacher.ask(
            teacher_dm, "/huiswerk 2B wiskunde morgen Maak opgave 3", bot.user_id, within=40
        )
        assert SIGNATURE in preview
        await teacher.ask(teacher_dm, "!ja", bot.user_id, within=40)
        await pupil.until(
            lambda: any(SIGNATURE in t for t in pupil.texts(room, bot.user_id)),
            what="the announcement",
            within=40,
        )
    finally:
        run.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            _, err = await run.communicate()
    assert run.returncode == 0, err.decode()
    rows = {r["pupil"]: r for r in json.loads(await klasbot(env, "deliveries", "1", "--json"))}
    assert (rows["p-2b-01"]["channel"], rows["p-2b-01"]["status"]) == ("group", "sent")
    assert rows["p-2b-05"]["reason"] == "under-13"
