"""The one place that wires configuration, storage and adapters to the core."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import time, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from adapters.console.platform import ConsolePlatform
from adapters.matrix.capabilities import capabilities as matrix_capabilities
from adapters.teams.capabilities import capabilities as teams_capabilities
from adapters.telegram.capabilities import capabilities as telegram_capabilities
from bot.clock import ShiftedClock, SystemClock
from bot.domain import Kind
from bot.policy import SchoolPolicy
from bot.ports import ChatPlatform, Clock, PlatformCapabilities
from bot.rules.content import PublicContacts
from bot.rules.lesson_hours import LessonHours
from bot.rules.quiet_hours import QuietHours
from bot.rules.school_calendar import parse_holiday, parse_year_end
from bot.usecases import leases
from bot.usecases.context import Context
from config.settings import Settings, clock_start, load_settings
from storage.store import Database

if TYPE_CHECKING:
    from bot.chat.front import ChatFrontEnd
    from bot.dispatch import Dispatcher

logger = logging.getLogger(__name__)


def make_clock() -> Clock:
    start = clock_start()
    return ShiftedClock(start) if start else SystemClock()


def declared_platforms(settings: Settings) -> dict[str, PlatformCapabilities]:
    """Every platform klasbot knows, with what it declares and the school's minimum age for it:
    read by every command, whether the platform is configured in this process or not."""
    return {
        "console": ConsolePlatform.capabilities,
        "telegram": telegram_capabilities(settings.telegram),
        "matrix": matrix_capabilities(settings.matrix),
        "teams": teams_capabilities(settings.teams),
    }


def configured_chat_bots(settings: Settings) -> dict[str, str | None]:
    """The chat platforms the school configured, each with the bot's account people look up
    there when the configuration names it (invitations say how to join on these)."""
    bots: dict[str, str | None] = {}
    if settings.telegram.token or settings.telegram.username:
        bots["telegram"] = settings.telegram.username
    if settings.matrix.homeserver and settings.matrix.user_id:
        bots["matrix"] = settings.matrix.user_id
    return bots


def make_policy(settings: Settings) -> SchoolPolicy:
    """The board's policy (`[school]`, `[post]`), with each school's own (`[schools."…"]`)."""
    own = {key: _school_policy(settings, key) for key in settings.schools}
    return replace(_school_policy(settings, None), own=own)


def _school_policy(settings: Settings, key: str | None) -> SchoolPolicy:
    school = settings.school_settings(key)
    letterhead, return_address = settings.school_post(key)
    quiet = None
    if school.quiet_hours.strip():
        quiet = QuietHours.parse(
            school.quiet_hours,
            urgent_from=time.fromisoformat(school.urgent_from),
            urgent_kinds=frozenset(Kind(k) for k in school.urgent_kinds),
        )
    return SchoolPolicy(
        timezone=ZoneInfo(school.timezone),
        language=school.language,
        allowed_kinds=tuple(Kind(k) for k in school.allowed_kinds),
        quiet_hours=quiet,
        pupil_email_from_age=school.pupil_email_from_age,
        leadership_emails=tuple(school.leadership_emails),
        invite_valid_days=school.invite_valid_days,
        school_name=school.name,
        reply_to=school.reply_to,
        platforms=declared_platforms(settings),
        chat_bots=configured_chat_bots(settings),
        public_contacts=PublicContacts.parse(school.public_contacts),
        post_delivery_days=settings.post.delivery_days,
        digest_at=time.fromisoformat(school.digest_at),
        lesson_hours=LessonHours.parse(school.lesson_hours, urgent_kinds=school.urgent_kinds),
        holidays=tuple(parse_holiday(h) for h in school.holidays),
        year_end=parse_year_end(school.year_end),
        retention_years=school.retention_years,
        sweep_at=time.fromisoformat(school.sweep_at),
        schedule_grace=timedelta(seconds=settings.schedule.grace),
        schedule_min_interval=timedelta(seconds=settings.schedule.min_interval),
        schedule_max_per_class=settings.schedule.max_per_class,
        letterhead=tuple(letterhead),
        return_address=return_address,
    )


@dataclass
class App:
    """The wired application. Its dispatcher (with the mail and letter adapters) and its chat
    front end are made when first asked for: a command that needs neither imports neither."""

    settings: Settings
    db: Database
    clock: Clock
    policy: SchoolPolicy
    ctx: Context
    console: ConsolePlatform

    @property
    def platforms(self) -> dict[str, ChatPlatform]:
        return self.ctx.platforms

    @cached_property
    def dispatcher(self) -> Dispatcher:
        return make_dispatcher(self.settings, self.ctx)

    @cached_property
    def chat(self) -> ChatFrontEnd:
        from bot.chat.front import ChatFrontEnd

        return ChatFrontEnd(self.ctx)


def make_dispatcher(settings: Settings, ctx: Context) -> Dispatcher:
    """The dispatcher with the configured mailer (a file outbox or a mail server) and printer."""
    from adapters.email.file import FileMailer
    from adapters.email.render import MailRenderer
    from adapters.post.pdf import PdfLetterPrinter
    from bot.dispatch import Dispatcher, RetryPolicy

    clock = ctx.clock
    renderer = MailRenderer(
        school_name=settings.school.name,
        from_address=settings.mail.from_,
        reply_to=settings.school.reply_to,
    )
    mailer: Any
    if settings.mail.transport == "smtp":
        from adapters.email.smtp import SmtpMailer  # aiosmtplib: only for a mail server

        mailer = SmtpMailer(
            host=settings.mail.smtp_host,
            port=settings.mail.smtp_port,
            renderer=renderer,
            clock=clock.now,
            username=settings.mail.smtp_username,
            password=settings.mail.smtp_password,
            security=settings.mail.smtp_security,
            timeout=settings.mail.smtp_timeout,
            batch_size=settings.mail.batch_size,
            connections=settings.mail.connections,
        )
    else:
        mailer = FileMailer(settings.mail.outbox_dir, renderer, clock.now)
    printer = PdfLetterPrinter(
        settings.post.letters_dir,
        school_name=settings.school.name,
        letterhead_lines=settings.post.letterhead,
        return_address=settings.post.return_address,
        lang=settings.school.language,
    )
    d = settings.dispatch
    return Dispatcher(
        ctx,
        mailer=mailer,
        printer=printer,
        retry=RetryPolicy(
            base_delay=d.base_delay, max_delay=d.max_delay, max_attempts=d.max_attempts
        ),
        batch_size=d.batch_size,
        lease_seconds=d.lease_seconds,
    )


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1].split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


def configured_platforms(settings: Settings) -> dict[str, Any]:
    """The chat platforms the configuration names (the console is always there)."""
    platforms: dict[str, Any] = {}
    if settings.telegram.token:
        from adapters.telegram.platform import TelegramPlatform

        platforms["telegram"] = TelegramPlatform(settings.telegram)
    if settings.matrix.homeserver:  # nio and aiohttp: only when Matrix is configured
        from adapters.matrix.platform import matrix_platform_from_settings

        matrix = matrix_platform_from_settings(settings.matrix, settings.data_dir)
        if matrix is not None:
            platforms["matrix"] = matrix
    teams = settings.teams
    if (teams.app_id and teams.app_password) or teams.allow_unauthenticated:
        from adapters.teams.platform import TeamsPlatform  # the SDK is imported only here

        platforms["teams"] = TeamsPlatform(teams, port=settings.http.port or 3978)
    return platforms


async def _connect(stack: AsyncExitStack, platform: Any, app: App, receive: bool) -> None:
    # Where only one process may receive (Telegram polling, the Matrix sync loop), this one
    # receives while it holds the platform's lease and only sends otherwise.
    exclusive = receive and bool(getattr(platform, "exclusive_receiving", False))
    await stack.enter_async_context(platform.running(app.chat, receive=receive and not exclusive))
    if exclusive:
        await stack.enter_async_context(leases.receiving(app.ctx, [platform]))


@asynccontextmanager
async def build(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    console_echo: Callable[[str, str], None] | None = None,
    extra_platforms: dict[str, ChatPlatform] | None = None,
    connect: str = "none",
    log_tokens: bool = True,
) -> AsyncIterator[App]:
    """Wire everything. `connect` says what to do with the configured chat platforms:
    "none" (not constructed: commands that need no platform), "send" (connected to post,
    admit and remove, without receiving updates) or "receive" (`klasbot run`). Without
    `log_tokens` the log filter is not given the roster's names (a look-up that logs nothing)."""
    settings = settings or load_settings()
    clock = clock or make_clock()
    policy = make_policy(settings)
    _ensure_sqlite_dir(settings.database_url)
    async with AsyncExitStack() as stack:
        db = Database(settings.database_url)
        stack.push_async_callback(db.dispose)
        console = ConsolePlatform(
            settings.data_dir / "console", echo=console_echo, lang=settings.school.language
        )
        remote = configured_platforms(settings) if connect != "none" else {}
        platforms: dict[str, ChatPlatform] = {
            "console": console,
            **remote,
            **(extra_platforms or {}),
        }
        ctx = Context(db=db, clock=clock, policy=policy, platforms=platforms)
        app = App(settings, db, clock, policy, ctx, console)
        if log_tokens:
            await load_log_tokens(db)
        connected: set[str] = set()  # the platforms up, for /readyz
        if connect == "receive":
            refresher = asyncio.create_task(_refresh_log_tokens(db))
            stack.callback(refresher.cancel)
        serves = settings.http.port is not None or any(
            callable(getattr(p, "routes", None)) for p in remote.values()
        )
        server = None
        if connect == "receive" and serves:
            from adapters.http.server import serve  # aiohttp and prometheus: only when serving

            server = await serve(
                stack,
                port=settings.http.port,
                db=db,
                clock=clock.now,
                platforms=remote,
                connected=connected,
            )
        for name, platform in remote.items():
            try:
                await _connect(stack, platform, app, receive=connect == "receive")
                connected.add(name)
            except Exception as exc:
                if connect == "receive":
                    raise
                # Sending to one platform must not keep mail and letters from going out; its
                # deliveries wait in the outbox for the next run.
                logger.warning("%s is not reachable now (%s); its deliveries wait", name, exc)
                platforms.pop(name, None)
        if server is not None:
            # The first thing done when klasbot stops: /readyz answers 503 from then on.
            stack.callback(server.drain)
        yield app


