"""Rule 10: every kind of event the issue lists — announcement, refusal and its rule, membership
change, removal, link, report, fallback delivery, admin action — is an audit event tied to every
person it concerns and to the class, so that it is in each of their dossiers (asked the way a
dossier asks: `AuditRepository.events(person_id=…)` and `events(class_id=…)`)."""

from __future__ import annotations

import pytest

from bot.dispatch import Dispatcher
from bot.domain import AuditEvent, Channel
from bot.errors import PermanentDeliveryError, RuleViolation
from bot.usecases import admin_commands, announcing, linking, membership, reports
from bot.usecases import groups as groups_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    CLASS_2B,
    FakePlatform,
    add_invite,
    by_pupil,
    class_2b_with_group,
    homework,
    link,
    person,
)

CLASS = "cls-2b"


async def dossier(ctx: Context, kind: str, *, person_id: str) -> list[AuditEvent]:
    async with ctx.db.transaction() as tx:
        return await tx.audit.events(person_id=person_id, kind=kind)


async def class_dossier(ctx: Context, kind: str, class_id: str = CLASS) -> list[AuditEvent]:
    async with ctx.db.transaction() as tx:
        return await tx.audit.events(kind=kind, class_id=class_id)


async def in_every_dossier(ctx: Context, kind: str, persons: set[str]) -> AuditEvent:
    """The one event of `kind` in the class's dossier, also found in each person's."""
    [event] = await class_dossier(ctx, kind)
    assert persons <= set(event.person_ids), (kind, event.person_ids)
    for person_id in persons:
        assert event in await dossier(ctx, kind, person_id=person_id), (kind, person_id)
    return event


async def test_an_announcement_is_tied_to_its_author_every_pupil_and_the_class(
    ctx: Context,
) -> None:
    await announcing.announce(ctx, homework())
    event = await in_every_dossier(ctx, "announcement", {"t-devries", *CLASS_2B})
    assert event.actor_id == "t-devries"
    assert await class_dossier(ctx, "announcement", "cls-4c") == []


async def test_each_fallback_delivery_is_tied_to_the_pupil_its_recipients_and_the_class(
    ctx: Context,
) -> None:
    result = await announcing.announce(ctx, homework())  # 2B has no group: all by fallback
    rows = await by_pupil(ctx, result.announcement.id)
    events = await class_dossier(ctx, "fallback-delivery")
    events += await class_dossier(ctx, "unreachable")
    assert len(events) == len(rows) == len(CLASS_2B)
    guardians = 0
    for pupil_id, row in rows.items():
        [event] = [e for e in events if pupil_id in e.person_ids]
        concerned = {pupil_id, *(r.person_id for r in row.recipients)}
        assert concerned <= set(event.person_ids)
        guardians += len(concerned - {pupil_id})
        for person_id in concerned:
            assert event in await dossier(ctx, event.kind, person_id=person_id)
    assert guardians >= 5  # the guardians the copies go to are in it, not only the pupils


async def test_a_copy_moved_to_another_channel_is_tied_to_its_new_recipients_and_the_class(
    ctx: Context, dispatcher: Dispatcher, console: FakePlatform
) -> None:
    await class_2b_with_group(ctx)
    await announcing.announce(ctx, homework())
    console.post_errors.append(PermanentDeliveryError("bot kicked", reason="group-lost"))
    await dispatcher.run_once()
    rerouted = [e for e in await class_dossier(ctx, "rerouted") if "p-2b-01" in e.person_ids]
    [event] = [e for e in rerouted if e.details["from"] == Channel.GROUP.value]
    # Zoë's copy now goes to her guardian Marieke (g-01) by e-mail.
    assert event.details["to"] == Channel.EMAIL.value
    assert {"p-2b-01", "g-01"} <= set(event.person_ids)
    assert event in await dossier(ctx, "rerouted", person_id="g-01")


async def test_a_refusal_names_its_rule_and_is_tied_to_the_person_and_the_class(
    ctx: Context,
) -> None:
    with pytest.raises(RuleViolation):
        await announcing.announce(ctx, homework(author_id="t-jansen"))  # 4C's teacher only
    event = await in_every_dossier(ctx, "refusal", {"t-jansen"})
    assert event.details["rule"]
    assert event.details["code"] == "not-staff"
    assert event.details["class_id"] == CLASS


