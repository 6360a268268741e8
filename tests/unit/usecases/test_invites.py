"""create_invites: a code per eligible pupil (none under 13), each sent through the outbox along
`route_invite`, and what the dispatcher makes of those rows."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.codes import hash_code
from bot.dispatch import Dispatcher
from bot.domain import Channel, Reason
from bot.errors import NotFound, PermanentDeliveryError
from bot.notices import InviteNotice
from bot.usecases import invites as invites_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    DEVRIES_MAIL,
    SCHOOL,
    FakeMailer,
    FakePrinter,
    events,
    notice_of,
    notice_rows,
)

ELIGIBLE_2B = ["p-2b-01", "p-2b-02", "p-2b-03", "p-2b-04", "p-2b-07"]
"""2B's pupils who get a code: not Milan (p-2b-05, 12), nor Sophie (p-2b-06: nothing to send
it by)."""


def counter_factory() -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"CODE{next(numbers):03d}"


async def invite_2b(ctx: Context, *, with_staff: bool = False) -> list[invites_uc.IssuedInvite]:
    return await invites_uc.create_invites(
        ctx, class_ref="2B", with_staff=with_staff, code_factory=counter_factory()
    )


# --- who gets a code --------------------------------------------------------------------------


async def test_pupils_under_13_get_no_code(ctx: Context) -> None:
    issued = await invite_2b(ctx)
    assert [i.person_id for i in issued] == ELIGIBLE_2B


async def test_a_pupil_under_13_asked_for_by_name_gets_no_code(ctx: Context) -> None:
    issued = await invites_uc.create_invites(ctx, person_ref="p-2b-05")
    assert issued == []
    assert await notice_rows(ctx, "invite") == []


async def test_with_staff_the_class_staff_get_a_code_by_their_own_mail(ctx: Context) -> None:
    issued = await invite_2b(ctx, with_staff=True)
    staff = {i.person_id: i for i in issued if i.pupil_id is None}
    assert set(staff) == {"t-devries", "t-bakker"}
    [row] = [r for r in await notice_rows(ctx, "invite") if r.pupil_id == "t-devries"]
    assert [r.email for r in row.recipients] == [DEVRIES_MAIL]
    notice = notice_of(row)
    assert isinstance(notice, InviteNotice)
    assert notice.audience == "person"


async def test_codes_are_stored_with_their_expiry(ctx: Context) -> None:
    issued = await invite_2b(ctx)
    async with ctx.db.transaction() as tx:
        stored = [await tx.invites.get(hash_code(i.code)) for i in issued]
    assert [s.person_id for s in stored if s] == ELIGIBLE_2B
    assert {s.expires_at for s in stored if s} == {ctx.clock.now() + timedelta(days=14)}


async def test_issuing_codes_is_audited(ctx: Context) -> None:
    await invite_2b(ctx)
    [event] = await events(ctx, "invites-created")
    assert event.details["count"] == 5
    assert event.details["skipped"] == {"p-2b-05": "under-13", "p-2b-06": "unreachable"}
    assert "p-2b-05" in event.person_ids  # in their dossier: why they got no code


async def test_a_code_for_an_unknown_person(ctx: Context) -> None:
    with pytest.raises(NotFound):
        await invites_uc.create_invites(ctx, person_ref="nobody")


# --- the outbox rows --------------------------------------------------------------------------


async def test_each_code_is_an_outbox_row_per_recipient_along_its_route(ctx: Context) -> None:
    await invite_2b(ctx)
    rows = await notice_rows(ctx, "invite")
    got = sorted((r.pupil_id, r.channel.value, r.recipients[0].person_id) for r in rows)
    assert got == [
        ("p-2b-01", "email", "g-01"),
        ("p-2b-02", "post", "g-02"),  # guardian has only an address
        ("p-2b-03", "email", "g-03"),  # two guardians with e-mail: one row each
        ("p-2b-03", "email", "g-04"),
        ("p-2b-04", "post", "g-05"),  # guardian chose letters
        ("p-2b-07", "email", "g-08"),
    ]


async def test_each_row_carries_an_invite_notice_with_its_code(ctx: Context) -> None:
    issued = await invite_2b(ctx)
    by_person = {i.person_id: i.code for i in issued}
    for row in await notice_rows(ctx, "invite"):
        notice = notice_of(row)
        assert isinstance(notice, InviteNotice)
        assert notice.code == by_person[row.pupil_id]
        assert notice.class_code == "2B"
        assert notice.school_name == SCHOOL


async def test_a_guardians_invite_is_addressed_to_the_guardian_about_the_pupil(
    ctx: Context,
) -> None:
    await invite_2b(ctx)
    [row] = [r for r in await notice_rows(ctx, "invite") if r.pupil_id == "p-2b-01"]
    notice = notice_of(row)
    assert isinstance(notice, InviteNotice)
    assert notice.audience == "guardian"
    assert notice.recipient_name == "Marieke van den Berg"
    assert notice.pupil_name == "Zoë"


async def test_a_pupil_nobody_can_reach_gets_no_code(ctx: Context) -> None:
    run = await invites_uc.issue_invites(ctx, class_ref="2B")
    assert "p-2b-06" not in [i.person_id for i in run.issued]
    [sophie] = [s for s in run.skipped if s.person_id == "p-2b-06"]
    assert sophie.reason == invites_uc.UNREACHABLE
    assert sophie.name == "Sophie Mulder"
    assert [r for r in await notice_rows(ctx, "invite") if r.pupil_id == "p-2b-06"] == []


async def test_a_16_plus_pupil_gets_the_code_at_their_own_address(ctx: Context) -> None:
    [lucas] = await invites_uc.create_invites(ctx, person_ref="p-4c-01")
    [row] = await notice_rows(ctx, "invite")
    assert lucas.channel == Channel.EMAIL
    assert [r.person_id for r in row.recipients] == ["p-4c-01"]


# --- after dispatch ---------------------------------------------------------------------------


async def test_letter_invites_are_printed_and_listed_as_invite_letters(
    ctx: Context, dispatcher: Dispatcher, printer: FakePrinter
) -> None:
    await invite_2b(ctx)
    stats = await dispatcher.run_once()
    async with ctx.db.transaction() as tx:
        letters = await tx.letters.list()
    assert stats.letters == 2
    assert [x.notices for x in letters] == [("invite",), ("invite",)]
    assert sorted(p for x in letters for p in x.pupils) == ["p-2b-02", "p-2b-04"]
    assert sorted(x.address.street for x in printer.letters) == [
        "Kanaalstraat 41",
        "Oudegracht 112",
    ]


async def test_a_printed_invite_letter_carries_the_code(
    ctx: Context, dispatcher: Dispatcher, printer: FakePrinter
) -> None:
    issued = await invite_2b(ctx)
    await dispatcher.run_once()
    [daan] = [i for i in issued if i.person_id == "p-2b-02"]
    [letter] = printer.to("Oudegracht 112")
    [item] = letter.items
    assert daan.code in item.body
    assert item.pupil_name == "Daan de Jong"


async def test_mail_invites_reach_the_mailer(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    issued = await invite_2b(ctx)
    stats = await dispatcher.run_once()
    [zoe] = [i for i in issued if i.person_id == "p-2b-01"]
    [message] = mailer.to("marieke@vandenberg.example")
    assert message.notice == InviteNotice(
        code=zoe.code,
        expires_on="2026-12-07",
        class_code="2B",
        school_name=SCHOOL,
        recipient_name="Marieke van den Berg",
        audience="guardian",
        pupil_name="Zoë",
        pupil_full_name="Zoë van den Berg",
    )
    assert len(mailer.of("invite")) == 4
    assert stats.notices == 4
    assert stats.sent == 0


async def test_a_bounced_invite_mail_is_sent_as_a_letter(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer, printer: FakePrinter
) -> None:
    issued = await invite_2b(ctx)
    mailer.fail_to("marieke@vandenberg.example", PermanentDeliveryError("550 5.1.1 unknown"))
    await dispatcher.run_once()
    [zoe] = [i for i in issued if i.person_id == "p-2b-01"]
    [row] = [r for r in await notice_rows(ctx, "invite") if r.pupil_id == "p-2b-01"]
    assert (row.channel, row.reason) == (Channel.POST, Reason.BOUNCED)
    [letter] = printer.to("Lange Nieuwstraat 5")
    assert zoe.code in letter.items[0].body
    assert letter.recipient_name == "Marieke van den Berg"


async def test_a_bounced_invite_is_audited_as_rerouted(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    await invite_2b(ctx)
    mailer.fail_to("marieke@vandenberg.example", PermanentDeliveryError("550 5.1.1 unknown"))
    await dispatcher.run_once()
    [event] = await events(ctx, "rerouted", "p-2b-01")
    assert (event.details["from"], event.details["to"]) == ("email", "post")
    assert event.details["notice"] == "invite"
