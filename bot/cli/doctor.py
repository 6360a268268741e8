"""`klasbot doctor`: checks the configuration and the environment, one line per finding.

The core's findings (schema, roster, schools, letters, time) come from `bot.usecases.doctor`;
this module adds those about the outside world: the database connection, the mail server and
each configured chat platform, each tried with a short timeout. Nothing is changed or recorded:
a stored Matrix session is only read, a password login is logged out again."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.common import JSON_HELP, app, config_path, emit_json, fail, lang, out, settings
from bot.i18n import Msg

if TYPE_CHECKING:
    from bot.usecases.doctor import Finding
    from config.settings import (
        MailSettings,
        MatrixSettings,
        Settings,
        TelegramSettings,
    )

TIMEOUT = 5.0
"""Seconds each outside peer (database, mail server, chat platform) gets to answer."""

M_SCHEMA_OK = Msg("up to date (revision {revision})")
M_SCHEMA_NONE = Msg("no schema yet; run `klasbot db upgrade`")
M_SCHEMA_OLD = Msg("revision {revision}, the latest is {head}; run `klasbot db upgrade`")
M_SCHEMA_UNKNOWN = Msg(
    "revision {revision} is unknown to this version of klasbot (its latest is {head}); update "
    "klasbot"
)
M_ROSTER_EMPTY = Msg(
    "no roster imported yet, so nobody can be reached; run `klasbot roster import DIR`"
)
M_CONFIG_FILE = Msg("loaded from {path} and the environment")
M_CONFIG_ENV = Msg("the defaults and the environment (no configuration file)")
M_DB_REACHABLE = Msg("{database} is reachable")
M_DB_UNREACHABLE = Msg(
    "{database} is not reachable: {error}; check database_url (KLASBOT_DATABASE_URL)"
)
M_DB_NO_FILE = Msg("{database} does not exist yet; run `klasbot db upgrade`")
M_MAIL_FILES = Msg(
    'mail is not sent, only written as files to {directory}; set mail.transport = "smtp" '
    "and the mail server (mail.smtp_host) to send it"
)
M_OUTBOX_UNWRITABLE = Msg("mail cannot be written to {directory}: {error}")
M_NOT_WRITABLE = Msg("not writable")
M_NOT_A_DIRECTORY = Msg("not a directory")
M_SMTP_OK = Msg("the mail server {server} is reachable")
M_SMTP_LOGIN_OK = Msg("the mail server {server} is reachable and the login as {user} works")
M_SMTP_UNREACHABLE = Msg(
    "the mail server {server} is not reachable: {error}; check mail.smtp_host, mail.smtp_port "
    "and mail.smtp_security"
)
M_SMTP_LOGIN_FAILED = Msg(
    "the login as {user} on the mail server {server} failed: {error}; check mail.smtp_username "
    "and KLASBOT_MAIL__SMTP_PASSWORD"
)
M_NO_PLATFORM = Msg(
    "none configured (KLASBOT_TELEGRAM__TOKEN, KLASBOT_MATRIX__HOMESERVER, KLASBOT_TEAMS__APP_ID): "
    "announcements go by e-mail and letter only"
)
M_TEAMS_CONFIGURED = Msg(
    "configured: klasbot run serves POST /api/messages on port {port} (register "
    "https://<host>/api/messages as the bot's messaging endpoint); the app secret is checked by "
    "Microsoft Entra when the bot first posts"
)
M_TEAMS_UNAUTHENTICATED = Msg(
    "authentication is off (teams.allow_unauthenticated): for local testing only, never for a "
    "school's real team; klasbot run serves POST /api/messages on port {port}"
)
M_TEAMS_NO_SECRET = Msg(
    "teams.app_id is set but KLASBOT_TEAMS__APP_PASSWORD is not: Teams stays off"
)
M_TELEGRAM_OK = Msg("{url} answers: the bot is @{username}")
M_TELEGRAM_OTHER_BOT = Msg(
    "{url} answers, but the token belongs to @{username} and telegram.username says @{configured}"
)
M_TELEGRAM_TOKEN_REFUSED = Msg(
    "{url} refuses the bot token: {error}; check KLASBOT_TELEGRAM__TOKEN (from @BotFather)"
)
M_TELEGRAM_UNREACHABLE = Msg(
    "{url} is not reachable: {error}; check telegram.base_url and the network"
)
M_TELEGRAM_NO_TOKEN = Msg(
    "telegram.username is set but KLASBOT_TELEGRAM__TOKEN is not: Telegram is not used"
)
M_MATRIX_INCOMPLETE = Msg(
    "matrix.homeserver is set, but not matrix.user_id with KLASBOT_MATRIX__PASSWORD or "
    "KLASBOT_MATRIX__ACCESS_TOKEN: Matrix is not used"
)
M_MATRIX_UNREACHABLE = Msg(
    "{homeserver} is not reachable: {error}; check matrix.homeserver and the network"
)
M_MATRIX_OK = Msg("{homeserver} is reachable; the bot is logged in as {user}")
M_MATRIX_LOGIN_FAILED = Msg(
    "{homeserver} is reachable, but the login as {user} failed: {error}; check "
    "KLASBOT_MATRIX__PASSWORD or KLASBOT_MATRIX__ACCESS_TOKEN"
)


@app.command("doctor")
def doctor_command(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Check the configuration and the environment: the database, the roster, each school's
    name and leadership, mail and the chat platforms. One line per finding; exits 1 when
    something required is missing."""
    import asyncio
    import logging

    from bot.usecases import doctor
    from bot.usecases.doctor import Status
    from config.settings import ConfigError

    config = settings()  # a configuration that does not load is a one-line error already
    language = lang()
    try:
        findings = asyncio.run(diagnose(config))
    except ConfigError as exc:  # KLASBOT_NOW
        fail(exc.render(language))
    except Exception as exc:  # each check catches its own; this is a bug, said in one line
        logging.getLogger("klasbot").debug("doctor failed", exc_info=True)
        fail(f"{type(exc).__name__}: {_error(exc)}")
    if as_json:
        emit_json(
            [
                {"check": f.check, "status": f.status.value, "detail": f.detail(language)}
                for f in findings
            ]
        )
    else:
        labels = {s: doctor.STATUS_LABELS[s](language) for s in Status}
        width = max(len(label) for label in labels.values())
        for f in findings:
            line = f"{labels[f.status]:<{width}}  {f.label(language)}: {f.detail(language)}"
            out.print(line, markup=False)
    if doctor.required_missing(findings):
        raise typer.Exit(1)