LOG_TOKENS_REFRESH = 600.0
"""Seconds between two loads of the log filter's roster registry in `klasbot run`: a roster
imported by another process (`klasbot roster import` from cron) is known within ten minutes."""


async def load_log_tokens(db: Database) -> None:
    """Give the log filter (`bot.cli.logs.redactor`) the roster's names and addresses as they
    are in the database now: no log line of this process shows them."""
    from bot.cli.logs import redactor  # the CLI package imports this module

    try:
        async with db.transaction() as tx:
            names = await tx.roster.name_tokens()
            addresses = await tx.roster.address_tokens()
    except Exception as exc:  # no schema yet: the command itself says what is wrong
        logger.debug("the log filter has no roster names yet (%s)", type(exc).__name__)
        return
    redactor.set_roster(names, addresses)
    logger.debug("the log filter knows %d name and %d address tokens", len(names), len(addresses))


async def _refresh_log_tokens(db: Database) -> None:
    while True:
        await asyncio.sleep(LOG_TOKENS_REFRESH)
        await load_log_tokens(db)


def database_name(url: str) -> str:
    """How the admin is told which database is meant: its URL without the password (for SQLite,
    the file), nor any query parameter that could hold one."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return "?"
    secret = [k for k in parsed.query if any(w in k.lower() for w in ("pass", "secret", "key"))]
    return parsed.difference_update_query(secret).render_as_string(hide_password=True)


async def migrate(settings: Settings) -> str | None:
    """Apply the migrations; returns the database's revision afterwards."""
    _ensure_sqlite_dir(settings.database_url)
    db = Database(settings.database_url)
    try:
        from storage.migrate import current_revision, upgrade  # Alembic: only when migrating

        await upgrade(db.engine)
        return await current_revision(db.engine)
    finally:
        await db.dispose()
