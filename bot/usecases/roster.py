"""Importing the school's roster (OneRoster), all or nothing; rule 2 for pupils who left a class."""

from __future__ import annotations

from bot.domain import Group, Membership, MemberState, RosterChanges, RosterSnapshot
from bot.rules.membership import Verdict, is_present
from bot.usecases.context import ROSTER_GENERATION, Context, roster_changed
from bot.usecases.membership import cannot_remove, report_not_allowed

ROSTER_IMPORTED = ("klasbot", "roster-imported")
"""The `PlatformStateRepository` key of the last bulk export imported: its fingerprint and the
roster generation the import left (`unchanged`)."""


class _DryRun(Exception):
    pass


async def unchanged(ctx: Context, fingerprint: str) -> bool:
    """Whether `fingerprint` (an export, byte for byte, read by the same code) is the bulk export
    imported last, and nothing changed the roster since (an erasure, a `/taal`, a delta import
    that changed something: each makes a new roster generation). Importing it again would then
    change nothing, so it need not be read at all."""
    async with ctx.db.transaction() as tx:
        stored = await tx.state.get(*ROSTER_IMPORTED)
        generation = await tx.state.get(*ROSTER_GENERATION)
    return stored == f"{fingerprint} {generation}"


async def import_unchanged(ctx: Context) -> RosterChanges:
    """An export that `unchanged` recognised: nothing is read or written but the audit event of
    the import, as after any import that changed nothing."""
    async with ctx.db.transaction() as tx:
        await ctx.audit(tx, "roster-import", None, [], added={}, updated={}, removed={})
    return RosterChanges()


async def import_roster(
    ctx: Context,
    snapshot: RosterSnapshot,
    *,
    dry_run: bool = False,
    deleted: dict[str, frozenset[str]] | None = None,
    fingerprint: str | None = None,
) -> RosterChanges:
    """Sync the stored roster with `snapshot` in one transaction (all or nothing). `deleted` is
    given for a delta export. A pupil who left a class is removed from its groups (rule 2).
    The `fingerprint` of a bulk export is kept for `unchanged`."""
    changes = RosterChanges()
    removals: list[tuple[Group, str, str]] = []
    try:
        async with ctx.db.transaction() as tx:
            changes = await tx.roster.sync(snapshot, deleted=deleted)
            if dry_run:
                raise _DryRun
            if not changes.empty:
                await roster_changed(tx)
            if fingerprint is not None and deleted is None:
                generation = await tx.state.get(*ROSTER_GENERATION)
                await tx.state.set(*ROSTER_IMPORTED, f"{fingerprint} {generation}")
            now = ctx.clock.now()
            # Each class's groups and each group's members are read once, not once per pupil:
            # a class that left as a whole is one query per group.
            groups: dict[str, list[Group]] = {}
            members: dict[int, dict[str, Membership]] = {}
            for pupil_id, class_id in changes.left_class:
                if class_id not in groups:
                    groups[class_id] = await tx.groups.list(class_id)
                for group in groups[class_id]:
                    if group.id not in members:
                        members[group.id] = await tx.groups.members(group.id)
                    membership = members[group.id].get(pupil_id)
                    if membership is not None and is_present(membership.state):
                        await tx.groups.set_member(
                            group.id, pupil_id, membership.account_id, MemberState.REMOVED, now
                        )
                        removals.append((group, pupil_id, membership.account_id))
                await ctx.audit(tx, "left-class", None, [pupil_id], class_id=class_id)
            await ctx.audit(
                tx,
                "roster-import",
                None,
                [],
                added={k: len(v) for k, v in changes.added.items()},
                updated={k: len(v) for k, v in changes.updated.items()},
                removed={k: len(v) for k, v in changes.removed.items()},
            )
    except _DryRun:
        return changes
    for group, pupil_id, account_id in removals:
        if cannot_remove(ctx, group.platform):
            # The pupil stays in the group until someone removes them: the class's staff are told.
            async with ctx.db.transaction() as tx:
                pupil = await tx.roster.person(pupil_id)
                await report_not_allowed(ctx, tx, group, pupil, account_id, Verdict.STRANGER)
            continue
        platform = ctx.platforms.get(group.platform)
        if platform is not None:
            await platform.remove(group.chat_id, account_id, "left-class")
    return changes