async def diagnose(config: Settings) -> list[Finding]:
    """Every finding, in the order the admin fixes them."""
    from bot import bootstrap
    from bot.usecases import doctor
    from bot.usecases.doctor import Finding, Status

    path = config_path()
    findings = [
        Finding("config", Status.OK, M_CONFIG_FILE, {"path": path})
        if path is not None
        else Finding("config", Status.OK, M_CONFIG_ENV)
    ]
    session: tuple[str | None, str | None] = (None, None)
    if await _database(config, findings):
        async with bootstrap.build(config) as built:
            core = await doctor.roster_findings(
                built.ctx,
                return_address=config.post.return_address,
                letterhead=config.post.letterhead,
            )
            findings += [_what_to_run(f) for f in core]
            async with built.db.transaction() as tx:
                session = (
                    await tx.state.get("matrix", "session"),
                    await tx.state.get("matrix", "session_user"),
                )
    findings.append(await _mail(config.mail))
    findings += await _platforms(config, session)
    findings += doctor.clock_findings(bootstrap.make_policy(config), bootstrap.make_clock().now())
    return findings


def _error(exc: BaseException) -> str:
    """An exception in one line (its first), never a traceback."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


async def _database(config: Settings, findings: list[Finding]) -> bool:
    """Reachable and migrated to the latest revision; True when the core's checks can run."""
    import asyncio

    from bot import bootstrap
    from bot.usecases.doctor import Finding, Status
    from storage.migrate import current_revision, revisions
    from storage.store import Database

    name = bootstrap.database_name(config.database_url)
    if _no_sqlite_file(config.database_url):
        # Connecting would create an empty file: that is `db upgrade`'s to do.
        findings.append(Finding("schema", Status.MISSING, M_DB_NO_FILE, {"database": name}))
        return False
    db = Database(config.database_url)
    try:
        async with asyncio.timeout(TIMEOUT):
            current = await current_revision(db.engine)
    except Exception as exc:
        error = {"database": name, "error": _error(exc) if str(exc) else "timeout"}
        findings.append(Finding("database", Status.MISSING, M_DB_UNREACHABLE, error))
        return False
    finally:
        await db.dispose()
    findings.append(Finding("database", Status.OK, M_DB_REACHABLE, {"database": name}))
    head, known = revisions()
    schema = schema_finding(current, head, known)
    findings.append(schema)
    return schema.status == Status.OK


