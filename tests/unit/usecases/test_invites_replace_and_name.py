"""Invitations a family reads as from their school: one code per person at a time (a new code
makes the earlier unused ones unknown, and their mail and letters that have not gone out are
withdrawn), everyone left out is named with the reason, every notice names the school as the
roster does when the configuration does not, and an invitation says which app to use."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from bot.codes import hash_code
from bot.dispatch import Dispatcher
from bot.domain import DeliveryStatus, GroupState
from bot.messages import M_CODE_UNKNOWN
from bot.notices import AnnouncementNotice, InviteNotice, ReportNotice
from bot.usecases import announcing, groups, linking, reports
from bot.usecases import invites as invites_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    DEVRIES_MAIL,
    FakeMailer,
    FakePrinter,
    homework,
    notice_of,
    notice_rows,
    person,
)


@pytest.fixture
def unnamed(ctx: Context) -> Context:
    """The same school, with no `school.name` configured (a default installation)."""
    return replace(ctx, policy=replace(ctx.policy, school_name=""))


async def codes(ctx: Context, **kw: object) -> dict[str, str]:
    return {i.person_id: i.code for i in await invites_uc.create_invites(ctx, **kw)}  # type: ignore[arg-type]


# --- one code per person at a time ----------------------------------------------------------------


async def test_a_new_code_makes_the_earlier_unused_code_unknown(ctx: Context) -> None:
    first = await codes(ctx, class_ref="2B")
    second = await codes(ctx, class_ref="2B")

    assert set(first) == set(second)
    assert not set(first.values()) & set(second.values())
    async with ctx.db.transaction() as tx:
        assert await tx.invites.get(hash_code(first["p-2b-01"])) is None
        assert await tx.invites.get(hash_code(second["p-2b-01"])) is not None
    refused = await linking.link_account(ctx, "console", "acct-zoe", first["p-2b-01"])
    assert refused.texts == [M_CODE_UNKNOWN("nl")]
    linked = await linking.link_account(ctx, "console", "acct-zoe", second["p-2b-01"])
    assert "Gelukt, Zoë!" in linked.texts[0]


async def test_the_earlier_codes_mail_and_letters_that_wait_are_withdrawn(ctx: Context) -> None:
    first = await codes(ctx, class_ref="2B")
    await codes(ctx, class_ref="2B")

    rows = await notice_rows(ctx, "invite")
    old = [r for r in rows if r.status == DeliveryStatus.WITHDRAWN]
    new = [r for r in rows if r.status == DeliveryStatus.PENDING]
    assert len(old) == len(new) == 6  # one per recipient: Noor's two guardians each
    for row in old:
        notice = notice_of(row)
        assert isinstance(notice, InviteNotice)
        assert notice.code == ""  # the replaced code is kept nowhere
    new_codes = {notice_of(r).code for r in new}  # type: ignore[attr-defined]
    assert len(new_codes) == 5
    assert not new_codes & set(first.values())


async def test_a_new_code_for_one_person_leaves_the_others_codes(ctx: Context) -> None:
    first = await codes(ctx, class_ref="2B")
    again = await codes(ctx, person_ref="p-2b-02")

    async with ctx.db.transaction() as tx:
        assert await tx.invites.get(hash_code(first["p-2b-02"])) is None
        assert await tx.invites.get(hash_code(again["p-2b-02"])) is not None
        assert await tx.invites.get(hash_code(first["p-2b-01"])) is not None


async def test_a_used_code_stays_used(ctx: Context) -> None:
    first = await codes(ctx, person_ref="p-2b-01")
    await linking.link_account(ctx, "console", "acct-zoe", first["p-2b-01"])
    run = await invites_uc.issue_invites(ctx, person_ref="p-2b-01")

    assert run.replaced == 0
    async with ctx.db.transaction() as tx:
        used = await tx.invites.get(hash_code(first["p-2b-01"]))
    assert used is not None
    assert used.used_at is not None


async def test_replacing_codes_is_counted_and_audited(ctx: Context) -> None:
    await codes(ctx, class_ref="2B")
    run = await invites_uc.issue_invites(ctx, class_ref="2B")

    assert run.replaced == 5


# --- everyone left out, with the reason -----------------------------------------------------------


async def test_everyone_asked_for_is_listed_in_the_rosters_order(ctx: Context) -> None:
    run = await invites_uc.issue_invites(ctx, class_ref="2B")

    assert [r.person_id for r in run.results] == [f"p-2b-0{n}" for n in range(1, 8)]
    skipped = {s.person_id: s for s in run.skipped}
    assert skipped["p-2b-05"].reason == invites_uc.UNDER_13
    assert skipped["p-2b-05"].from_date == date(2027, 1, 15)  # Milan's 13th birthday
    assert skipped["p-2b-05"].name == "Milan Çelik"
    assert skipped["p-2b-06"].reason == invites_uc.UNREACHABLE
    assert set(skipped) == {"p-2b-05", "p-2b-06"}


async def test_contact_preference_none_is_its_own_reason(ctx: Context) -> None:
    # Johan van der Linden (g-12) has an e-mail address but `fallback=none`.
    run = await invites_uc.issue_invites(ctx, person_ref="g-12")

    assert run.issued == []
    [johan] = run.skipped
    assert (johan.person_id, johan.pupil_id, johan.reason) == ("g-12", None, "contact-none")
    assert await notice_rows(ctx, "invite") == []


# --- the school's name: configured, else the roster's ---------------------------------------------


async def test_an_invitation_names_the_rosters_school_when_none_is_configured(
    unnamed: Context,
) -> None:
    await codes(unnamed, class_ref="2B")

    for row in await notice_rows(unnamed, "invite"):
        notice = notice_of(row)
        assert isinstance(notice, InviteNotice)
        assert notice.school_name == "De Passie Utrecht"


async def test_the_configured_name_wins(ctx: Context) -> None:
    configured = replace(ctx, policy=replace(ctx.policy, school_name="Passie College"))
    await codes(configured, person_ref="t-devries")

    [row] = await notice_rows(ctx, "invite")
    assert notice_of(row).school_name == "Passie College"  # type: ignore[attr-defined]


async def test_a_report_names_the_rosters_school(unnamed: Context) -> None:
    zoe = await person(unnamed, "p-2b-01")
    await reports.report(unnamed, zoe, "Er wordt gescholden.", escalation=False, source="cli")

    [row] = await notice_rows(unnamed, "report")
    notice = notice_of(row)
    assert isinstance(notice, ReportNotice)
    assert notice.school_name == "De Passie Utrecht"


async def test_an_announcements_copies_name_the_school_and_reply_to_the_author(
    unnamed: Context, mailer: FakeMailer, printer: FakePrinter
) -> None:
    dispatcher = Dispatcher(unnamed, mailer=mailer, printer=printer)
    await announcing.announce(unnamed, homework())
    await dispatcher.run_once()

    copies = mailer.of("announcement")
    assert copies
    for message in copies:
        assert isinstance(message.notice, AnnouncementNotice)
        assert message.notice.school_name == "De Passie Utrecht"
        assert message.notice.reply_to == DEVRIES_MAIL  # parents answer the teacher
    assert printer.letters
    for letter in printer.letters:
        assert {item.school_name for item in letter.items} == {"De Passie Utrecht"}


async def test_a_configured_reply_to_wins_over_the_author(
    ctx: Context, mailer: FakeMailer, printer: FakePrinter
) -> None:
    school = replace(ctx, policy=replace(ctx.policy, reply_to="info@passie.example"))
    await announcing.announce(school, homework())
    await Dispatcher(school, mailer=mailer, printer=printer).run_once()

    assert {m.notice.reply_to for m in mailer.of("announcement")} == {"info@passie.example"}  # type: ignore[attr-defined]


async def test_an_unreachable_warning_names_the_rosters_school(
    unnamed: Context, mailer: FakeMailer, printer: FakePrinter
) -> None:
    await announcing.announce(unnamed, homework())

    [row] = await notice_rows(unnamed, "unreachable")
    assert notice_of(row).school_name == "De Passie Utrecht"  # type: ignore[attr-defined]


# --- which app, and how ---------------------------------------------------------------------------


async def test_no_app_configured_and_no_group_names_none(ctx: Context) -> None:
    await codes(ctx, person_ref="p-2b-01")

    [row] = await notice_rows(ctx, "invite")
    notice = notice_of(row)
    assert isinstance(notice, InviteNotice)
    assert notice.platforms == ()
    assert notice.telegram_link is None


async def test_the_configured_apps_are_named_with_the_bots_accounts(ctx: Context) -> None:
    bots = {"telegram": "passie_klas_bot", "matrix": "@klasbot:passie.example"}
    school = replace(ctx, policy=replace(ctx.policy, chat_bots=bots))
    [code] = (await codes(school, person_ref="p-2b-01")).values()

    [row] = await notice_rows(ctx, "invite")
    notice = notice_of(row)
    assert isinstance(notice, InviteNotice)
    assert notice.platforms == ("telegram", "matrix")
    assert notice.matrix_bot == "@klasbot:passie.example"
    assert notice.telegram_link == f"https://t.me/passie_klas_bot?start={code}"
    assert "telegram_link" not in notice.to_json()  # made from the code, never stored apart


async def test_the_bots_username_that_klasbot_run_stored_is_used(ctx: Context) -> None:
    school = replace(ctx, policy=replace(ctx.policy, chat_bots={"telegram": None}))
    async with ctx.db.transaction() as tx:
        await tx.state.set("telegram", "username", "stored_klas_bot")
    [code] = (await codes(school, person_ref="p-2b-01")).values()

    [row] = await notice_rows(ctx, "invite")
    assert notice_of(row).telegram_link == f"https://t.me/stored_klas_bot?start={code}"  # type: ignore[attr-defined]


async def test_the_configured_username_wins_over_the_stored_one(ctx: Context) -> None:
    school = replace(ctx, policy=replace(ctx.policy, chat_bots={"telegram": "config_klas_bot"}))
    async with ctx.db.transaction() as tx:
        await tx.state.set("telegram", "username", "stored_klas_bot")
    await codes(school, person_ref="p-2b-01")

    [row] = await notice_rows(ctx, "invite")
    assert notice_of(row).telegram_bot == "config_klas_bot"  # type: ignore[attr-defined]


async def test_a_platform_the_class_has_a_group_on_is_named(ctx: Context) -> None:
    await groups.create_group(ctx, "2B", "console")  # the terminal demo: no app to name
    await codes(ctx, person_ref="p-2b-01")
    async with ctx.db.transaction() as tx:
        await tx.groups.add("cls-2b", "telegram", "-100", GroupState.ACTIVE, ctx.clock.now())
    await codes(ctx, person_ref="p-2b-03")

    rows = {r.pupil_id: notice_of(r) for r in await notice_rows(ctx, "invite")}
    assert rows["p-2b-01"].platforms == ()  # type: ignore[attr-defined]
    assert rows["p-2b-03"].platforms == ("telegram",)  # type: ignore[attr-defined]
