"""`klasbot` — the admin's and the scripts' interface (Typer over the use cases).

Every command exits non-zero with a one-line reason on bad input; `--json` prints
machine-readable output on stdout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adapters.oneroster.issues import RosterError
from adapters.oneroster.reader import read_roster_details
from bot import bootstrap
from bot.dates import parse_date, parse_when
from bot.domain import AnnouncementDraft, MemberState
from bot.errors import DeliveryError, InvalidInput, KlasbotError
from bot.i18n import Msg
from bot.rules import kinds
from bot.rules.age import local_today
from bot.usecases import announcing, invites, queries, roster
from bot.usecases import groups as group_cases
from config.settings import ConfigError, Settings, load_settings

T = TypeVar("T")

app = typer.Typer(
    name="klasbot",
    help="klasbot: class group apps inside the school's social-media protocol.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
roster_app = typer.Typer(help="Roster import (OneRoster CSV).", no_args_is_help=True)
groups_app = typer.Typer(help="Class groups and how they are bound.", invoke_without_command=True)
invites_app = typer.Typer(help="One-time codes that link accounts.", no_args_is_help=True)
letters_app = typer.Typer(help="Printed letters waiting for the office.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(roster_app, name="roster")
app.add_typer(groups_app, name="groups")
app.add_typer(invites_app, name="invites")
app.add_typer(letters_app, name="letters")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

_state: dict[str, Any] = {"config": None}

M_BAD_DATE_OPTION = Msg("--at {value!r}: use e.g. 2026-12-01 08:00 or tomorrow 08:00.")


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"klasbot: {message}", markup=False)
    raise typer.Exit(code)


def settings() -> Settings:
    try:
        return load_settings(_state["config"])
    except ConfigError as exc:
        fail(str(exc))


def run(factory: Callable[[bootstrap.App], Awaitable[T]], **build_kwargs: Any) -> T:
    """Build the app, run one use case, and turn the core's errors into one-line refusals."""
    config = settings()

    async def main() -> T:
        async with bootstrap.build(config, **build_kwargs) as built:
            return await factory(built)

    try:
        return asyncio.run(main())
    except KlasbotError as exc:
        fail(exc.render(config.school.language))
    except RosterError as exc:
        fail(str(exc))
    except ConfigError as exc:
        fail(str(exc))
    except DeliveryError as exc:
        fail(f"the chat platform refused: {exc}")
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "))
    except Exception as exc:
        # Most often a database that was never upgraded; say so instead of a traceback.
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "no such table" in text or "does not exist" in text and "relation" in text:
            fail("the database has no schema yet; run `klasbot db upgrade` first")
        logging.getLogger("klasbot").debug("unexpected error", exc_info=True)
        fail(f"{type(exc).__name__}: {text}")


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@app.callback()
def main_options(
    config: Path | None = typer.Option(
        None, "--config", help="TOML configuration file (default: ./klasbot.toml if present)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what happens."),
) -> None:
    _state["config"] = config
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


# ---------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations to the configured database."""
    config = settings()
    try:
        asyncio.run(bootstrap.migrate(config))
    except Exception as exc:
        fail(f"database upgrade failed: {str(exc).splitlines()[0]}")
    err.print("database is up to date", markup=False)


# ---------------------------------------------------------------------------- roster


def _read_with_progress(directory: Path) -> Any:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        tasks: dict[str, Any] = {}

        def report(file_name: str, done: int, total: int) -> None:
            if file_name not in tasks:
                tasks[file_name] = progress.add_task(file_name, total=total)
            progress.update(tasks[file_name], completed=done, total=total)

        return read_roster_details(directory, progress=report)


