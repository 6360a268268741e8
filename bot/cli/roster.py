"""`db upgrade`, `roster import`, `classes`, `groups` and `groups create` (`invites create` is in
`bot.cli.invites`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli import texts as t
from bot.cli.common import (
    JSON_HELP,
    app,
    db_app,
    emit_json,
    err,
    fail,
    groups_app,
    lang,
    not_blank,
    out,
    real_console,
    refuse,
    roster_app,
    run,
    say,
    settings,
    table,
)
from bot.cli.reports import leadership_warnings, warn

if TYPE_CHECKING:
    from bot import bootstrap
    from bot.domain import RosterChanges


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations to the configured database."""
    import asyncio

    from bot import bootstrap

    config = settings()
    database = bootstrap.database_name(config.database_url)
    try:
        revision = asyncio.run(bootstrap.migrate(config))
    except Exception as exc:
        error = (str(exc).splitlines() or [type(exc).__name__])[0]
        refuse(t.M_DB_UPGRADE_FAILED, database=database, error=error)
    say(t.M_DB_UP_TO_DATE, database=database, revision=revision or "-")


def _read_with_progress(directory: Path) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from adapters.oneroster.reader import read_roster_details

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=real_console(err),
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        tasks: dict[str, Any] = {}

        def report(file_name: str, done: int, total: int) -> None:
            if file_name not in tasks:
                tasks[file_name] = progress.add_task(file_name, total=total)
            progress.update(tasks[file_name], completed=done, total=total)

        return read_roster_details(directory, progress=report, parallel=True)


def _print_changes(changes: RosterChanges, dry_run: bool) -> None:
    lines = (
        (t.M_WOULD_ADD if dry_run else t.M_ADDED, changes.added),
        (t.M_WOULD_UPDATE if dry_run else t.M_UPDATED, changes.updated),
        (t.M_WOULD_REMOVE if dry_run else t.M_REMOVED, changes.removed),
    )
    for msg, bucket in lines:
        for table_name, keys in sorted(bucket.items()):
            shown = ", ".join(keys[:20]) + (" …" if len(keys) > 20 else "")
            out.print(
                msg(lang(), count=len(keys), table=t.label("table", table_name), keys=shown),
                markup=False,
            )
    if changes.empty:
        out.print(t.M_ROSTER_UP_TO_DATE(lang()), markup=False)