def schema_finding(current: str | None, head: str, known: Collection[str]) -> Finding:
    """The database's migration revision (`current`, None: no schema) against the latest one
    (`head`); `known` are all revisions of this klasbot."""
    from bot.usecases.doctor import Finding, Status

    if current is None:
        return Finding("schema", Status.MISSING, M_SCHEMA_NONE)
    if current == head:
        return Finding("schema", Status.OK, M_SCHEMA_OK, {"revision": current})
    revisions = {"revision": current, "head": head}
    if current in known:
        return Finding("schema", Status.MISSING, M_SCHEMA_OLD, revisions)
    return Finding("schema", Status.MISSING, M_SCHEMA_UNKNOWN, revisions)


def _what_to_run(finding: Finding) -> Finding:
    """A core finding with the command that mends it, for the admin."""
    from bot.usecases import doctor
    from bot.usecases.doctor import Finding

    if finding.msg == doctor.M_ROSTER_EMPTY:
        return Finding(finding.check, finding.status, M_ROSTER_EMPTY)
    return finding


def _no_sqlite_file(database_url: str) -> bool:
    """Whether the database is an SQLite file that does not exist (yet)."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return False
    return not Path(url.database).expanduser().is_file()


def _unwritable(directory: Path) -> Msg | None:
    """Why mail cannot be written to `directory` (created when the first mail is), if so."""
    existing = directory.expanduser().absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return M_NOT_A_DIRECTORY
    if not os.access(existing, os.W_OK | os.X_OK):
        return M_NOT_WRITABLE
    return None


async def _mail(mail: MailSettings) -> Finding:
    from bot.usecases.doctor import Finding, Status

    if mail.transport != "smtp":
        problem = _unwritable(mail.outbox_dir)
        where = {"directory": mail.outbox_dir}
        if problem is not None:
            return Finding("mail", Status.MISSING, M_OUTBOX_UNWRITABLE, {**where, "error": problem})
        return Finding("mail", Status.WARNING, M_MAIL_FILES, where)
    import aiosmtplib

    server = f"{mail.smtp_host}:{mail.smtp_port}"
    smtp = aiosmtplib.SMTP(
        hostname=mail.smtp_host,
        port=mail.smtp_port,
        timeout=min(mail.smtp_timeout, TIMEOUT),
        use_tls=mail.smtp_security == "tls",
        start_tls=mail.smtp_security == "starttls",
    )
    try:
        await smtp.connect()
        await smtp.ehlo()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        smtp.close()
        error = {"server": server, "error": _error(exc)}
        return Finding("mail", Status.MISSING, M_SMTP_UNREACHABLE, error)
    try:
        if mail.smtp_username is None:
            return Finding("mail", Status.OK, M_SMTP_OK, {"server": server})
        user = {"server": server, "user": mail.smtp_username}
        try:
            await smtp.login(mail.smtp_username, mail.smtp_password or "")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Finding(
                "mail", Status.MISSING, M_SMTP_LOGIN_FAILED, {**user, "error": _error(exc)}
            )
        return Finding("mail", Status.OK, M_SMTP_LOGIN_OK, user)
    finally:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()


async def _platforms(config: Settings, session: tuple[str | None, str | None]) -> list[Finding]:
    from bot.usecases.doctor import Finding, Status

    findings: list[Finding] = []
    if config.telegram.token:
        findings.append(await _telegram(config.telegram))
    elif config.telegram.username:
        findings.append(Finding("telegram", Status.WARNING, M_TELEGRAM_NO_TOKEN))
    if config.matrix.homeserver:
        findings.append(await _matrix(config.matrix, session))
    port = {"port": config.http.port or 3978}
    if config.teams.allow_unauthenticated:
        findings.append(Finding("teams", Status.WARNING, M_TEAMS_UNAUTHENTICATED, port))
    elif config.teams.app_id and config.teams.app_password:
        findings.append(Finding("teams", Status.OK, M_TEAMS_CONFIGURED, port))
    elif config.teams.app_id:
        findings.append(Finding("teams", Status.MISSING, M_TEAMS_NO_SECRET))
    if not findings:
        findings.append(Finding("platforms", Status.WARNING, M_NO_PLATFORM))
    return findings


async def _telegram(s: TelegramSettings) -> Finding:
    """getMe through python-telegram-bot, at the configured Bot API (`telegram.base_url`)."""
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, TelegramError
    from telegram.request import HTTPXRequest

    from bot.usecases.doctor import Finding, Status

    def request() -> HTTPXRequest:
        return HTTPXRequest(
            connect_timeout=TIMEOUT, read_timeout=TIMEOUT, write_timeout=TIMEOUT, pool_timeout=1
        )

    url = {"url": s.base_url}
    bot = Bot(
        s.token or "",
        base_url=s.base_url,
        base_file_url=s.base_file_url,
        request=request(),
        get_updates_request=request(),
    )
    try:
        me = await bot.get_me()
    except InvalidToken as exc:
        return Finding(
            "telegram", Status.MISSING, M_TELEGRAM_TOKEN_REFUSED, {**url, "error": _error(exc)}
        )
    except NetworkError as exc:  # TimedOut too
        error = {**url, "error": _error(exc)}
        return Finding("telegram", Status.MISSING, M_TELEGRAM_UNREACHABLE, error)
    except TelegramError as exc:
        error = {**url, "error": _error(exc)}
        return Finding("telegram", Status.MISSING, M_TELEGRAM_TOKEN_REFUSED, error)
    finally:
        await bot.shutdown()
    username = me.username or str(me.id)
    if s.username and s.username.lower() != username.lower():
        other = {**url, "username": username, "configured": s.username}
        return Finding("telegram", Status.WARNING, M_TELEGRAM_OTHER_BOT, other)
    return Finding("telegram", Status.OK, M_TELEGRAM_OK, {**url, "username": username})


async def _matrix(s: MatrixSettings, session: tuple[str | None, str | None]) -> Finding:
    """The homeserver's `/_matrix/client/versions`, then the bot's login: the access token or
    the session `klasbot run` stored (whoami), else a password login that is logged out again."""
    import logging

    import aiohttp
    from nio import AsyncClient, AsyncClientConfig, LoginResponse, WhoamiResponse

    from bot.usecases.doctor import Finding, Status

    if not s.homeserver or not s.user_id or not (s.password or s.access_token):
        return Finding("matrix", Status.WARNING, M_MATRIX_INCOMPLETE)
    where: dict[str, Any] = {"homeserver": s.homeserver}
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(f"{s.homeserver.rstrip('/')}/_matrix/client/versions") as response,
        ):
            response.raise_for_status()
            answer = await response.json(content_type=None)
            if not isinstance(answer, dict) or not answer.get("versions"):
                raise ValueError("no Matrix client API at this address")
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        error = _error(exc) if str(exc) else type(exc).__name__
        return Finding("matrix", Status.MISSING, M_MATRIX_UNREACHABLE, {**where, "error": error})
    config = AsyncClientConfig(
        max_limit_exceeded=0, max_timeouts=0, request_timeout=TIMEOUT, encryption_enabled=False
    )
    client = AsyncClient(s.homeserver, s.user_id, config=config)
    user = {**where, "user": s.user_id}
    # nio warns that an error answer (401) is no valid whoami answer; the finding says it.
    responses = logging.getLogger("nio.responses")
    level = responses.level
    responses.setLevel(max(level, logging.ERROR))
    try:
        stored_token, stored_user = session
        token = s.access_token or (stored_token if stored_user == s.user_id else None)
        if token:
            client.access_token = token
            who = await client.whoami()
            if isinstance(who, WhoamiResponse):
                return Finding("matrix", Status.OK, M_MATRIX_OK, {**where, "user": who.user_id})
            if s.access_token or not s.password:
                return Finding(
                    "matrix", Status.MISSING, M_MATRIX_LOGIN_FAILED, {**user, "error": str(who)}
                )
            client.access_token = ""  # the stored session ended; the password is tried
        login = await client.login(password=s.password or "", device_name="klasbot doctor")
        if not isinstance(login, LoginResponse):
            return Finding(
                "matrix", Status.MISSING, M_MATRIX_LOGIN_FAILED, {**user, "error": str(login)}
            )
        await client.logout()
        return Finding("matrix", Status.OK, M_MATRIX_OK, {**where, "user": login.user_id})
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        failed = {**user, "error": _error(exc)}
        return Finding("matrix", Status.MISSING, M_MATRIX_LOGIN_FAILED, failed)
    finally:
        responses.setLevel(level)
        await client.close()
