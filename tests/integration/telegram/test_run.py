"""`klasbot run` as a real process against the Bot API emulator: the wiring an operator uses."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from tests.conftest import DEMO_ROSTER
from tests.support.processes import klasbot, process_env, start_bot, until
from tests.support.telegram_emulator import BotApiEmulator

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIGNATURE = "— J. de Vries, mentor 2B, De Passie Utrecht"


async def school_with_codes(env: dict[str, str]) -> dict[str, str]:
    """A migrated database holding the demo school; link codes for the mentor and Zoë (14)."""
    await klasbot(env, "db", "upgrade")
    await klasbot(env, "roster", "import", str(DEMO_ROSTER))
    return {
        row["person"]: row["code"]
        for person in ("t-devries", "p-2b-01")
        for row in json.loads(await klasbot(env, "invites", "create", "--person", person, "--json"))
    }


async def teacher_binds_a_group(emulator: BotApiEmulator, code: str) -> tuple[int, int]:
    """The mentor links with `code`, creates a group and binds it: (teacher, group)."""
    teacher = emulator.user("Jan", "de Vries")
    emulator.user_sends(teacher, None, f"/start {code}")
    await until(lambda: any("Gelukt" in t for t in emulator.texts(teacher)), "teacher linked")
    group = emulator.group("Klas 2B", owner=teacher)
    emulator.user_sends(teacher, group, "/koppel 2B")
    await until(lambda: any("2B" in t for t in emulator.texts(group)), "group bound")
    return teacher, group


def telegram_env(tmp_path: Path, emulator: BotApiEmulator, **settings: str) -> dict[str, str]:
    return process_env(
        tmp_path,
        KLASBOT_TELEGRAM__TOKEN=emulator.token,
        KLASBOT_TELEGRAM__BASE_URL=emulator.base_url,
        KLASBOT_TELEGRAM__BASE_FILE_URL=emulator.base_file_url,
        KLASBOT_TELEGRAM__POLL_TIMEOUT="1",
        **settings,
    )


async def test_run_links_binds_previews_and_posts_then_stops_on_sigterm(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    env = telegram_env(tmp_path, emulator)
    codes = await school_with_codes(env)
    bot = await start_bot(env)
    try:
        teacher, group = await teacher_binds_a_group(emulator, codes["t-devries"])
        pupil = emulator.user("Zoë", "van den Berg")
        groups = json.loads(await klasbot(env, "groups", "--json"))
        assert [(g["class"], g["platform"], g["chat"]) for g in groups] == [
            ("2B", "telegram", str(group))
        ]

        emulator.user_sends(pupil, None, f"/start {codes['p-2b-01']}")
        await until(
            lambda: (
                len(emulator.invite_links[group]) > 0
                and any("Gelukt" in t for t in emulator.texts(pupil))
            ),
            "pupil linked",
        )
        emulator.join_request(pupil, group)
        await until(lambda: (group, pupil) in emulator.approved, "join request approved")

        emulator.user_sends(teacher, None, "/huiswerk 2B wiskunde morgen Maak opgave 3")
        await until(lambda: bool(emulator.messages(teacher)[-1].buttons()), "preview with buttons")
        preview = emulator.messages(teacher)[-1]
        assert SIGNATURE in preview.text
        emulator.press_button(teacher, preview, preview.buttons()[0]["callback_data"])
        await until(
            lambda: any(SIGNATURE in t for t in emulator.texts(group)), "announcement posted"
        )
        assert sum(SIGNATURE in t for t in emulator.texts(group)) == 1
    finally:
        bot.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _, err = await bot.communicate()
    assert bot.returncode == 0, err.decode()
    assert "klasbot is gestopt" in err.decode()
    [row] = [
        r
        for r in json.loads(await klasbot(env, "deliveries", "1", "--json"))
        if r["pupil"] == "p-2b-01"
    ]
    assert (row["channel"], row["status"]) == ("group", "sent")


async def test_a_platform_minimum_age_is_the_same_for_run_announce_and_dispatch(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """KLASBOT_TELEGRAM__MIN_AGE=16: the running bot keeps Zoë (14) out of the Telegram group,
    and `klasbot announce` and `klasbot dispatch`, separate processes that never connect to
    Telegram, route her by e-mail for the same reason."""
    env = telegram_env(tmp_path, emulator, KLASBOT_TELEGRAM__MIN_AGE="16")
    codes = await school_with_codes(env)
    bot = await start_bot(env)
    try:
        _, group = await teacher_binds_a_group(emulator, codes["t-devries"])
        pupil = emulator.user("Zoë", "van den Berg")
        emulator.user_sends(pupil, None, f"/start {codes['p-2b-01']}")
        await until(lambda: any("16" in t for t in emulator.texts(pupil)), "told about 16+")
        emulator.join_request(pupil, group)
        await until(lambda: (group, pupil) in emulator.declined, "join request declined")
    finally:
        bot.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _, err = await bot.communicate()
    assert bot.returncode == 0, err.decode()

    send_only = {k: v for k, v in env.items() if not k.startswith("KLASBOT_TELEGRAM__TOKEN")}
    announced = json.loads(
        await klasbot(
            send_only,
            "announce",
            "--class",
            "2B",
            "--as",
            "t-devries",
            "--kind",
            "homework",
            "--subject",
            "wiskunde",
            "--date",
            "morgen",
            "--text",
            "Maak opgave 3.",
            "--json",
        )
    )
    rows = {
        r["pupil"]: r
        for r in json.loads(await klasbot(env, "deliveries", str(announced["id"]), "--json"))
    }
    assert (rows["p-2b-01"]["channel"], rows["p-2b-01"]["reason"]) == ("email", "platform-age")
    await klasbot(send_only, "dispatch", "--once")
    rows = {
        r["pupil"]: r
        for r in json.loads(await klasbot(env, "deliveries", str(announced["id"]), "--json"))
    }
    assert (rows["p-2b-01"]["channel"], rows["p-2b-01"]["reason"]) == ("email", "platform-age")
    assert rows["p-2b-01"]["status"] == "sent"


async def test_the_most_verbose_log_of_a_running_bot_holds_no_token(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    env = telegram_env(tmp_path, emulator)
    codes = await school_with_codes(env)
    bot = await start_bot(env, "-vv")
    try:
        await teacher_binds_a_group(emulator, codes["t-devries"])
    finally:
        bot.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _, err = await bot.communicate()
    assert bot.returncode == 0, err.decode()
    log = err.decode()
    # The HTTP client logged its requests (the URLs that hold the token) and klasbot its debug
    # lines: the log is as verbose as it gets, and the token is in none of it. The libraries'
    # debug lines (message texts: personal data) stay off.
    assert "HTTP Request" in log
    assert "DEBUG bot." in log
    assert "DEBUG telegram" not in log
    assert "DEBUG httpcore" not in log
    assert emulator.token not in log
    assert "[redacted]" in log
