"""`klasbot doctor` as the admin runs it: a real process against a real SQLite database, a real
SMTP server (aiosmtpd), the Bot API emulator and a loopback Matrix homeserver that answers the two
requests doctor makes (`/versions` and `whoami`; a real Synapse takes minutes to install, see
tests/integration/matrix/). Exit code 1 exactly when something required is missing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.support.processes import KLASBOT, klasbot, process_env
from tests.support.rosters import Roster, User
from tests.support.smtp import SmtpSink, free_port
from tests.support.telegram_emulator import BOT_USERNAME, BotApiEmulator

TOKEN = "123456:TEST-TOKEN"
MATRIX_USER = "@klasbot:klasbot.test"
MATRIX_TOKEN = "syt_doctor_token"
SCHOOL = ("org-veen", "Veenlanden College")


def _roster(*, principal: bool) -> Roster:
    users = [
        User("t-1", "teacher", "Karin", "Smit", email="k.smit@veen.example"),
        User("s-1", "student", "Sam", "Jansen", birth="2010-03-01", email="s.jansen@veen.example"),
    ]
    if principal:
        users.append(User("d-1", "administrator", "Dirk", "de Wit", email="directie@veen.example"))
    return Roster(
        school=SCHOOL,
        classes=[("cls-1a", "1A")],
        users=users,
        enrollments=[("cls-1a", "t-1", "teacher", True), ("cls-1a", "s-1", "student", False)],
    )


async def doctor(env: dict[str, str], cwd: Path) -> tuple[int, list[dict[str, str]]]:
    """`klasbot doctor --json`: its exit code and its findings."""
    proc = await asyncio.create_subprocess_exec(
        *KLASBOT,
        "doctor",
        "--json",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert not err.strip(), err.decode()
    findings = json.loads(out)
    assert all(set(f) == {"check", "status", "detail"} for f in findings)
    assert proc.returncode is not None
    return proc.returncode, findings


def of(findings: list[dict[str, str]], check: str) -> list[dict[str, str]]:
    return [f for f in findings if f["check"] == check]


async def installed(tmp_path: Path, roster: Roster, **settings: str) -> dict[str, str]:
    """A migrated database with `roster` imported, through the CLI."""
    env = process_env(tmp_path, **settings)
    await klasbot(env, "db", "upgrade")
    await klasbot(env, "roster", "import", str(roster.write(tmp_path / "roster")))
    return env


@pytest.fixture
async def homeserver() -> AsyncIterator[str]:
    """A loopback Matrix homeserver that knows one access token."""

    async def versions(request: web.Request) -> web.Response:
        return web.json_response({"versions": ["v1.11", "v1.12"]})

    async def whoami(request: web.Request) -> web.Response:
        given = request.query.get("access_token") or request.headers.get(
            "Authorization", ""
        ).removeprefix("Bearer ")
        if given != MATRIX_TOKEN:
            body: dict[str, Any] = {"errcode": "M_UNKNOWN_TOKEN", "error": "Invalid access token"}
            return web.json_response(body, status=401)
        return web.json_response({"user_id": MATRIX_USER, "device_id": "DOCTOR"})

    app = web.Application()
    app.router.add_get("/_matrix/client/versions", versions)
    app.router.add_get("/_matrix/client/{version}/account/whoami", whoami)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_fresh_installation_lacks_its_schema(tmp_path: Path) -> None:
    code, findings = await doctor(process_env(tmp_path), tmp_path)
    assert code == 1
    [schema] = of(findings, "schema")
    assert schema["status"] == "missing"
    assert "klasbot db upgrade" in schema["detail"]
    # Nothing was created by looking.
    assert not (tmp_path / "klasbot.db").exists()
    # The default mail transport writes files: said, not required.
    [mail] = of(findings, "mail")
    assert mail["status"] == "warning"


async def test_everything_in_order(tmp_path: Path, homeserver: str) -> None:
    """A roster with a principal who has an e-mail address, a reachable mail server with a
    login, Telegram and Matrix answering: nothing required is missing."""
    with SmtpSink(auth=("klasbot", "geheim")) as sink:
        async with BotApiEmulator(TOKEN) as emulator:
            env = await installed(
                tmp_path,
                _roster(principal=True),
                KLASBOT_MAIL__TRANSPORT="smtp",
                KLASBOT_MAIL__SMTP_HOST="127.0.0.1",
                KLASBOT_MAIL__SMTP_PORT=str(sink.port),
                KLASBOT_MAIL__SMTP_USERNAME="klasbot",
                KLASBOT_MAIL__SMTP_PASSWORD="geheim",
                KLASBOT_TELEGRAM__TOKEN=TOKEN,
                KLASBOT_TELEGRAM__BASE_URL=emulator.base_url,
                KLASBOT_MATRIX__HOMESERVER=homeserver,
                KLASBOT_MATRIX__USER_ID=MATRIX_USER,
                KLASBOT_MATRIX__ACCESS_TOKEN=MATRIX_TOKEN,
                KLASBOT_POST__RETURN_ADDRESS="Postbus 12, 3900 AB Veenendaal",
                KLASBOT_SCHOOL__LANGUAGE="en",
            )
            code, findings = await doctor(env, tmp_path)
            assert "getMe" in [method for method, _ in emulator.calls]
    assert sink.count() == 0  # connected and logged in; nothing sent
    statuses = {f["check"]: f["status"] for f in findings}
    assert statuses == {
        "config": "ok",
        "database": "ok",
        "schema": "ok",
        "roster": "ok",
        "school-name": "ok",
        "leadership": "ok",
        "letters": "ok",
        "mail": "ok",
        "telegram": "ok",
        "matrix": "ok",
        "timezone": "ok",
        "quiet-hours": "ok",
    }, findings
    assert code == 0
    assert len(of(findings, "leadership")) == 1
    assert f"@{BOT_USERNAME}" in of(findings, "telegram")[0]["detail"]
    assert MATRIX_USER in of(findings, "matrix")[0]["detail"]
    assert "login as klasbot works" in of(findings, "mail")[0]["detail"]
    # process_env configures school.name: every letter and e-mail says it.
    assert "De Passie Utrecht (school.name)" in of(findings, "school-name")[0]["detail"]


async def test_what_is_missing_is_named(tmp_path: Path, homeserver: str) -> None:
    """No principal and no configured leadership address, no return address, a mail server
    that is not there, a wrong bot token and a Matrix token the homeserver does not know."""
    closed = free_port()
    async with BotApiEmulator(TOKEN) as emulator:
        env = await installed(
            tmp_path,
            _roster(principal=False),
            KLASBOT_SCHOOL__NAME="",
            KLASBOT_MAIL__TRANSPORT="smtp",
            KLASBOT_MAIL__SMTP_HOST="127.0.0.1",
            KLASBOT_MAIL__SMTP_PORT=str(closed),
            KLASBOT_TELEGRAM__TOKEN="123456:WRONG-TOKEN",
            KLASBOT_TELEGRAM__BASE_URL=emulator.base_url,
            KLASBOT_MATRIX__HOMESERVER=homeserver,
            KLASBOT_MATRIX__USER_ID=MATRIX_USER,
            KLASBOT_MATRIX__ACCESS_TOKEN="syt_not_this_one",
        )
        code, findings = await doctor(env, tmp_path)
    assert code == 1
    [leadership] = of(findings, "leadership")
    assert leadership["status"] == "warning"
    assert "Veenlanden College (org-veen)" in leadership["detail"]
    assert "school.leadership_emails" in leadership["detail"]
    [name] = of(findings, "school-name")
    assert (name["status"], "Veenlanden College" in name["detail"]) == ("ok", True)
    [letters] = of(findings, "letters")
    assert letters["status"] == "warning"
    assert "post.return_address" in letters["detail"]
    assert "Veenlanden College" in letters["detail"]  # the letterhead: the roster's name
    [mail] = of(findings, "mail")
    assert (mail["status"], f"127.0.0.1:{closed}" in mail["detail"]) == ("missing", True)
    [telegram] = of(findings, "telegram")
    assert telegram["status"] == "missing"
    assert "KLASBOT_TELEGRAM__TOKEN" in telegram["detail"]
    assert "WRONG-TOKEN" not in json.dumps(findings)  # a secret is never repeated
    [matrix] = of(findings, "matrix")
    assert matrix["status"] == "missing"
    assert MATRIX_USER in matrix["detail"]
    assert {f["check"] for f in findings if f["status"] == "missing"} == {
        "mail",
        "telegram",
        "matrix",
    }


async def test_unreachable_platforms_and_the_dutch_lines(tmp_path: Path) -> None:
    """Nothing listens at the configured Bot API and homeserver; the lines are Dutch."""
    env = process_env(
        tmp_path,
        KLASBOT_TELEGRAM__TOKEN=TOKEN,
        KLASBOT_TELEGRAM__BASE_URL=f"http://127.0.0.1:{free_port()}/bot",
        KLASBOT_MATRIX__HOMESERVER=f"http://127.0.0.1:{free_port()}",
        KLASBOT_MATRIX__USER_ID=MATRIX_USER,
        KLASBOT_MATRIX__PASSWORD="geheim",
    )
    proc = await asyncio.create_subprocess_exec(
        *KLASBOT,
        "doctor",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    lines = out.decode().splitlines()
    assert any(line.startswith("ontbreekt") and "databaseschema" in line for line in lines)
    assert any(line.startswith("ontbreekt") and "Telegram" in line for line in lines), lines
    matrix = [line for line in lines if "Matrix:" in line]
    assert len(matrix) == 1
    assert matrix[0].startswith("ontbreekt")
    assert "niet bereikbaar" in matrix[0]
    assert any(line.startswith("waarschuwing") and "e-mail" in line for line in lines)
    assert "geheim" not in out.decode()