async def test_a_link_and_the_admission_it_brings_are_tied_to_the_person_and_the_class(
    ctx: Context,
) -> None:
    await groups_uc.create_group(ctx, "2B", "console")
    await link(ctx, "p-2b-01")
    await in_every_dossier(ctx, "account-linked", {"p-2b-01"})
    await in_every_dossier(ctx, "member-admitted", {"p-2b-01"})


async def test_a_refused_link_is_tied_to_the_pupil_and_the_class(ctx: Context) -> None:
    await add_invite(ctx, "p-2b-05", "MILANCODE")  # Milan is 12
    await linking.link_account(ctx, "console", "acc-milan", "MILANCODE")
    await in_every_dossier(ctx, "link-refused", {"p-2b-05"})


async def test_leaving_and_being_removed_are_tied_to_the_person_and_the_class(
    ctx: Context, console: FakePlatform
) -> None:
    group = await class_2b_with_group(ctx)
    await membership.member_left(ctx, "console", group.chat_id, "p-2b-03")
    await in_every_dossier(ctx, "member-left", {"p-2b-03"})
    # A pupil of another class, linked, turns up in 2B's group: removed (rule 2).
    await link(ctx, "p-4c-01")
    assert not await membership.member_joined(ctx, "console", group.chat_id, "p-4c-01")
    await in_every_dossier(ctx, "member-removed", {"p-4c-01"})
    assert await membership.join_requested(ctx, "console", group.chat_id, "p-4c-01") is False
    await in_every_dossier(ctx, "join-declined", {"p-4c-01"})


async def test_an_account_moved_to_someone_else_is_tied_to_both_and_the_class(
    ctx: Context,
) -> None:
    await class_2b_with_group(ctx)
    await add_invite(ctx, "p-2b-07", "LOTTECODE")
    # Zoë's account (`p-2b-01`) sends Lotte's code: a shared phone.
    await linking.link_account(ctx, "console", "p-2b-01", "LOTTECODE")
    await in_every_dossier(ctx, "account-moved", {"p-2b-01", "p-2b-07"})
    await in_every_dossier(ctx, "membership-moved", {"p-2b-01", "p-2b-07"})


async def test_an_age_refusal_at_the_door_is_tied_to_the_pupil_and_the_class(
    ctx: Context,
) -> None:
    group = await groups_uc.bind_group(
        ctx, "binder", "-100777", "2B", actor=await person(ctx, "t-devries")
    )
    await membership.admit(ctx, group, await person(ctx, "p-2b-01"), "acc-zoe")  # 14 < 16
    await in_every_dossier(ctx, "admission-refused", {"p-2b-01"})


async def test_a_report_is_tied_to_the_reporter_and_the_class(ctx: Context) -> None:
    zoe = await person(ctx, "p-2b-01")
    await reports.report(
        ctx, zoe, "Er wordt gescholden in de groep.", escalation=False, source="console"
    )
    await in_every_dossier(ctx, "report", {"p-2b-01"})


async def test_an_admin_command_is_tied_to_the_persons_and_the_classes_it_names(
    ctx: Context,
) -> None:
    announced = await announcing.announce(ctx, homework())
    await admin_commands.record(
        ctx,
        admin_commands.AdminCommand(
            by="beheerder",
            command="invites create",
            options={"--with-staff": True},
            persons={"--person": "g-03"},
            class_refs=["4C"],
            announcement_ids=[announced.announcement.id],
        ),
    )
    event = await in_every_dossier(ctx, "admin-command", {"g-03"})
    assert set(event.class_ids) == {"cls-4c", CLASS}  # the class named and the announcement's
    assert event.details["by"] == "beheerder"
    assert event.details["command"] == "invites create"
    assert event.details["options"] == {"--with-staff": True, "--person": "g-03"}


async def test_an_admin_command_naming_nobody_the_roster_knows_keeps_no_name(
    ctx: Context,
) -> None:
    await admin_commands.record(
        ctx,
        admin_commands.AdminCommand(
            by="beheerder", command="announce", persons={"--as": "Jan de Vries"}
        ),
    )
    async with ctx.db.transaction() as tx:
        [event] = await tx.audit.events(kind="admin-command")
    assert event.person_ids == ()
    assert event.details["options"] == {"--as": admin_commands.UNKNOWN_PERSON}
    assert "Jan" not in repr(event)