@roster_app.command("import")
def roster_import(
    directory: Path = typer.Argument(
        ..., help="Directory with manifest.csv and the OneRoster CSV files."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would change; change nothing."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Import (and re-sync) a OneRoster 1.1 or 1.2 CSV export, all or nothing."""
    if not directory.is_dir():
        fail(f"{directory}: not a directory")
    try:
        details = _read_with_progress(directory)
    except RosterError as exc:
        fail(f"roster not imported ({len(exc.issues)} problem(s)):\n" + str(exc))
    delta = "delta" in details.file_modes.values()

    async def go(a: bootstrap.App) -> Any:
        return await roster.import_roster(
            a.ctx,
            details.snapshot,
            dry_run=dry_run,
            deleted=dict(details.deleted) if delta else None,
        )

    # Connected to the platforms: a pupil who left a class is removed from its group at once.
    changes = run(go, connect="none" if dry_run else "send")
    summary = {
        "dry_run": dry_run,
        "added": changes.added,
        "updated": changes.updated,
        "removed": changes.removed,
        "left_class": [{"pupil": p, "class": c} for p, c in changes.left_class],
    }
    if as_json:
        emit_json(summary)
        return
    verb = "would" if dry_run else "did"
    for label, bucket in (
        ("add", changes.added),
        ("update", changes.updated),
        ("remove", changes.removed),
    ):
        for table, keys in sorted(bucket.items()):
            out.print(
                f"{verb} {label} {len(keys)} {table}"
                + (f": {', '.join(keys[:20])}{' …' if len(keys) > 20 else ''}" if dry_run else ""),
                markup=False,
            )
    if changes.empty:
        out.print("nothing to change: the roster is up to date", markup=False)


# ---------------------------------------------------------------------------- classes and groups


@app.command("classes")
def classes(as_json: bool = typer.Option(False, "--json")) -> None:
    """The classes in the roster."""

    async def go(a: bootstrap.App) -> Any:
        async with a.db.transaction() as tx:
            return await tx.roster.classes()

    rows = run(go)
    if as_json:
        emit_json(
            [
                {
                    "id": c.id,
                    "code": c.code,
                    "title": c.title,
                    "school": s.name,
                    "school_id": s.id,
                    "pupils": p,
                    "staff": t,
                }
                for c, s, p, t in rows
            ]
        )
        return
    table = Table("code", "sourcedId", "title", "school", "pupils", "staff")
    for c, s, p, t in rows:
        table.add_row(c.code, c.id, c.title, s.name, str(p), str(t))
    out.print(table)


async def _groups_json(a: bootstrap.App) -> list[dict[str, Any]]:
    async with a.db.transaction() as tx:
        result = []
        for g in await tx.groups.list():
            found = await tx.roster.find_classes(g.class_id)
            members = await tx.groups.members(g.id)
            result.append(
                {
                    "id": g.id,
                    "class": found[0].code if found else g.class_id,
                    "class_id": g.class_id,
                    "platform": g.platform,
                    "chat": g.chat_id,
                    "state": g.state.value,
                    "members": sum(1 for m in members.values() if m.state == MemberState.MEMBER),
                }
            )
        return result


@groups_app.callback()
def groups(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List the class groups; `groups create` binds a new one."""
    if ctx.invoked_subcommand is not None:
        return
    rows = run(_groups_json)
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "class", "platform", "chat", "state", "members")
    for r in rows:
        table.add_row(
            str(r["id"]), r["class"], r["platform"], r["chat"], r["state"], str(r["members"])
        )
    out.print(table)


@groups_app.command("create")
def groups_create(
    class_ref: str = typer.Option(..., "--class", help="classCode (e.g. 2B) or sourcedId."),
    platform: str = typer.Option(..., "--platform", help="matrix, telegram or console."),
    chat: str | None = typer.Option(
        None, "--chat", help="Bind an existing chat id instead of creating one."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create (or bind) the class group on a platform."""

    async def go(a: bootstrap.App) -> Any:
        return await group_cases.create_group(a.ctx, class_ref, platform, chat_id=chat)

    group = run(go, **_platform_kwargs(platform))
    if as_json:
        emit_json(
            {
                "id": group.id,
                "class_id": group.class_id,
                "platform": group.platform,
                "chat": group.chat_id,
                "state": group.state.value,
            }
        )
    else:
        out.print(
            f"group {group.id} for {class_ref} on {group.platform}: {group.chat_id} ({group.state.value})",
            markup=False,
        )


def _platform_kwargs(platform: str) -> dict[str, Any]:
    """Chat platforms other than the console are connected only when a command needs them."""
    return {"connect": "send"} if platform != "console" else {}


# ---------------------------------------------------------------------------- invites


@invites_app.command("create")
def invites_create(
    class_ref: str | None = typer.Option(
        None, "--class", help="Codes for the class's eligible pupils."
    ),
    person: str | None = typer.Option(
        None, "--person", help="One code for one person (a teacher, a guardian)."
    ),
    with_staff: bool = typer.Option(
        False, "--with-staff", help="Also codes for the class's staff."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create one-time codes and send each by the person's fallback channel (e-mail or letter)."""
    if (class_ref is None) == (person is None):
        fail("give either --class CLASS or --person PERSON")

    async def go(a: bootstrap.App) -> Any:
        return await invites.create_invites(
            a.ctx, class_ref=class_ref, person_ref=person, with_staff=with_staff
        )

    issued = run(go)
    if as_json:
        rows = []
        for i in issued:
            row: dict[str, Any] = {"person": i.person_id}
            if i.pupil_id is not None:
                row["pupil"] = i.pupil_id
            row.update(
                {"code": i.code, "channel": i.channel.value, "expires_at": i.expires_at.isoformat()}
            )
            if i.error:
                row["error"] = i.error
            rows.append(row)
        emit_json(rows)
        return
    table = Table("person", "code", "sent by", "expires", "problem")
    for i in issued:
        table.add_row(
            i.person_id, i.code, i.channel.value, i.expires_at.date().isoformat(), i.error or ""
        )
    out.print(table)
    if not issued:
        err.print(
            "no codes: nobody in it is eligible (pupils get a code from their 13th birthday)",
            markup=False,
        )


# ---------------------------------------------------------------------------- announcements


@app.command("announce")
def announce(
    class_ref: str = typer.Option(..., "--class", help="classCode (e.g. 2B) or sourcedId."),
    author: str = typer.Option(
        ..., "--as", help="The staff member's sourcedId (signs the message)."
    ),
    kind: str = typer.Option(..., "--kind", help="lesson-cancelled, homework, reminder or trip."),
    day: str | None = typer.Option(None, "--date", help="2026-12-01, 1-12, morgen, maandag …"),
    period: str | None = typer.Option(None, "--period", help="Lesson period: 3 or 3-4."),
    subject: str | None = typer.Option(None, "--subject"),
    text: str | None = typer.Option(None, "--text"),
    at: str | None = typer.Option(None, "--at", help="Send later: 2026-12-01 08:00."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Announce to a class; prints the announcement id."""

    async def go(a: bootstrap.App) -> Any:
        now = a.clock.now()
        today = local_today(now, a.policy.timezone)
        when = None
        if at is not None:
            try:
                parsed = parse_when(at, now=now, tz=a.policy.timezone)
            except InvalidInput as exc:
                raise InvalidInput(M_BAD_DATE_OPTION, value=at) from exc
            if parsed.recurring or parsed.at is None:
                raise InvalidInput(M_BAD_DATE_OPTION, value=at)
            when = parsed.at
        draft = AnnouncementDraft(
            class_id=class_ref,
            author_id=author,
            kind=kinds.parse_kind(kind, a.policy.allowed_kinds),
            date=parse_date(day, today=today) if day else None,
            period=period,
            subject=subject,
            text=text,
            not_before=when,
        )
        return await announcing.announce(a.ctx, draft, source="cli")

    result = run(go)
    a = result.announcement
    if as_json:
        emit_json(
            {
                "id": a.id,
                "class_id": a.class_id,
                "kind": a.kind,
                "author": a.author_id,
                "text": a.body,
                "signature": a.signature,
                "deliveries": result.counts,
                "held_until": result.held_until.isoformat() if result.held_until else None,
                "unreachable": list(result.unreachable),
            }
        )
        return
    sys.stdout.write(f"{a.id}\n")
    counts = ", ".join(f"{v} {k}" for k, v in result.counts.items() if v)
    err.print(f"announcement {a.id}: {counts}", markup=False)
    if result.held_until:
        err.print(f"quiet hours: held until {result.held_until.isoformat()}", markup=False)
    if result.unreachable:
        err.print(f"warning: unreachable pupils: {', '.join(result.unreachable)}", markup=False)


@app.command("announcements")
def announcements(
    class_ref: str | None = typer.Option(None, "--class"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """What has been announced."""

    async def go(a: bootstrap.App) -> Any:
        items = await queries.announcements(a.ctx, class_ref)
        async with a.db.transaction() as tx:
            codes = {}
            for item in items:
                if item.class_id not in codes:
                    found = await tx.roster.find_classes(item.class_id)
                    codes[item.class_id] = found[0].code if found else item.class_id
        return items, codes

    items, codes = run(go)
    rows = [
        {
            "id": x.id,
            "class": codes[x.class_id],
            "class_id": x.class_id,
            "kind": x.kind,
            "author": x.author_id,
            "created_at": x.created_at.isoformat(),
            "text": x.body,
            "signature": x.signature,
            "schedule": x.schedule_id,
        }
        for x in items
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "class", "kind", "author", "created", "text")
    for r in rows:
        table.add_row(
            str(r["id"]), r["class"], r["kind"], r["author"], r["created_at"][:16], r["text"]
        )
    out.print(table)


@app.command("deliveries")
def deliveries(
    announcement_id: int = typer.Argument(
        ..., help="The announcement id (from `klasbot announce`)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """One row per pupil: channel, reason, status, attempts, last error."""

    async def go(a: bootstrap.App) -> Any:
        return await queries.deliveries(a.ctx, announcement_id)

    rows = [
        {
            "pupil": d.pupil_id,
            "channel": d.channel.value,
            "reason": d.reason.value if d.reason else None,
            "status": d.status.value,
            "attempts": d.attempts,
            "last_error": d.last_error,
            "recipients": [r.email or r.name for r in d.recipients],
            "sent_at": d.sent_at.isoformat() if d.sent_at else None,
        }
        for d in run(go)
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table("pupil", "channel", "reason", "status", "attempts", "last error")
    for r in rows:
        table.add_row(
            r["pupil"],
            r["channel"],
            r["reason"] or "",
            r["status"],
            str(r["attempts"]),
            r["last_error"] or "",
        )
    out.print(table)


@app.command("dispatch")
def dispatch(
    once: bool = typer.Option(False, "--once", help="Deliver what is due, then exit."),
) -> None:
    """Deliver what is due (the outbox)."""

    async def go(a: bootstrap.App) -> Any:
        if once:
            return await a.dispatcher.run_once()
        await a.dispatcher.run_forever(a.settings.dispatch.poll_interval, stop=_stop_on_signals())
        return None

    stats = run(go, console_echo=_echo_console, connect="send")
    if stats is not None:
        err.print(
            f"sent {stats.sent}, notices {stats.notices}, letters {stats.letters}, "
            f"retried {stats.retried}, rerouted {stats.rerouted}, "
            f"failed {stats.failed}, held {stats.held}, waiting for another platform {stats.waiting}",
            markup=False,
        )


def _stop_on_signals() -> asyncio.Event:
    """SIGTERM (a deploy, `docker stop`) and Ctrl-C end a loop between two rounds; platforms are
    then stopped in reverse order, and what is in the outbox stays there for the next start."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _echo_console(chat_id: str, text: str) -> None:
    out.print(f"[{chat_id}] {text}", markup=False)


# ---------------------------------------------------------------------------- letters


@letters_app.command("list")
def letters_list(
    show_all: bool = typer.Option(False, "--all", help="Also letters already posted."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Letters the office must print and post."""

    async def go(a: bootstrap.App) -> Any:
        return await queries.letters(a.ctx, show_all=show_all)

    rows = [
        {
            "key": x.key,
            "recipient": x.recipient_name,
            "address": x.address,
            "path": x.path,
            "pupils": list(x.pupils),
            "announcements": list(x.announcements),
            "notices": list(x.notices),
            "created_at": x.created_at.isoformat(),
            "posted_at": x.posted_at.isoformat() if x.posted_at else None,
        }
        for x in run(go)
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table("key", "recipient", "address", "pdf", "posted")
    for r in rows:
        table.add_row(r["key"], r["recipient"], r["address"], r["path"], r["posted_at"] or "")
    out.print(table)


@letters_app.command("mark-posted")
def letters_mark_posted(
    keys: list[str] = typer.Argument(None, help="Letter keys from `letters list`."),
    all_letters: bool = typer.Option(False, "--all", help="Every letter not yet posted."),
) -> None:
    """Record letters as posted; their deliveries become `sent`."""
    if not keys and not all_letters:
        fail("name the letters (keys from `klasbot letters list`) or give --all")

    async def go(a: bootstrap.App) -> Any:
        return await queries.mark_posted(a.ctx, list(keys or []), every=all_letters)

    unknown, done = run(go)
    if unknown:
        fail(f"unknown letter(s): {', '.join(unknown)}; see `klasbot letters list --all`")
    err.print(f"marked {len(done)} letter(s) as posted", markup=False)


# ---------------------------------------------------------------------------- demo and run


@app.command("demo")
def demo(
    script: Path | None = typer.Option(
        None, "--script", help="Replay lines `SPEAKER: message` and print the transcript."
    ),
) -> None:
    """An interactive chat in the terminal with the bundled demo school."""
    from bot.demo import run_demo

    config = settings()
    if script is not None and not script.is_file():
        fail(f"{script}: no such file")
    try:
        code = asyncio.run(run_demo(config, script=script, console=out))
    except KlasbotError as exc:
        fail(exc.render(config.school.language))
    raise typer.Exit(code)


@app.command("run")
def run_bot() -> None:
    """The long-running bot: the dispatcher and every configured platform."""

    async def go(a: bootstrap.App) -> None:
        stop = _stop_on_signals()
        names = ", ".join(sorted(a.platforms))
        err.print(f"klasbot is running ({names}); stop with Ctrl-C", markup=False)
        await a.dispatcher.run_forever(a.settings.dispatch.poll_interval, stop=stop)
        err.print("klasbot stopped", markup=False)

    run(go, console_echo=_echo_console, connect="receive")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
