"""The contract of `bot.repositories`, run over memory, SQLite and PostgreSQL (see conftest)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.oneroster.reader import read_roster
from bot.codes import hash_code
from bot.domain import (
    Address,
    Announcement,
    AuditEvent,
    Channel,
    Delivery,
    DeliveryStatus,
    GroupState,
    Invite,
    Kind,
    Membership,
    MemberState,
    NewDelivery,
    Person,
    Reason,
    Recipient,
    Role,
    RosterSnapshot,
    School,
)
from bot.notices import (
    InviteNotice,
    Notice,
    ReportNotice,
    UnreachableItem,
    UnreachableNotice,
)
from bot.repositories import Repositories, UnitOfWork
from tests.conftest import DEMO_ROSTER
from tests.contract.conftest import DUPLICATE

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LEASE = T0 + timedelta(minutes=5)
HASH = hash_code("ABCD-EFGH-JK")
OTHER_HASH = hash_code("NOPE")


def demo() -> RosterSnapshot:
    return read_roster(DEMO_ROSTER)


async def seeded(uow: UnitOfWork) -> RosterSnapshot:
    snapshot = demo()
    async with uow.transaction() as r:
        await r.roster.sync(snapshot)
    return snapshot


def announcement(class_id: str = "cls-2b", kind: Kind = Kind.HOMEWORK) -> Announcement:
    return Announcement(
        id=0,
        class_id=class_id,
        kind=kind,
        author_id="t-devries",
        created_at=T0,
        body="Lees hoofdstuk 3.",
        signature="J. de Vries",
        date=date(2026, 11, 24),
        subject="Nederlands",
    )


def row(
    key: str,
    person_id: str = "p-2b-01",
    *,
    announcement_id: int | None = None,
    channel: Channel = Channel.EMAIL,
    status: DeliveryStatus = DeliveryStatus.PENDING,
    due_at: datetime = T0,
    group_id: int | None = None,
    notice: Notice | None = None,
) -> NewDelivery:
    return NewDelivery(
        person_id=person_id,
        channel=channel,
        reason=None if channel == Channel.GROUP else Reason.NOT_LINKED,
        status=status,
        due_at=due_at,
        idempotency_key=key,
        recipients=(Recipient(person_id, "Ouder", email="ouder@example.org"),),
        group_id=group_id,
        announcement_id=announcement_id,
        notice=notice,
    )


async def add_rows(uow: UnitOfWork, *rows: NewDelivery) -> list[int]:
    async with uow.transaction() as r:
        return await r.outbox.add(rows)


async def with_announcement(uow: UnitOfWork) -> int:
    await seeded(uow)
    async with uow.transaction() as r:
        return await r.announcements.add(announcement())


async def claimed_ids(
    uow: UnitOfWork, now: datetime = T0, limit: int = 100, **kw: object
) -> set[int]:
    async with uow.transaction() as r:
        return {d.id for d in await r.outbox.claim_due(now, LEASE, limit, **kw)}  # type: ignore[arg-type]


async def delivery(uow: UnitOfWork, delivery_id: int) -> Delivery:
    async with uow.transaction() as r:
        (found,) = await r.outbox.get([delivery_id])
    return found


# ---------------------------------------------------------------------------------------- roster


async def test_first_sync_adds_everything(uow: UnitOfWork) -> None:
    snapshot = demo()
    async with uow.transaction() as r:
        changes = await r.roster.sync(snapshot)
    assert sorted(changes.added["persons"]) == sorted(p.id for p in snapshot.persons)
    assert changes.added["classes"] == ["cls-2b", "cls-4c"]
    assert changes.added["schools"] == ["org-passie-utrecht"]
    assert not changes.removed


async def test_second_sync_of_the_same_roster_changes_nothing(uow: UnitOfWork) -> None:
    snapshot = await seeded(uow)
    async with uow.transaction() as r:
        changes = await r.roster.sync(snapshot)
    assert changes.empty
    assert changes.left_class == []


async def test_sync_updates_and_removes(uow: UnitOfWork) -> None:
    snapshot = await seeded(uow)
    persons = {p.id: p for p in snapshot.persons}
    changed = replace(persons["p-2b-02"], given_name="Daniël")
    people = tuple(p for p in snapshot.persons if p.id not in ("p-2b-02", "p-2b-04")) + (changed,)
    enrollments = tuple(e for e in snapshot.enrollments if e.person_id != "p-2b-04")
    async with uow.transaction() as r:
        changes = await r.roster.sync(replace(snapshot, persons=people, enrollments=enrollments))
        assert changes.updated["persons"] == ["p-2b-02"]
        assert "p-2b-04" in changes.removed["persons"]
        assert changes.left_class == [("p-2b-04", "cls-2b")]
        assert "cls-2b/p-2b-04/student" in changes.removed["enrollments"]
    async with uow.transaction() as r:
        assert (await r.roster.person("p-2b-02")).given_name == "Daniël"  # type: ignore[union-attr]
        assert await r.roster.person("p-2b-04") is None
        assert await r.roster.enrollments_of("p-2b-04") == []


async def test_sync_adds_a_newcomer_with_an_enrollment(uow: UnitOfWork) -> None:
    snapshot = await seeded(uow)
    newcomer = Person("p-2b-99", Role.PUPIL, "Ilse", "Kok", birth_date=date(2012, 1, 1))
    enrollment = replace(snapshot.enrollments[2], person_id="p-2b-99")
    async with uow.transaction() as r:
        changes = await r.roster.sync(
            replace(
                snapshot,
                persons=(*snapshot.persons, newcomer),
                enrollments=(*snapshot.enrollments, enrollment),
            )
        )
    assert changes.added["persons"] == ["p-2b-99"]
    assert changes.added["enrollments"] == ["cls-2b/p-2b-99/student"]
    async with uow.transaction() as r:
        assert await r.roster.person("p-2b-99") == newcomer


async def test_sync_removes_a_guardian_link(uow: UnitOfWork) -> None:
    snapshot = await seeded(uow)
    people = tuple(
        replace(p, guardian_ids=("g-03",)) if p.id == "p-2b-03" else p for p in snapshot.persons
    )
    async with uow.transaction() as r:
        changes = await r.roster.sync(replace(snapshot, persons=people))
    assert changes.removed["guardianships"] == ["p-2b-03<-g-04"]
    async with uow.transaction() as r:
        assert (await r.roster.person("p-2b-03")).guardian_ids == ("g-03",)  # type: ignore[union-attr]


async def test_delta_sync_removes_only_what_is_marked_deleted(uow: UnitOfWork) -> None:
    snapshot = await seeded(uow)
    persons = {p.id: p for p in snapshot.persons}
    changed = replace(persons["p-2b-01"], family_name="Bergen")
    delta = RosterSnapshot(schools=(), classes=(), persons=(changed,), enrollments=())
    async with uow.transaction() as r:
        changes = await r.roster.sync(delta, deleted={"users": frozenset({"p-2b-03"})})
        assert changes.updated["persons"] == ["p-2b-01"]
        assert changes.removed["persons"] == ["p-2b-03"]
        assert changes.left_class == [("p-2b-03", "cls-2b")]
    async with uow.transaction() as r:
        assert await r.roster.count_persons() == len(snapshot.persons) - 1
        assert (await r.roster.person("p-2b-01")).guardian_ids == ("g-01",)  # type: ignore[union-attr]
        assert len(await r.roster.enrollments_of("p-2b-02")) == 1


async def test_delta_sync_removes_a_deleted_class(uow: UnitOfWork) -> None:
    await seeded(uow)
    empty = RosterSnapshot(schools=(), classes=(), persons=(), enrollments=())
    async with uow.transaction() as r:
        changes = await r.roster.sync(empty, deleted={"classes": frozenset({"cls-4c"})})
    assert changes.removed["classes"] == ["cls-4c"]
    assert "cls-4c/t-jansen/teacher" in changes.removed["enrollments"]


async def test_a_class_with_an_announcement_or_group_is_kept(uow: UnitOfWork) -> None:
    snapshot = await seeded(uow)
    async with uow.transaction() as r:
        await r.announcements.add(announcement("cls-2b"))
    only = RosterSnapshot(
        schools=snapshot.schools, classes=(), persons=snapshot.persons, enrollments=()
    )
    async with uow.transaction() as r:
        changes = await r.roster.sync(only)
    assert changes.removed["classes"] == ["cls-4c"]
    async with uow.transaction() as r:
        assert [c.id for c in await r.roster.find_classes("cls-2b")] == ["cls-2b"]


async def test_removing_a_person_removes_their_accounts(uow: UnitOfWork) -> None:
    snapshot = await seeded(uow)
    async with uow.transaction() as r:
        await r.accounts.link("telegram", "tg-1", "p-2b-04", T0)
    people = tuple(p for p in snapshot.persons if p.id != "p-2b-04")
    enrollments = tuple(e for e in snapshot.enrollments if e.person_id != "p-2b-04")
    async with uow.transaction() as r:
        await r.roster.sync(replace(snapshot, persons=people, enrollments=enrollments))
    async with uow.transaction() as r:
        assert await r.accounts.person_of("telegram", "tg-1") is None
        assert await r.accounts.linked_persons("telegram") == frozenset()


async def test_find_classes_by_id_code_and_case(uow: UnitOfWork) -> None:
    await seeded(uow)
    async with uow.transaction() as r:
        assert [c.id for c in await r.roster.find_classes("cls-4c")] == ["cls-4c"]
        assert [c.id for c in await r.roster.find_classes("2B")] == ["cls-2b"]
        assert [c.id for c in await r.roster.find_classes("2b")] == ["cls-2b"]
        assert await r.roster.find_classes("9Z") == []


async def test_persons_leaves_unknown_ids_out(uow: UnitOfWork) -> None:
    await seeded(uow)
    async with uow.transaction() as r:
        found = await r.roster.persons(["p-2b-01", "nobody", "g-01"])
    assert set(found) == {"p-2b-01", "g-01"}
    assert found["p-2b-01"].guardian_ids == ("g-01",)


async def test_person_and_count(uow: UnitOfWork) -> None:
    snapshot = await seeded(uow)
    by_id = {p.id: p for p in snapshot.persons}
    async with uow.transaction() as r:
        assert await r.roster.count_persons() == len(snapshot.persons)
        assert await r.roster.person("p-2b-03") == by_id["p-2b-03"]
        assert await r.roster.person("nobody") is None


async def test_classes_counts_pupils_and_staff(uow: UnitOfWork) -> None:
    snapshot = await seeded(uow)
    async with uow.transaction() as r:
        classes = await r.roster.classes()
    assert [c.id for c, _, _, _ in classes] == ["cls-2b", "cls-4c"]
    pupils = sum(1 for e in snapshot.enrollments if e.class_id == "cls-2b" and e.role == "student")
    assert classes[0][2] == pupils
    assert classes[0][3] == 2
    assert classes[0][1].name == "De Passie Utrecht"


async def test_class_schools_are_the_schools_with_a_class(uow: UnitOfWork) -> None:
    snapshot = demo()
    lonely = School("org-zonder-klassen", "School zonder klassen", "99XX")
    async with uow.transaction() as r:
        await r.roster.sync(replace(snapshot, schools=(*snapshot.schools, lonely)))
        schools = await r.roster.schools()
        with_classes = await r.roster.class_schools()
    assert lonely in schools
    assert with_classes == [s for s in schools if s != lonely]
    assert {s.id for s in with_classes} == {c.school_id for c in snapshot.classes}


async def test_class_roster(uow: UnitOfWork) -> None:
    await seeded(uow)
    async with uow.transaction() as r:
        roster = await r.roster.class_roster("cls-2b")
    assert roster.school_class.code == "2B"
    assert [p.id for p in roster.staff] == ["t-bakker", "t-devries"]
    assert roster.mentor_ids == frozenset({"t-devries"})
    assert [p.id for p in roster.pupils] == sorted(p.id for p in roster.pupils)
    assert "p-2b-03" in [p.id for p in roster.pupils]
    assert {"g-03", "g-04"} <= set(roster.guardians)


async def test_class_roster_of_an_unknown_class_raises_key_error(uow: UnitOfWork) -> None:
    await seeded(uow)
    async with uow.transaction() as r:
        with pytest.raises(KeyError):
            await r.roster.class_roster("nope")


async def test_enrollments_of(uow: UnitOfWork) -> None:
    await seeded(uow)
    async with uow.transaction() as r:
        enrollments = await r.roster.enrollments_of("t-bakker")
    assert [(e.class_id, e.role.value, e.primary) for e in enrollments] == [
        ("cls-2b", "teacher", False),
        ("cls-4c", "teacher", False),
    ]


# ---------------------------------------------------------------------------------------- groups


async def test_groups_add_get_list_by_chat(uow: UnitOfWork) -> None:
    await seeded(uow)
    async with uow.transaction() as r:
        a = await r.groups.add("cls-2b", "telegram", "-100", GroupState.ACTIVE, T0)
        b = await r.groups.add("cls-4c", "matrix", "!room", GroupState.PENDING, T0)
    async with uow.transaction() as r:
        assert await r.groups.get(a.id) == a
        assert await r.groups.get(b.id + 1000) is None
        assert await r.groups.list() == [a, b]
        assert await r.groups.list(class_id="cls-4c") == [b]
        assert await r.groups.list(platform="telegram") == [a]
        assert await r.groups.by_chat("matrix", "!room") == b
        assert await r.groups.by_chat("telegram", "!room") is None
    assert a.id < b.id
    assert b.state == GroupState.PENDING


async def test_group_update(uow: UnitOfWork) -> None:
    await seeded(uow)
    async with uow.transaction() as r:
        g = await r.groups.add("cls-2b", "telegram", "-100", GroupState.ACTIVE, T0)
        await r.groups.update(g.id, state=GroupState.LOST)
        await r.groups.update(g.id, chat_id="-200")
    async with uow.transaction() as r:
        assert await r.groups.get(g.id) == replace(g, state=GroupState.LOST, chat_id="-200")
        assert await r.groups.by_chat("telegram", "-100") is None


async def test_a_chat_has_one_group(uow: UnitOfWork) -> None:
    await seeded(uow)
    async with uow.transaction() as r:
        await r.groups.add("cls-2b", "telegram", "-100", GroupState.ACTIVE, T0)
    with pytest.raises(DUPLICATE):
        async with uow.transaction() as r:
            await r.groups.add("cls-4c", "telegram", "-100", GroupState.ACTIVE, T0)


async def test_members_with_states(uow: UnitOfWork) -> None:
    await seeded(uow)
    async with uow.transaction() as r:
        g = await r.groups.add("cls-2b", "telegram", "-100", GroupState.ACTIVE, T0)
        await r.groups.set_member(g.id, "p-2b-01", "tg-1", MemberState.INVITED, T0)
        await r.groups.set_member(g.id, "p-2b-01", "tg-1", MemberState.MEMBER, T0)
        await r.groups.set_member(g.id, "p-2b-01", "tg-1", MemberState.MEMBER, T0)
        await r.groups.set_member(g.id, "p-2b-02", "tg-2", MemberState.LEFT, T0)
        await r.groups.set_member(g.id, "p-2b-03", "tg-3", MemberState.REMOVED, T0)
        other = await r.groups.add("cls-4c", "telegram", "-200", GroupState.ACTIVE, T0)
        await r.groups.set_member(other.id, "p-4c-01", "tg-9", MemberState.MEMBER, T0)
    async with uow.transaction() as r:
        members = await r.groups.members(g.id)
        assert await r.groups.members(other.id + 1000) == {}
    assert members == {
        "p-2b-01": Membership("tg-1", MemberState.MEMBER),
        "p-2b-02": Membership("tg-2", MemberState.LEFT),
        "p-2b-03": Membership("tg-3", MemberState.REMOVED),
    }


# -------------------------------------------------------------------------------------- accounts


async def test_accounts_link_and_relink(uow: UnitOfWork) -> None:
    await seeded(uow)
    async with uow.transaction() as r:
        await r.accounts.link("telegram", "tg-1", "p-2b-01", T0)
        await r.accounts.link("matrix", "@a:x", "p-2b-01", T0)
        await r.accounts.link("telegram", "tg-2", "g-02", T0)
    async with uow.transaction() as r:
        assert (await r.accounts.person_of("telegram", "tg-1")).id == "p-2b-01"  # type: ignore[union-attr]
        assert await r.accounts.person_of("telegram", "tg-404") is None
        assert [a.platform for a in await r.accounts.of_person("p-2b-01")] == [
            "matrix",
            "telegram",
        ]
        assert await r.accounts.linked_persons("telegram") == frozenset({"p-2b-01", "g-02"})
        await r.accounts.link("telegram", "tg-1", "p-2b-02", T0)  # a re-link moves the account
    async with uow.transaction() as r:
        assert (await r.accounts.person_of("telegram", "tg-1")).id == "p-2b-02"  # type: ignore[union-attr]
        assert [a.account_id for a in await r.accounts.of_person("p-2b-01")] == ["@a:x"]
        assert await r.accounts.linked_persons("matrix") == frozenset({"p-2b-01"})


# --------------------------------------------------------------------------------------- invites


async def test_invites_are_single_use(uow: UnitOfWork) -> None:
    await seeded(uow)
    # Invites are stored and found by the hash of their code (`bot.codes.hash_code`).
    invite = Invite(HASH, "g-01", T0, T0 + timedelta(days=7))
    async with uow.transaction() as r:
        await r.invites.add(invite)
    async with uow.transaction() as r:
        assert await r.invites.get(HASH) == invite
        assert await r.invites.get(OTHER_HASH) is None
        assert await r.invites.use(HASH, T0) is True
        assert await r.invites.use(HASH, T0) is False
        assert await r.invites.use(OTHER_HASH, T0) is False
    async with uow.transaction() as r:
        assert (await r.invites.get(HASH)).used_at == T0  # type: ignore[union-attr]


async def test_an_invite_code_hash_is_unique(uow: UnitOfWork) -> None:
    await seeded(uow)
    invite = Invite(HASH, "g-01", T0, T0 + timedelta(days=7))
    async with uow.transaction() as r:
        await r.invites.add(invite)
    with pytest.raises(DUPLICATE):
        async with uow.transaction() as r:
            await r.invites.add(replace(invite, person_id="g-02"))


async def test_revoking_a_persons_unused_codes_leaves_used_and_others_codes(
    uow: UnitOfWork,
) -> None:
    await seeded(uow)
    later = T0 + timedelta(days=7)
    used, unused, expired, theirs = (hash_code(c) for c in ("USED", "UNUSED", "EXPIRED", "THEIRS"))
    async with uow.transaction() as r:
        await r.invites.add(Invite(used, "g-01", T0, later, used_at=T0))
        await r.invites.add(Invite(unused, "g-01", T0, later))
        await r.invites.add(Invite(expired, "g-01", T0 - timedelta(days=30), T0))
        await r.invites.add(Invite(theirs, "g-02", T0, later))
    async with uow.transaction() as r:
        assert await r.invites.revoke_unused("g-01") == sorted([unused, expired])
    async with uow.transaction() as r:
        assert await r.invites.get(unused) is None
        assert await r.invites.get(expired) is None
        assert (await r.invites.get(used)).used_at == T0  # type: ignore[union-attr]
        assert await r.invites.get(theirs) is not None
        assert await r.invites.revoke_unused("g-01") == []


async def test_a_persons_codes_oldest_first(uow: UnitOfWork) -> None:
    await seeded(uow)
    later = T0 + timedelta(days=7)
    old, new, theirs = (hash_code(c) for c in ("OLD", "NEW", "THEIRS"))
    async with uow.transaction() as r:
        await r.invites.add(Invite(new, "g-01", T0, later))
        await r.invites.add(Invite(old, "g-01", T0 - timedelta(days=30), T0, used_at=T0))
        await r.invites.add(Invite(theirs, "g-02", T0, later))
    async with uow.transaction() as r:
        assert [i.code_hash for i in await r.invites.of_person("g-01")] == [old, new]
        assert [i.used_at for i in await r.invites.of_person("g-01")] == [T0, None]
        assert await r.invites.of_person("nobody") == []


async def test_memberships_of_a_person_in_every_group(uow: UnitOfWork) -> None:
    await seeded(uow)
    async with uow.transaction() as r:
        first = await r.groups.add("cls-2b", "matrix", "!a:x", GroupState.ACTIVE, T0)
        second = await r.groups.add("cls-2b", "telegram", "-100", GroupState.ACTIVE, T0)
        await r.groups.set_member(first.id, "p-2b-01", "@a:x", MemberState.MEMBER, T0)
        await r.groups.set_member(second.id, "p-2b-01", "tg-1", MemberState.INVITED, T0)
        await r.groups.set_member(second.id, "p-2b-02", "tg-2", MemberState.MEMBER, T0)
    async with uow.transaction() as r:
        assert await r.groups.memberships_of("p-2b-01") == {
            first.id: Membership("@a:x", MemberState.MEMBER),
            second.id: Membership("tg-1", MemberState.INVITED),
        }
        assert await r.groups.memberships_of("nobody") == {}


# --------------------------------------------------------------------------------- announcements


async def test_announcements_add_get_list(uow: UnitOfWork) -> None:
    await seeded(uow)
    async with uow.transaction() as r:
        first = await r.announcements.add(announcement("cls-2b", Kind.TRIP))
        second = await r.announcements.add(announcement("cls-4c"))
        third = await r.announcements.add(announcement("cls-2b"))
    async with uow.transaction() as r:
        got = await r.announcements.get(first)
        assert await r.announcements.get(third + 1000) is None
        assert [a.id for a in await r.announcements.list()] == [first, second, third]
        assert [a.id for a in await r.announcements.list("cls-2b")] == [first, third]
    assert got == replace(announcement("cls-2b", Kind.TRIP), id=first)
    assert got is not None
    assert type(got.kind) is Kind
    assert first < second
    assert second < third


# ---------------------------------------------------------------------------------------- outbox


async def test_outbox_add_returns_ids_in_order(uow: UnitOfWork) -> None:
    a = await with_announcement(uow)
    ids = await add_rows(uow, *(row(f"k{i}", f"p-2b-0{i}", announcement_id=a) for i in (3, 1, 2)))
    async with uow.transaction() as r:
        got = await r.outbox.get(ids)
        by_pupil = await r.outbox.for_announcement(a)
    assert ids == sorted(ids)
    assert {d.id: d.idempotency_key for d in got} == dict(zip(ids, ["k3", "k1", "k2"], strict=True))
    assert [d.pupil_id for d in by_pupil] == ["p-2b-01", "p-2b-02", "p-2b-03"]


async def test_outbox_add_stores_every_field(uow: UnitOfWork) -> None:
    a = await with_announcement(uow)
    address = Address("Dorpsstraat 1", "1234 AB", "Utrecht")
    new = replace(
        row("k1", announcement_id=a, channel=Channel.POST),
        recipients=(Recipient("g-01", "Ouder", address=address),),
        reason=Reason.UNDER_13,
    )
    (i,) = await add_rows(uow, new)
    d = await delivery(uow, i)
    assert d.announcement_id == a
    assert d.pupil_id == "p-2b-01"
    assert d.channel == Channel.POST
    assert d.reason == Reason.UNDER_13
    assert d.status == DeliveryStatus.PENDING
    assert d.recipients == (Recipient("g-01", "Ouder", address=address),)
    assert d.due_at == T0
    assert d.attempts == 0
    assert d.channel_attempts == 0
    assert d.sent_at is None
    assert d.notice is None


async def test_outbox_refuses_a_key_twice(uow: UnitOfWork) -> None:
    a = await with_announcement(uow)
    await add_rows(uow, row("k1", "p-2b-01", announcement_id=a))
    with pytest.raises(DUPLICATE):
        await add_rows(uow, row("k1", "p-2b-02", announcement_id=a))
    async with uow.transaction() as r:
        assert len(await r.outbox.for_announcement(a)) == 1


async def test_outbox_refuses_a_second_row_per_pupil_and_announcement(uow: UnitOfWork) -> None:
    a = await with_announcement(uow)
    await add_rows(uow, row("k1", "p-2b-01", announcement_id=a))
    with pytest.raises(DUPLICATE):
        await add_rows(uow, row("k2", "p-2b-01", announcement_id=a))


async def test_several_notices_for_one_person(uow: UnitOfWork) -> None:
    ids = await add_rows(uow, row("n1", "g-01"), row("n2", "g-01"))
    async with uow.transaction() as r:
        got = await r.outbox.get(ids)
    assert [d.idempotency_key for d in got] == ["n1", "n2"]
    assert [d.announcement_id for d in got] == [None, None]


async def test_a_notice_round_trips_through_the_outbox(uow: UnitOfWork) -> None:
    invite = InviteNotice(
        code="ABC123",
        expires_on="30-11-2026",
        class_code="2B",
        school_name="De Passie Utrecht",
        recipient_name="Ouder",
        audience="guardian",
        pupil_name="Zoë",
        pupil_full_name="Zoë van den Berg",
    )
    unreachable = UnreachableNotice(
        day="2026-11-23",
        items=(UnreachableItem(7, "2B", "2 leerlingen", ("Zoë", "Daan")),),
        school_name="De Passie Utrecht",
    )
    ids = await add_rows(
        uow, row("n1", "g-01", notice=invite), row("n2", "t-devries", notice=unreachable)
    )
    async with uow.transaction() as r:
        first, second = await r.outbox.get(ids)
    assert first.notice == invite
    assert first.announcement_id is None
    assert second.notice == unreachable


async def test_cancelling_a_persons_notices_of_one_kind_that_have_not_gone_out(
    uow: UnitOfWork,
) -> None:
    await seeded(uow)
    invite = InviteNotice(
        code="ABC123",
        expires_on="2026-12-07",
        class_code="2B",
        school_name="De Passie Utrecht",
        recipient_name="Ouder",
        audience="guardian",
        pupil_name="Zoë",
        platforms=("telegram",),
        telegram_bot="passie_klas_bot",
    )
    report = ReportNotice(
        kind="report", reporter="Zoë", text="x", created_at="", school_name="De Passie Utrecht"
    )
    (in_flight,) = await add_rows(uow, row("flight", notice=invite))
    assert await claimed_ids(uow) == {in_flight}
    (sent,) = await add_rows(uow, row("sent", notice=invite))
    async with uow.transaction() as r:
        await r.outbox.mark_sent([sent], T0, None)
    waiting, later, other_kind, someone_else = await add_rows(
        uow,
        row("waiting", notice=invite),
        row("later", notice=invite, status=DeliveryStatus.HELD, due_at=LEASE),
        row("report", notice=report),
        row("theirs", "p-2b-02", notice=invite),
    )
    async with uow.transaction() as r:
        assert await r.outbox.cancel_notices("p-2b-01", "invite", T0) == [waiting, later]
    async with uow.transaction() as r:
        status = {d.id: d.status for d in await r.outbox.get([in_flight, sent, waiting, later])}
        assert status == {
            in_flight: DeliveryStatus.PENDING,
            sent: DeliveryStatus.SENT,
            waiting: DeliveryStatus.WITHDRAWN,
            later: DeliveryStatus.WITHDRAWN,
        }
        others = await r.outbox.get([other_kind, someone_else])
        assert {d.status for d in others} == {DeliveryStatus.PENDING}
        assert await r.outbox.cancel_notices("p-2b-01", "invite", T0) == []
    # A cancelled row is never claimed; the one in flight is, once its lease ran out.
    assert in_flight in await claimed_ids(uow, LEASE)
    assert not {waiting, later} & await claimed_ids(uow, LEASE + timedelta(minutes=10))


async def test_claim_due_takes_only_due_rows(uow: UnitOfWork) -> None:
    due, later = await add_rows(uow, row("n1"), row("n2", due_at=T0 + timedelta(minutes=1)))
    assert await claimed_ids(uow) == {due}
    assert await claimed_ids(uow, T0 + timedelta(minutes=1)) == {later}


async def test_claim_due_respects_the_limit_in_due_order(uow: UnitOfWork) -> None:
    ids = await add_rows(uow, *(row(f"n{i}", due_at=T0 - timedelta(minutes=i)) for i in range(3)))
    assert await claimed_ids(uow, limit=2) == {ids[2], ids[1]}


async def test_claim_due_respects_a_live_lease(uow: UnitOfWork) -> None:
    (i,) = await add_rows(uow, row("n1"))
    assert await claimed_ids(uow) == {i}
    assert await claimed_ids(uow, T0 + timedelta(minutes=1)) == set()
    assert await claimed_ids(uow, LEASE) == {i}


async def test_claim_due_sets_the_lease_and_wakes_held_rows(uow: UnitOfWork) -> None:
    (i,) = await add_rows(uow, row("n1", status=DeliveryStatus.HELD))
    async with uow.transaction() as r:
        (claimed,) = await r.outbox.claim_due(T0, LEASE, 10)
    assert claimed.status == DeliveryStatus.PENDING
    assert (await delivery(uow, i)).status == DeliveryStatus.PENDING


async def test_claim_due_never_takes_unreachable_sent_failed_or_lettered_rows(
    uow: UnitOfWork,
) -> None:
    ids = await add_rows(
        uow,
        row("n1", channel=Channel.UNREACHABLE, status=DeliveryStatus.PENDING),
        row("n2", status=DeliveryStatus.SENT),
        row("n3", status=DeliveryStatus.FAILED),
        row("n4", channel=Channel.POST),
    )
    async with uow.transaction() as r:
        await r.letters.add("L1", "Ouder", "Dorpsstraat 1", "/tmp/l1.pdf", T0, [ids[3]])
    assert await claimed_ids(uow) == set()


async def test_claim_due_honours_exclude(uow: UnitOfWork) -> None:
    a, b = await add_rows(uow, row("n1"), row("n2"))
    assert await claimed_ids(uow, exclude=[a]) == {b}


async def test_claim_due_takes_a_group_post_whole(uow: UnitOfWork) -> None:
    a = await with_announcement(uow)
    async with uow.transaction() as r:
        g = await r.groups.add("cls-2b", "telegram", "-100", GroupState.ACTIVE, T0)
    group_rows = [
        row(
            f"k{i}",
            f"p-2b-0{i}",
            announcement_id=a,
            channel=Channel.GROUP,
            group_id=g.id,
            due_at=T0 + timedelta(minutes=i),  # retries are jittered per row
        )
        for i in (1, 2, 3)
    ]
    ids = await add_rows(uow, *group_rows, row("n1", "g-01", due_at=T0 - timedelta(minutes=1)))
    # The limit of 2 covers the notice and the first group row; its siblings come along.
    assert await claimed_ids(uow, T0 + timedelta(minutes=1), limit=2) == set(ids)


async def test_hold(uow: UnitOfWork) -> None:
    (i,) = await add_rows(uow, row("n1"))
    await claimed_ids(uow)
    until = T0 + timedelta(hours=10)
    async with uow.transaction() as r:
        await r.outbox.hold([i], until)
    d = await delivery(uow, i)
    assert d.status == DeliveryStatus.HELD
    assert d.due_at == until
    assert d.attempts == 0
    assert await claimed_ids(uow, T0 + timedelta(hours=9)) == set()
    assert await claimed_ids(uow, until) == {i}  # the lease was released


async def test_mark_sent(uow: UnitOfWork) -> None:
    a, b = await add_rows(uow, row("n1"), row("n2"))
    await claimed_ids(uow)
    async with uow.transaction() as r:
        await r.outbox.mark_retry(a, "451 greylisted", T0)
        await r.outbox.mark_sent([a, b], T0 + timedelta(minutes=1), "msg-1")
    d = await delivery(uow, a)
    assert d.status == DeliveryStatus.SENT
    assert d.sent_at == T0 + timedelta(minutes=1)
    assert d.external_id == "msg-1"
    assert d.attempts == 2
    assert d.last_error is None
    assert (await delivery(uow, b)).attempts == 1
    assert await claimed_ids(uow, LEASE) == set()


async def test_mark_sent_without_counting_an_attempt(uow: UnitOfWork) -> None:
    (i,) = await add_rows(uow, row("n1", channel=Channel.POST))
    async with uow.transaction() as r:
        await r.letters.add("H1", "Ouder", "Dorpsstraat 1", "/l/h1.pdf", T0, [i])
        await r.letters.mark_posted(["H1"], LEASE)
        await r.outbox.mark_sent([i], LEASE, None, count_attempt=False)
    d = await delivery(uow, i)
    assert d.status == DeliveryStatus.SENT
    assert d.sent_at == LEASE
    assert d.attempts == 1  # counted once, when the letter was printed


async def test_mark_retry(uow: UnitOfWork) -> None:
    (i,) = await add_rows(uow, row("n1"))
    await claimed_ids(uow)
    again = T0 + timedelta(minutes=2)
    async with uow.transaction() as r:
        await r.outbox.mark_retry(i, "timeout", again)
    d = await delivery(uow, i)
    assert d.status == DeliveryStatus.PENDING
    assert d.due_at == again
    assert d.attempts == 1
    assert d.channel_attempts == 1
    assert d.last_error == "timeout"
    assert await claimed_ids(uow, again) == {i}  # the lease was released


async def test_reroute(uow: UnitOfWork) -> None:
    a = await with_announcement(uow)
    async with uow.transaction() as r:
        g = await r.groups.add("cls-2b", "telegram", "-100", GroupState.ACTIVE, T0)
    (i,) = await add_rows(uow, row("k1", announcement_id=a, channel=Channel.GROUP, group_id=g.id))
    await claimed_ids(uow)
    async with uow.transaction() as r:
        await r.outbox.mark_retry(i, "flood", T0)
    later = T0 + timedelta(minutes=3)
    to = (Recipient("g-01", "Ouder", email="ouder@example.org"),)
    async with uow.transaction() as r:
        await r.outbox.reroute(
            i, channel="email", reason="group-lost", recipients=to, error="kicked", now=later
        )
    d = await delivery(uow, i)
    assert d.channel == Channel.EMAIL
    assert d.reason == Reason.GROUP_LOST
    assert d.recipients == to
    assert d.status == DeliveryStatus.PENDING
    assert d.group_id is None
    assert d.due_at == later
    assert d.attempts == 2
    assert d.channel_attempts == 0
    assert d.last_error == "kicked"


async def test_reroute_to_unreachable_is_final(uow: UnitOfWork) -> None:
    (i,) = await add_rows(uow, row("n1"))
    async with uow.transaction() as r:
        await r.outbox.reroute(
            i, channel="unreachable", reason="bounced", recipients=(), error="550", now=T0
        )
    d = await delivery(uow, i)
    assert d.status == DeliveryStatus.FAILED
    assert d.channel == Channel.UNREACHABLE
    assert d.recipients == ()


async def test_release_gives_rows_back_without_an_attempt(uow: UnitOfWork) -> None:
    (i,) = await add_rows(uow, row("n1"))
    await claimed_ids(uow)
    async with uow.transaction() as r:
        await r.outbox.release([i])
    d = await delivery(uow, i)
    assert d.attempts == 0
    assert d.status == DeliveryStatus.PENDING
    assert await claimed_ids(uow) == {i}


# --------------------------------------------------------------------------------------- letters


async def test_open_key_gets_a_suffix_once_posted(uow: UnitOfWork) -> None:
    async with uow.transaction() as r:
        assert await r.letters.open_key("H1") == "H1"
        await r.letters.add("H1", "Ouder", "Dorpsstraat 1", "/l/h1.pdf", T0, [])
        assert await r.letters.open_key("H1") == "H1"
        await r.letters.mark_posted(["H1"], T0)
        assert await r.letters.open_key("H1") == "H1-2"
        await r.letters.add("H1-2", "Ouder", "Dorpsstraat 1", "/l/h1-2.pdf", T0, [])
        await r.letters.mark_posted(["H1-2"], T0)
        assert await r.letters.open_key("H1") == "H1-3"


async def test_letters_add_list_and_deliveries(uow: UnitOfWork) -> None:
    a = await with_announcement(uow)
    invite = InviteNotice("C1", "30-11-2026", "2B", "De Passie", "Ouder", "guardian")
    ids = await add_rows(
        uow,
        row("k1", "p-2b-01", announcement_id=a, channel=Channel.POST),
        row("n1", "p-2b-02", channel=Channel.POST, notice=invite),
    )
    await claimed_ids(uow)
    async with uow.transaction() as r:
        await r.letters.add("H1", "Ouder", "Dorpsstraat 1", "/l/v1.pdf", T0, ids)
        await r.letters.add("H1", "Ouder", "Dorpsstraat 1", "/l/v2.pdf", T0, ids)  # re-rendered
        await r.letters.add("H2", "Ouder 2", "Kerkweg 2", "/l/h2.pdf", LEASE, [ids[0]])
    async with uow.transaction() as r:
        letters = await r.letters.list()
        carried = await r.letters.deliveries("H1")
    assert [x.key for x in letters] == ["H1", "H2"]
    assert letters[0].path == "/l/v2.pdf"
    assert letters[0].pupils == ("p-2b-01", "p-2b-02")
    assert letters[0].announcements == (a,)
    assert letters[0].notices == ("invite",)
    assert letters[1].notices == ()
    assert [d.id for d in carried] == ids
    assert [d.attempts for d in carried] == [1, 1]  # once, for the first letter
    assert [d.status for d in carried] == [DeliveryStatus.PENDING] * 2
    assert await claimed_ids(uow, LEASE) == set()  # on a letter: never claimed again


async def test_mark_posted_records_only_the_letters(uow: UnitOfWork) -> None:
    (i,) = await add_rows(uow, row("n1", channel=Channel.POST))
    async with uow.transaction() as r:
        await r.letters.add("H1", "Ouder", "Dorpsstraat 1", "/l/h1.pdf", T0, [i])
        await r.letters.add("H2", "Ouder 2", "Kerkweg 2", "/l/h2.pdf", T0, [i])
        assert await r.letters.unposted_letters_of(i) == 2
        assert await r.letters.mark_posted(["H1", "nope"], LEASE) == ["H1"]
        assert await r.letters.mark_posted(["H1"], LEASE) == []
        assert await r.letters.unposted_letters_of(i) == 1
        unposted = await r.letters.list(unposted_only=True)
        everything = await r.letters.list()
    assert [x.key for x in unposted] == ["H2"]
    assert everything[0].posted_at == LEASE
    assert (await delivery(uow, i)).status == DeliveryStatus.PENDING
    async with uow.transaction() as r:
        await r.letters.mark_posted(["H2"], LEASE)
        assert await r.letters.unposted_letters_of(i) == 0


# ----------------------------------------------------------------------------------------- audit


async def test_audit_add_and_filter(uow: UnitOfWork) -> None:
    events = [
        AuditEvent("announce", T0, "t-devries", ("p-2b-01", "p-2b-02"), {"id": 1}),
        AuditEvent("link", T0, None, ("g-01",), {"platform": "telegram"}),
        AuditEvent("announce", LEASE, "t-bakker", ("p-2b-02",), {"nested": {"a": [1, 2]}}),
    ]
    async with uow.transaction() as r:
        await r.audit.add(events)
        await r.audit.add([])
    async with uow.transaction() as r:
        everything = await r.audit.events()
        of_pupil = await r.audit.events(person_id="p-2b-02")
        of_actor = await r.audit.events(person_id="t-devries")
        announces = await r.audit.events(kind="announce")
        both = await r.audit.events(person_id="p-2b-01", kind="link")
    assert [e.kind for e in everything] == ["announce", "link", "announce"]
    assert [e.actor_id for e in of_pupil] == ["t-devries", "t-bakker"]
    assert [e.details for e in of_actor] == [{"id": 1}]
    assert [e.at for e in announces] == [T0, LEASE]
    assert both == []
    assert everything[0].person_ids == ("p-2b-01", "p-2b-02", "t-devries")
    assert everything[1].person_ids == ("g-01",)
    assert everything[2].details == {"nested": {"a": [1, 2]}}


# ----------------------------------------------------------------------------------------- state


async def test_platform_state(uow: UnitOfWork) -> None:
    async with uow.transaction() as r:
        assert await r.state.get("matrix", "since") is None
        await r.state.set("matrix", "since", "s1")
        await r.state.set("telegram", "since", "t1")
    async with uow.transaction() as r:
        assert await r.state.get("matrix", "since") == "s1"
        await r.state.set("matrix", "since", "s2")
    async with uow.transaction() as r:
        assert await r.state.get("matrix", "since") == "s2"
        assert await r.state.get("telegram", "since") == "t1"


# ---------------------------------------------------------------------------------- transactions


class Boom(Exception):
    pass


async def write_then_fail(uow: UnitOfWork) -> None:
    async with uow.transaction() as r:
        await r.state.set("matrix", "since", "s1")
        await r.outbox.add([row("n1")])
        await r.accounts.link("telegram", "tg-1", "p-2b-01", T0)
        assert await r.state.get("matrix", "since") == "s1"  # visible inside
        raise Boom


async def write_then_add_a_key_twice(uow: UnitOfWork) -> None:
    async with uow.transaction() as r:
        await r.state.set("matrix", "since", "s1")
        await r.outbox.add([row("n2"), row("n1")])


async def test_an_exception_rolls_the_transaction_back(uow: UnitOfWork) -> None:
    await seeded(uow)
    with pytest.raises(Boom):
        await write_then_fail(uow)
    async with uow.transaction() as r:
        assert await r.state.get("matrix", "since") is None
        assert await r.outbox.claim_due(T0, LEASE, 10) == []
        assert await r.accounts.person_of("telegram", "tg-1") is None


async def test_a_failed_insert_rolls_back_the_whole_transaction(uow: UnitOfWork) -> None:
    await add_rows(uow, row("n1"))
    with pytest.raises(DUPLICATE):
        await write_then_add_a_key_twice(uow)
    async with uow.transaction() as r:
        assert await r.state.get("matrix", "since") is None
        assert len(await r.outbox.claim_due(T0, LEASE, 10)) == 1


async def test_a_committed_write_is_seen_by_the_next_transaction(uow: UnitOfWork) -> None:
    async with uow.transaction() as r:
        await r.state.set("matrix", "since", "s1")
    async with uow.transaction() as r:
        assert await r.state.get("matrix", "since") == "s1"


async def test_repositories_satisfy_the_port(uow: UnitOfWork) -> None:
    async with uow.transaction() as r:
        repos: Repositories = r
    for name in ("roster", "groups", "accounts", "invites", "announcements", "outbox"):
        assert hasattr(repos, name)
    for name in ("letters", "audit", "state"):
        assert hasattr(repos, name)
