"""A whole school day at the most verbose log level (`-vv`, DEBUG for every library), as
processes: import, link codes by e-mail over SMTP with a login, `klasbot run` against the Bot API
emulator where the mentor and a pupil link with their codes (typed and as a deep link), strangers
try wrong codes, an announcement goes out. Not one line of any process's log holds the bot
token, the SMTP password (plain or base64, as AUTH sends it) or a link code; no file name holds a
code either."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
from pathlib import Path

import pytest

from tests.conftest import DEMO_ROSTER
from tests.integration.telegram.test_run import SIGNATURE, teacher_binds_a_group, telegram_env
from tests.support.processes import KLASBOT, until
from tests.support.smtp import SmtpSink
from tests.support.telegram_emulator import BotApiEmulator

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SMTP_USER = "klasbot@passie.example"
SMTP_PASSWORD = "Wachtwoord-van-de-school-42"


async def verbose(env: dict[str, str], *args: str) -> tuple[str, str]:
    """`klasbot -vv ARGS`: (stdout, stderr); fails the test on a non-zero exit."""
    proc = await asyncio.create_subprocess_exec(
        *KLASBOT,
        "-vv",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, f"klasbot {' '.join(args)}: {err.decode()}"
    return out.decode(), err.decode()


async def test_a_verbose_day_logs_no_token_password_or_link_code(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    logs: list[str] = []
    with SmtpSink(auth=(SMTP_USER, SMTP_PASSWORD)) as sink:
        env = telegram_env(
            tmp_path,
            emulator,
            KLASBOT_MAIL__TRANSPORT="smtp",
            KLASBOT_MAIL__SMTP_HOST="127.0.0.1",
            KLASBOT_MAIL__SMTP_PORT=str(sink.port),
            KLASBOT_MAIL__SMTP_USERNAME=SMTP_USER,
            KLASBOT_MAIL__SMTP_PASSWORD=SMTP_PASSWORD,
        )
        for args in (("db", "upgrade"), ("roster", "import", str(DEMO_ROSTER))):
            logs.append((await verbose(env, *args))[1])
        out, err = await verbose(env, "invites", "create", "--class", "2B", "--json")
        logs.append(err)
        codes = {row["person"]: row["code"] for row in json.loads(out)}
        out, err = await verbose(env, "invites", "create", "--person", "t-devries", "--json")
        logs.append(err)
        codes.update({row["person"]: row["code"] for row in json.loads(out)})
        logs.append((await verbose(env, "dispatch", "--once"))[1])
        assert sink.count() > 0  # the codes went out by e-mail, after a login

        # The log goes to a file: at DEBUG it outgrows a pipe's buffer long before the end.
        bot_log = tmp_path / "run.log"
        with bot_log.open("wb") as sink_file:
            bot = await asyncio.create_subprocess_exec(
                *KLASBOT, "-vv", "run", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=sink_file
            )
        try:
            teacher, group = await teacher_binds_a_group(emulator, codes["t-devries"])
            pupil = emulator.user("Zoë", "van den Berg")
            # A deep link t.me/<bot>?start=CODE arrives as "/start CODE", in lower case here.
            emulator.user_sends(pupil, None, f"/start {codes['p-2b-01'].lower()}")
            await until(lambda: any("Gelukt" in t for t in emulator.texts(pupil)), "pupil")
            emulator.join_request(pupil, group)
            await until(lambda: (group, pupil) in emulator.approved, "join request approved")
            stranger = emulator.user("Onbekend", "Iemand")
            for wrong in ("ABCDEFGHJK", "ZZZZZZZZZZ"):
                emulator.user_sends(stranger, None, f"/start {wrong}")
            await until(lambda: len(emulator.texts(stranger)) >= 2, "strangers answered")
            emulator.user_sends(teacher, None, "/huiswerk 2B wiskunde morgen Maak opgave 3")
            await until(lambda: bool(emulator.messages(teacher)[-1].buttons()), "preview")
            preview = emulator.messages(teacher)[-1]
            emulator.press_button(teacher, preview, preview.buttons()[0]["callback_data"])
            await until(lambda: any(SIGNATURE in t for t in emulator.texts(group)), "posted")
        finally:
            bot.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                await bot.wait()
        assert bot.returncode == 0, bot_log.read_text()
        logs.append(bot_log.read_text())

    log = "\n".join(logs)
    assert "DEBUG bot." in log
    assert "HTTP Request" in log  # the HTTP client logged its requests (URLs with the token)
    secrets = {
        "bot token": emulator.token,
        "SMTP password": SMTP_PASSWORD,
        "SMTP password as AUTH PLAIN": base64.b64encode(
            f"\0{SMTP_USER}\0{SMTP_PASSWORD}".encode()
        ).decode(),
        "SMTP password as AUTH LOGIN": base64.b64encode(SMTP_PASSWORD.encode()).decode(),
        **{f"code of {p}": c for p, c in codes.items()},
        **{f"code of {p} (lower case)": c.lower() for p, c in codes.items()},
        "a stranger's wrong code": "ABCDEFGHJK",
        # Personal data: the names and e-mail addresses the bot handled all day.
        "the pupil's name": "van den Berg",
        "the mentor's name": "de Vries",
        "the SMTP login": SMTP_USER,
    }
    found = [what for what, secret in secrets.items() if secret in log]
    assert found == [], found
    files = [p.name for p in tmp_path.rglob("*")]
    assert not [f for f in files if any(c in f or c.lower() in f for c in codes.values())]