@roster_app.command("import")
def roster_import(
    directory: Path = typer.Argument(
        ..., metavar="DIR", help="Directory with manifest.csv and the OneRoster CSV files."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would change; change nothing."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Import (and re-sync) a OneRoster 1.1 or 1.2 CSV export, all or nothing."""
    import gc

    # What the import loads, the roster it reads and the rows it makes of that live until the
    # command ends, and none of them is cyclic: the garbage collector is paused meanwhile.
    # (Running, it went through them again and again: a full round each time the objects it
    # keeps grew by a quarter.) Frozen at the end, they are not gone through when it ends either.
    gc.disable()
    try:
        _import(directory, dry_run, as_json)
    finally:
        gc.freeze()
        gc.enable()


def _import(directory: Path, dry_run: bool, as_json: bool) -> None:
    from adapters.oneroster.issues import RosterError
    from bot.cli import logs
    from bot.usecases import roster

    settings()
    if not directory.is_dir():
        refuse(t.M_NOT_A_DIRECTORY, path=directory)
    fingerprint = _fingerprint(directory)

    async def same(a: bootstrap.App) -> tuple[RosterChanges, list[str]]:
        changes = await roster.import_unchanged(a.ctx)
        return changes, [] if dry_run else await leadership_warnings(a.ctx)

    # An export imported before, unchanged since, is not read again: it would change nothing.
    if _unchanged(fingerprint):
        changes, warnings = run(same)
        _report(changes, warnings, dry_run, as_json)
        return
    try:
        details = _read_with_progress(directory)
    except RosterError as exc:
        fail(t.M_ROSTER_NOT_IMPORTED(lang(), count=len(exc.issues)) + "\n" + exc.render(lang()))
    delta = "delta" in details.file_modes.values()

    async def go(a: bootstrap.App) -> tuple[RosterChanges, list[str]]:
        # No log line shows the new roster's names either: they join the stored roster's, which
        # the log filter was given when the app was built.
        logs.redactor.add_persons(details.snapshot.persons)
        changes = await roster.import_roster(
            a.ctx,
            details.snapshot,
            dry_run=dry_run,
            deleted=dict(details.deleted) if delta else None,
            fingerprint=fingerprint,
        )
        # Whom reports now reach: a school the import left without leadership is said at once.
        return changes, [] if dry_run else await leadership_warnings(a.ctx)

    # Connected to the platforms: a pupil who left a class is removed from its group at once.
    changes, warnings = run(go, connect="none" if dry_run else "send")
    _report(changes, warnings, dry_run, as_json)


def _report(changes: RosterChanges, warnings: list[str], dry_run: bool, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "dry_run": dry_run,
                "added": changes.added,
                "updated": changes.updated,
                "removed": changes.removed,
                "left_class": [{"pupil": p, "class": c} for p, c in changes.left_class],
            }
        )
        warn(warnings)
        return
    _print_changes(changes, dry_run)
    warn(warnings)


def _unchanged(fingerprint: str) -> bool:
    """Whether the export of `fingerprint` is the one imported last, unchanged since."""
    import asyncio
    import logging

    from bot import bootstrap
    from bot.usecases import roster

    async def check() -> bool:
        async with bootstrap.build(settings(), log_tokens=False) as a:
            return await roster.unchanged(a.ctx, fingerprint)

    try:
        return asyncio.run(check())
    except Exception as exc:  # no database yet, or not migrated: the import says what is wrong
        logging.getLogger(__name__).debug(
            "no earlier import to compare with (%s)", type(exc).__name__
        )
        return False


def _fingerprint(directory: Path) -> str:
    """What an unchanged export is recognised by (`roster.unchanged`): every CSV file in
    `directory`, by name and byte for byte, and the code that reads, maps and stores a roster
    with the languages it knows (after an upgrade the same export is read again)."""
    import hashlib
    from importlib.util import find_spec

    from bot.i18n import available_languages

    digest = hashlib.sha256()
    digest.update(",".join(available_languages()).encode())
    for module in _ROSTER_CODE:
        spec = find_spec(module)
        origin = spec.origin if spec is not None else None
        if origin is not None:
            digest.update(Path(origin).read_bytes())
    for path in sorted(p for p in directory.iterdir() if p.suffix.lower() == ".csv"):
        if not path.is_file():
            continue
        digest.update(b"\0" + path.name.encode() + b"\0")
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


_ROSTER_CODE = (
    *(
        f"adapters.oneroster.{name}"
        for name in (
            "classes",
            "columns",
            "contacts",
            "csvfile",
            "issues",
            "manifest",
            "people",
            "reader",
            "side",
            "snapshot",
            "state",
            "values",
        )
    ),
    "bot.domain",
    "bot.limits",
    "bot.person_records",
    "bot.usecases.roster",
    "storage.models",
    "storage.sql.driver",
    "storage.sql.mapping",
    "storage.sql.roster",
    "storage.sql.roster_sync",
)
"""The modules whose code decides what an export becomes in the database."""


@app.command("classes")
def classes(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
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
                    "staff": n,
                }
                for c, s, p, n in rows
            ]
        )
        return
    grid = table(t.H_CODE, t.H_SOURCED_ID, t.H_TITLE, t.H_SCHOOL, t.H_PUPILS, t.H_STAFF)
    for c, s, p, n in rows:
        grid.add_row(c.code, c.id, c.title, s.name, str(p), str(n))
    out.print(grid)


async def _groups_json(a: bootstrap.App) -> list[dict[str, Any]]:
    from bot.domain import MemberState

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
def groups(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """List the class groups; `groups create` binds a new one."""
    if ctx.invoked_subcommand is not None:
        return
    rows = run(_groups_json)
    if as_json:
        emit_json(rows)
        return
    grid = table(t.H_ID, t.H_CLASS, t.H_PLATFORM, t.H_CHAT, t.H_STATE, t.H_MEMBERS)
    for r in rows:
        state = t.label("group state", r["state"])
        grid.add_row(str(r["id"]), r["class"], r["platform"], r["chat"], state, str(r["members"]))
    out.print(grid)


@groups_app.command("create")
def groups_create(
    class_ref: str = typer.Option(
        ..., "--class", metavar="CLASS", help="classCode (e.g. 2B) or sourcedId."
    ),
    platform: str = typer.Option(
        ..., "--platform", metavar="PLATFORM", help="matrix, telegram or console."
    ),
    chat: str | None = typer.Option(
        None,
        "--chat",
        metavar="CHAT_ID",
        callback=not_blank,
        help="Bind an existing chat id instead of creating one.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Create (or bind) the class group on a platform."""
    from bot import bootstrap
    from bot.usecases import groups as group_cases

    async def go(a: bootstrap.App) -> Any:
        return await group_cases.create_group(a.ctx, class_ref, platform, chat_id=chat)

    # The chat platforms are connected only when the group is on one of them.
    remote = bootstrap.configured_platforms(settings())
    group = run(go, connect="send" if platform in remote else "none")
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
        return
    out.print(
        t.M_GROUP_CREATED(
            lang(),
            id=group.id,
            klas=class_ref,
            platform=group.platform,
            chat=group.chat_id,
            state=group.state.value,
        ),
        markup=False,
    )
