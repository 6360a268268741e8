"""import_roster: all or nothing, a sync, and rule 2 for a pupil who left a class."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.clock import FrozenClock
from bot.domain import RosterSnapshot
from bot.policy import SchoolPolicy
from bot.usecases import groups as groups_uc
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from storage.memory import InMemoryUnitOfWork
from tests.unit.usecases.conftest import FakePlatform, events, link, member_states


def without_enrollment(snapshot: RosterSnapshot, pupil_id: str, class_id: str) -> RosterSnapshot:
    kept = tuple(
        e for e in snapshot.enrollments if not (e.person_id == pupil_id and e.class_id == class_id)
    )
    return replace(snapshot, enrollments=kept)


@pytest.fixture
def empty_ctx(clock: FrozenClock, policy: SchoolPolicy, console: FakePlatform) -> Context:
    return Context(
        db=InMemoryUnitOfWork(), clock=clock, policy=policy, platforms={"console": console}
    )


async def test_first_import_adds_every_person_class_and_enrollment(
    empty_ctx: Context, snapshot: RosterSnapshot
) -> None:
    changes = await roster_uc.import_roster(empty_ctx, snapshot)
    assert len(changes.added["persons"]) == len(snapshot.persons)
    assert sorted(changes.added["classes"]) == ["cls-2b", "cls-4c"]
    assert len(changes.added["enrollments"]) == len(snapshot.enrollments)


async def test_import_is_audited_with_counts(empty_ctx: Context, snapshot: RosterSnapshot) -> None:
    await roster_uc.import_roster(empty_ctx, snapshot)
    [event] = await events(empty_ctx, "roster-import")
    assert event.details["added"]["classes"] == 2  # type: ignore[index]


async def test_imported_class_roster_has_its_pupils_staff_and_mentor(
    empty_ctx: Context, snapshot: RosterSnapshot
) -> None:
    await roster_uc.import_roster(empty_ctx, snapshot)
    async with empty_ctx.db.transaction() as tx:
        roster = await tx.roster.class_roster("cls-2b")
    assert tuple(p.id for p in roster.pupils) == tuple(f"p-2b-0{n}" for n in range(1, 8))
    assert {s.id for s in roster.staff} == {"t-devries", "t-bakker"}
    assert roster.mentor_ids == frozenset({"t-devries"})


async def test_dry_run_reports_changes_and_stores_nothing(
    empty_ctx: Context, snapshot: RosterSnapshot
) -> None:
    changes = await roster_uc.import_roster(empty_ctx, snapshot, dry_run=True)
    async with empty_ctx.db.transaction() as tx:
        stored = await tx.roster.count_persons()
    assert len(changes.added["persons"]) == len(snapshot.persons)
    assert stored == 0
    assert await events(empty_ctx) == []


async def test_importing_the_same_roster_again_changes_nothing(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    changes = await roster_uc.import_roster(ctx, snapshot)
    assert changes.empty


async def test_a_failing_import_keeps_nothing(
    empty_ctx: Context, snapshot: RosterSnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(empty_ctx, "audit", broken_audit)
    with pytest.raises(RuntimeError):
        await roster_uc.import_roster(empty_ctx, snapshot)
    async with empty_ctx.db.transaction() as tx:
        assert await tx.roster.count_persons() == 0


async def test_pupil_who_left_the_class_is_removed_from_its_group(
    ctx: Context, snapshot: RosterSnapshot, console: FakePlatform
) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await link(ctx, "p-2b-01")
    changes = await roster_uc.import_roster(ctx, without_enrollment(snapshot, "p-2b-01", "cls-2b"))
    assert changes.left_class == [("p-2b-01", "cls-2b")]
    assert (await member_states(ctx, group.id))["p-2b-01"] == "removed"
    assert console.removed == [(group.chat_id, "p-2b-01", "left-class")]


async def test_leaving_the_class_is_audited_for_the_pupil(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    await roster_uc.import_roster(ctx, without_enrollment(snapshot, "p-2b-02", "cls-2b"))
    [event] = await events(ctx, "left-class")
    assert event.person_ids == ("p-2b-02",)
    assert event.details["class_id"] == "cls-2b"


async def test_dry_run_of_a_leaving_pupil_removes_nobody(
    ctx: Context, snapshot: RosterSnapshot, console: FakePlatform
) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await link(ctx, "p-2b-01")
    await roster_uc.import_roster(
        ctx, without_enrollment(snapshot, "p-2b-01", "cls-2b"), dry_run=True
    )
    assert (await member_states(ctx, group.id))["p-2b-01"] == "member"
    assert console.removed == []


async def test_delta_import_removes_only_what_it_marks_deleted(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    only_2b_01 = replace(
        snapshot,
        persons=tuple(p for p in snapshot.persons if p.id == "p-2b-01"),
        enrollments=(),
    )
    changes = await roster_uc.import_roster(
        ctx, only_2b_01, deleted={"users": frozenset({"p-2b-07"})}
    )
    assert changes.removed["persons"] == ["p-2b-07"]
    async with ctx.db.transaction() as tx:
        assert await tx.roster.person("p-2b-06") is not None
