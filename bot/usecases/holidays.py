"""The school's holiday periods: the configured ones (`school.holidays`) and those imported from
the calendar the school publishes (`klasbot holidays import`). Recurring schedules do not fire in
them (`bot.recurrence`); every caller asks `all_holidays` for the same list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from bot.domain import Holiday
from bot.policy import SchoolPolicy
from bot.repositories import Repositories
from bot.usecases.context import Context

Key = tuple[date, date, str]


def _key(holiday: Holiday) -> Key:
    """What makes two periods the same one (the storage's unique key): where they come from
    does not."""
    return (holiday.start, holiday.end, holiday.name)


def _distinct(holidays: Iterable[Holiday]) -> list[Holiday]:
    """Each period once (the first one given), sorted by start, end and name."""
    seen: dict[Key, Holiday] = {}
    for holiday in holidays:
        seen.setdefault(_key(holiday), holiday)
    return sorted(seen.values(), key=lambda h: (h.start, h.end, h.name))


async def import_holidays(
    ctx: Context, periods: Sequence[Holiday], *, source: str = ""
) -> tuple[int, int]:
    """Store the periods not stored yet, in one transaction; returns (added, already known),
    counting each distinct period once: importing the same calendar again adds nothing. The
    import is audited with its counts and `source` (the calendar's file name)."""
    distinct = _distinct(periods)
    async with ctx.db.transaction() as tx:
        added = await tx.holidays.add(distinct)
        await ctx.audit(
            tx,
            "holidays-imported",
            None,
            [],
            source=source,
            periods=len(distinct),
            added=added,
            known=len(distinct) - added,
        )
    return added, len(distinct) - added


async def all_holidays(tx: Repositories, policy: SchoolPolicy) -> list[Holiday]:
    """The configured periods and the stored ones, each once (a configured one wins over a
    stored one that is the same period), sorted by start: for use inside a transaction."""
    return _distinct([*policy.holidays, *await tx.holidays.list()])


async def holidays(ctx: Context) -> list[Holiday]:
    """Every holiday period the school has (see `all_holidays`)."""
    async with ctx.db.transaction() as tx:
        return await all_holidays(tx, ctx.policy)
