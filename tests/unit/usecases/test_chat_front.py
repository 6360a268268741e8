"""ChatFrontEnd: one chat message in, one reply out; previews kept as drafts under a token, help
that lists only what the person may use, and rule 3 in a bound group."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.chat.front import ChatFrontEnd
from bot.domain import Kind
from bot.messages import (
    M_BIND_IN_GROUP,
    M_BOUND,
    M_CANCELLED,
    M_HELP_HEADER,
    M_LINKED,
    M_NOT_LINKED,
    M_NOT_YOUR_PREVIEW,
    M_NOTHING_TO_CONFIRM,
    M_PREVIEW_EXPIRED,
    M_REPORTED,
)
from bot.rules import authorization
from bot.usecases import groups as groups_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    LEADERSHIP,
    VISSER_MAIL,
    add_invite,
    events,
    group_of,
    link,
    notice_rows,
    person,
)

HOMEWORK = "/huiswerk 2B wiskunde morgen Maak opgave 3"
SIGNATURE = "— J. de Vries, mentor 2B, De Passie Utrecht"


async def announcements(ctx: Context) -> int:
    async with ctx.db.transaction() as tx:
        return len(await tx.announcements.list())


async def help_lines(front: ChatFrontEnd, account: str) -> list[str]:
    reply = await front.handle("console", account, "/help")
    [text] = reply.texts
    return [line.split()[0] for line in text.splitlines()[1:] if line.startswith("  /")]


# --- previews ---------------------------------------------------------------------------------


async def test_preview_keeps_the_draft_under_a_token(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle("console", "t-devries", HOMEWORK, preview=True)
    assert reply.confirmation
    assert reply.texts[0].endswith(SIGNATURE)
    async with ctx.db.transaction() as tx:
        stored = await tx.state.get("console", f"draft:{reply.confirmation}")
    assert stored
    assert await announcements(ctx) == 0


async def test_only_the_author_may_confirm(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    await link(ctx, "t-bakker")
    token = (await front.handle("console", "t-devries", HOMEWORK, preview=True)).confirmation
    other = await front.confirm("console", "t-bakker", token)
    assert other.refused
    assert other.texts == [M_NOT_YOUR_PREVIEW("nl")]
    assert await announcements(ctx) == 0
    mine = await front.confirm("console", "t-devries", token)
    assert mine.announcement_id is not None
    assert await announcements(ctx) == 1


async def test_a_preview_is_confirmed_only_once(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    token = (await front.handle("console", "t-devries", HOMEWORK, preview=True)).confirmation
    await front.confirm("console", "t-devries", token)
    again = await front.confirm("console", "t-devries", token)
    assert again.refused
    assert again.texts == [M_PREVIEW_EXPIRED("nl")]
    assert await announcements(ctx) == 1


async def test_confirm_without_a_token_takes_the_latest_preview(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    await front.handle("console", "t-devries", HOMEWORK, preview=True)
    reply = await front.confirm("console", "t-devries")
    assert reply.announcement_id is not None


async def test_confirm_with_nothing_previewed(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    reply = await front.confirm("console", "t-devries")
    assert reply.refused
    assert reply.texts == [M_NOTHING_TO_CONFIRM("nl")]


async def test_cancel_drops_the_preview(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    token = (await front.handle("console", "t-devries", HOMEWORK, preview=True)).confirmation
    cancelled = await front.cancel("console", "t-devries", token)
    assert cancelled.texts == [M_CANCELLED("nl")]
    late = await front.confirm("console", "t-devries", token)
    assert late.refused
    assert await announcements(ctx) == 0


async def test_someone_else_cannot_cancel_a_preview(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    await link(ctx, "t-bakker")
    token = (await front.handle("console", "t-devries", HOMEWORK, preview=True)).confirmation
    refused = await front.cancel("console", "t-bakker", token)
    assert refused.refused
    assert (await front.confirm("console", "t-devries", token)).announcement_id is not None


async def test_confirm_checks_the_rules_again(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    token = (await front.handle("console", "t-devries", HOMEWORK, preview=True)).confirmation
    ctx.policy = replace(ctx.policy, allowed_kinds=(Kind.TRIP,))
    reply = await front.confirm("console", "t-devries", token)
    assert reply.announcement_id is None
    assert await announcements(ctx) == 0
    assert len(await events(ctx, "refusal", "t-devries")) == 1


async def test_a_refused_preview_keeps_no_draft(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle(
        "console", "t-devries", "/huiswerk 2B wiskunde morgen Bel 06-12345678", preview=True
    )
    assert reply.confirmation is None
    assert (await front.confirm("console", "t-devries")).refused


# --- announcing without a preview -------------------------------------------------------------


async def test_a_command_without_preview_announces_at_once(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle("console", "t-devries", HOMEWORK)
    assert reply.announcement_id is not None
    assert reply.texts[0].endswith(SIGNATURE)
    assert await announcements(ctx) == 1


async def test_a_pupil_may_not_announce_and_the_refusal_is_audited(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "p-2b-01")
    reply = await front.handle("console", "p-2b-01", HOMEWORK)
    assert reply.announcement_id is None
    assert "/huiswerk" in reply.texts[0]
    [event] = await events(ctx, "refusal", "p-2b-01")
    assert event.details["code"] == "not-staff"
    assert await announcements(ctx) == 0


async def test_an_unlinked_account_is_asked_to_link_first(
    ctx: Context, front: ChatFrontEnd
) -> None:
    reply = await front.handle("console", "acc-unknown", "/melden er wordt gepest")
    assert reply.texts == [M_NOT_LINKED("nl")]


async def test_a_malformed_command_is_answered_with_an_example(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle("console", "t-devries", "/huiswerk 2B")
    [text] = reply.texts
    assert "/huiswerk 2B wiskunde" in text


async def test_a_recurring_reminder_without_a_preview_is_scheduled(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle(
        "console", "t-devries", "/herinnering 2B elke maandag 08:00 Gymspullen mee"
    )
    assert reply.texts[0].startswith("Gepland (nummer 1): elke maandag om 08:00")
    assert await announcements(ctx) == 0
    async with ctx.db.transaction() as tx:
        assert [s.text for s in await tx.schedules.list()] == ["Gymspullen mee"]


async def test_planning_is_offered(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle("console", "t-devries", "/planning 2B")
    [text] = reply.texts
    assert text.startswith("Er zijn geen geplande berichten voor 2B.")


# --- other commands ---------------------------------------------------------------------------


async def test_start_links_the_account(ctx: Context, front: ChatFrontEnd) -> None:
    await add_invite(ctx, "p-2b-03", "NOORCODE")
    reply = await front.handle("console", "acc-noor", "/start NOORCODE")
    assert reply.texts[0] == M_LINKED("nl", name="Noor")


async def test_a_pupils_report_is_confirmed_and_queued(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "p-2b-01")
    reply = await front.handle("console", "p-2b-01", "/melden iemand wordt gepest")
    assert reply.texts == [M_REPORTED("nl", number=1)]
    [row] = await notice_rows(ctx, "report")
    # The roster's administrator of the school, then the configured address.
    assert [r.email for r in row.recipients] == [VISSER_MAIL, LEADERSHIP]


async def test_bind_sent_privately_is_explained(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries", platform="binder", account="b-devries")
    reply = await front.handle("binder", "b-devries", "/koppel 2B")
    assert reply.texts == [M_BIND_IN_GROUP("nl")]


async def test_bind_in_a_group_binds_it(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries", platform="binder", account="b-devries")
    reply = await front.handle(
        "binder", "b-devries", "/koppel 2B", chat_id="-100777", in_group=True
    )
    assert reply.texts == [M_BOUND("nl", klas="2B")]
    assert reply.group == await group_of(ctx, "binder", "-100777")


async def test_bind_by_a_pupil_is_refused(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "p-2b-01", platform="binder", account="b-zoe")
    await front.handle("binder", "b-zoe", "/koppel 2B", chat_id="-100777", in_group=True)
    assert await group_of(ctx, "binder", "-100777") is None
    assert len(await events(ctx, "refusal", "p-2b-01")) == 1


# --- help -------------------------------------------------------------------------------------


async def test_help_for_an_unlinked_account(front: ChatFrontEnd) -> None:
    assert await help_lines(front, "acc-unknown") == ["/start", "/help"]


async def test_help_for_a_pupil_adds_reporting(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "p-2b-01")
    assert await help_lines(front, "p-2b-01") == ["/start", "/taal", "/melden", "/help"]


async def test_help_for_leadership_in_no_class_adds_escalating(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "l-visser")
    assert await help_lines(front, "l-visser") == [
        "/start",
        "/taal",
        "/melden",
        "/escaleren",
        "/help",
    ]


async def test_help_for_a_teacher_lists_every_offered_command(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    assert await help_lines(front, "t-devries") == [
        "/start",
        "/lesuitval",
        "/huiswerk",
        "/herinnering",
        "/uitje",
        "/planning",
        "/intrekken",
        "/correctie",
        "/taal",
        "/koppel",
        "/melden",
        "/escaleren",
        "/help",
    ]


@pytest.mark.parametrize("staff_anywhere", [False, True])
@pytest.mark.parametrize("person_id", [None, "p-2b-01", "g-01", "l-visser", "t-devries"])
async def test_help_offers_planning_to_whoever_may_plan(
    ctx: Context, front: ChatFrontEnd, person_id: str | None, staff_anywhere: bool
) -> None:
    who = await person(ctx, person_id) if person_id else None
    text = front.help_text(who, staff_anywhere, "nl")
    assert text.startswith(M_HELP_HEADER("nl"))
    may_plan = "planning" in authorization.visible_commands(who, staff_anywhere)
    assert ("/planning" in text) == may_plan
    assert may_plan == (who is not None and staff_anywhere)


# --- rule 3: only the bot posts ---------------------------------------------------------------


async def test_a_pupils_post_in_a_bound_group_is_deleted_and_audited(
    ctx: Context, front: ChatFrontEnd
) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await link(ctx, "p-2b-01")
    reply = await front.handle(
        "console", "p-2b-01", "wat is het huiswerk?", chat_id=group.chat_id, in_group=True
    )
    assert reply.delete_original
    assert reply.texts == []
    [event] = await events(ctx, "member-post-deleted")
    assert event.actor_id == "p-2b-01"
    assert event.details["group"] == group.id


async def test_a_pupils_command_in_a_bound_group_is_deleted_too(
    ctx: Context, front: ChatFrontEnd
) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await link(ctx, "p-2b-01")
    reply = await front.handle("console", "p-2b-01", HOMEWORK, chat_id=group.chat_id, in_group=True)
    assert reply.delete_original
    assert await announcements(ctx) == 0


async def test_a_strangers_post_is_audited_with_the_account(
    ctx: Context, front: ChatFrontEnd
) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    reply = await front.handle("console", "acc-x", "hoi", chat_id=group.chat_id, in_group=True)
    assert reply.delete_original
    [event] = await events(ctx, "member-post-deleted")
    assert event.details["account"] == "acc-x"


async def test_a_teachers_command_in_the_group_is_deleted_and_carried_out(
    ctx: Context, front: ChatFrontEnd
) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await link(ctx, "t-devries")
    reply = await front.handle(
        "console", "t-devries", HOMEWORK, chat_id=group.chat_id, in_group=True
    )
    assert reply.delete_original
    assert reply.announcement_id is not None
    assert await events(ctx, "member-post-deleted") == []


async def test_a_teachers_chatter_in_the_group_is_deleted(
    ctx: Context, front: ChatFrontEnd
) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await link(ctx, "t-devries")
    reply = await front.handle(
        "console", "t-devries", "goedemorgen!", chat_id=group.chat_id, in_group=True
    )
    assert reply.delete_original
    assert len(await events(ctx, "member-post-deleted", "t-devries")) == 1
