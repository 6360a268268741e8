"""The retention period (SPEC "Dossier and privacy"): `klasbot purge [--dry-run]`, and once a day
from the daily sweep (`bot.usecases.sweep`).

A record belongs to the school year it was made in (school time; the year ends on
`school.year_end`) and is kept until the end of that school year plus `school.retention_years`
school years (default 1): what was made in 2025-2026 is kept until 31 July 2027 and purged from
1 August 2027 (`kept_from`). What is purged, and what is kept however old, is
`PrivacyRepository.purge`'s contract:

- announcements with their copies, and notices that are done (sent, failed or withdrawn); an
  announcement still being delivered (a copy pending or held: a letter the office has not posted)
  is kept until it is done;
- printed letters the office posted, with their PDF files;
- audit events; closed reports (an open report is kept until leadership closes it, then for the
  retention period);
- used or expired codes; cancelled or finished schedules and the firings of every schedule.

Persons are not purged: the roster is the school's, and the roster import removes who left it
(their records then age out like any other); a person's erasure is `klasbot person erase`.

A purge is one transaction under its own lock (two processes at once purge once; the second finds
nothing left) and an audit event `purged` with the counts. The sweep's purge runs once per school
day (`LAST_RUN`) and is audited only when it removed something; a purge by hand always is.
`--dry-run` counts and changes nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from bot.outbox import STATE_SCOPE
from bot.policy import SchoolPolicy
from bot.repositories import Repositories
from bot.usecases.context import Context

logger = logging.getLogger(__name__)

LOCK = "retention"
"""The `PlatformStateRepository` lock a purge takes (scope `STATE_SCOPE`)."""
LAST_RUN = "retention:last"
"""The last school day the sweep purged (ISO date)."""


@dataclass(frozen=True, slots=True)
class PurgeResult:
    kept_from: date
    """The first day whose records are kept (school time): everything before it was purged."""
    counts: dict[str, int] = field(default_factory=dict)
    """By kind of record (`PrivacyRepository.purge`)."""
    letter_files: int = 0
    """Letter PDF files deleted (dry run: that would be deleted)."""
    dry_run: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def kept_from(policy: SchoolPolicy, today: date) -> date:
    """The first day of the oldest school year still kept on `today`: the school year `today`
    falls in and `policy.retention_years` before it are kept."""
    current = policy.school_year_end(today)
    years = max(policy.retention_years, 0) + 1
    last_purged = date(current.year - years, current.month, current.day)
    return last_purged + timedelta(days=1)


def discard_files(paths: Iterable[str]) -> int:
    """Delete files that hold personal data (letter PDFs of purged letters or of an erased
    person); returns how many were deleted. A file already gone counts as done; one that cannot
    be deleted is logged for the admin and left."""
    deleted = 0
    for path in sorted(set(paths)):
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        except OSError as error:
            logger.warning("could not delete letter file %s: %s", path, error.strerror or error)
            continue
        deleted += 1
    return deleted


async def purge(ctx: Context, *, dry_run: bool, by: str | None = None) -> PurgeResult:
    """Apply the retention period now (`klasbot purge`); `by`: who ran it."""
    async with ctx.db.transaction() as tx:
        await tx.state.lock(STATE_SCOPE, LOCK)
        return await _purge(ctx, tx, ctx.today(), dry_run=dry_run, by=by, source="cli")


async def purge_daily(ctx: Context, today: date) -> PurgeResult | None:
    """The sweep's purge of `today`; None when it was done today already."""
    async with ctx.db.transaction() as tx:
        await tx.state.lock(STATE_SCOPE, LOCK)
        if await tx.state.get(STATE_SCOPE, LAST_RUN) == today.isoformat():
            return None
        result = await _purge(ctx, tx, today, dry_run=False, by=None, source="sweep")
        await tx.state.set(STATE_SCOPE, LAST_RUN, today.isoformat())
    return result


async def _purge(
    ctx: Context,
    tx: Repositories,
    today: date,
    *,
    dry_run: bool,
    by: str | None,
    source: str,
) -> PurgeResult:
    first_kept = kept_from(ctx.policy, today)
    before = datetime.combine(first_kept, time(0), tzinfo=ctx.policy.timezone).astimezone(UTC)
    purged = await tx.privacy.purge(before, dry_run=dry_run)
    if dry_run:
        return PurgeResult(first_kept, dict(purged.counts), len(purged.letter_files), True)
    # Deleted before the transaction commits: a failure after this leaves records whose files
    # are gone, which the next purge removes; never a file nobody knows of.
    files = discard_files(purged.letter_files)
    result = PurgeResult(first_kept, dict(purged.counts), files)
    if by is not None or result.total:
        await ctx.audit(
            tx,
            "purged",
            None,
            [],
            by=by,
            source=source,
            kept_from=first_kept.isoformat(),
            letter_files=files,
            **result.counts,
        )
    if result.total:
        logger.info(
            "retention: purged %d records from before %s", result.total, first_kept.isoformat()
        )
    return result
