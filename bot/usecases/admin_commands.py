"""Rule 10 for the admin's command line: every command that changes something is an audit event
`admin-command`, recorded before the command acts (what it then does, or why it was refused, has
its own events). Who ran it (the operating-system user, `by`), which command (`invites create`)
with which options, tied to every person it names and to the classes it concerns.

The command line decides which commands are recorded and which option values may be kept (ids,
flags, numbers: never free text, which may hold personal data; of that only the fact that it was
given is kept, see `bot.cli.common`). Here a named person is looked up: a reference the roster
does not know is kept as `UNKNOWN_PERSON`, so that a mistyped name never lands in the audit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.usecases.context import Context

ADMIN_COMMAND = "admin-command"
"""The audit event's kind."""
UNKNOWN_PERSON = "?"
"""What the event keeps of a person reference the roster does not know."""

Value = bool | int | float | str | None | list[bool | int | float | str | None]


@dataclass(frozen=True, slots=True)
class AdminCommand:
    by: str
    """Who ran it: the operating-system user."""
    command: str
    """The command path without `klasbot`: `invites create`."""
    options: Mapping[str, Value] = field(default_factory=dict)
    """The options and arguments given, by name (`--class`, `directory`), as they may be kept."""
    persons: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    """The options and arguments that name persons (`--as`, `--person`, `PERSON`), with the
    references given."""
    class_refs: Sequence[str] = ()
    """Classes named (`--class`: a classCode or sourcedId)."""
    announcement_ids: Sequence[int] = ()
    schedule_ids: Sequence[int] = ()
    report_ids: Sequence[int] = ()


async def record(ctx: Context, command: AdminCommand) -> None:
    """Append the `admin-command` event, in its own transaction."""
    async with ctx.db.transaction() as tx:
        named = {
            ref
            for refs in command.persons.values()
            for ref in ((refs,) if isinstance(refs, str) else refs)
        }
        known = await tx.roster.persons(sorted(named))
        options: dict[str, Value] = dict(command.options)
        for option, refs in command.persons.items():
            if isinstance(refs, str):
                options[option] = refs if refs in known else UNKNOWN_PERSON
            else:
                options[option] = [r if r in known else UNKNOWN_PERSON for r in refs]
        classes: set[str] = set()
        for ref in command.class_refs:
            classes.update(c.id for c in await tx.roster.find_classes(ref))
        for announcement_id in command.announcement_ids:
            announcement = await tx.announcements.get(announcement_id)
            if announcement is not None:
                classes.add(announcement.class_id)
        for schedule_id in command.schedule_ids:
            schedule = await tx.schedules.get(schedule_id)
            if schedule is not None:
                classes.add(schedule.class_id)
        for report_id in command.report_ids:
            report = await tx.reports.get(report_id)
            if report is not None:
                classes.update(report.class_ids)
        await ctx.audit(
            tx,
            ADMIN_COMMAND,
            None,
            sorted(known),
            by=command.by,
            command=command.command,
            options=options,
            class_ids=sorted(classes),
        )
