"""Accounts nobody is linked to: wrong codes and commands are audited (with a pseudonym of the
account, never the code) and counted; five within 15 minutes throttle the account for 15 minutes,
during which even a correct code is refused, and leadership is told once per episode."""

from __future__ import annotations

import logging

import pytest

from bot.chat.front import ChatFrontEnd
from bot.clock import FrozenClock
from bot.messages import M_CODE_UNKNOWN, M_LINKED, M_NOT_LINKED, M_TOO_MANY_ATTEMPTS
from bot.notices import ReportNotice
from bot.usecases import throttling
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    LEADERSHIP,
    VISSER_MAIL,
    add_invite,
    events,
    notice_of,
    notice_rows,
)

STRANGER = "stranger-1"
WRONG = [f"WRONGCODE{i}" for i in range(10)]
REF = throttling.account_ref("console", STRANGER)


def too_many(time: str) -> str:
    return M_TOO_MANY_ATTEMPTS("nl", time=time)


async def linked(ctx: Context, account: str = STRANGER) -> str | None:
    async with ctx.db.transaction() as tx:
        found = await tx.accounts.person_of("console", account)
    return found.id if found else None


async def throttle_notices(ctx: Context) -> list[ReportNotice]:
    found = []
    for row in await notice_rows(ctx, "report"):
        notice = notice_of(row)
        assert isinstance(notice, ReportNotice)
        if REF in notice.text:
            found.append(notice)
    return found


async def test_five_wrong_codes_throttle_the_account_and_even_a_right_code_is_refused(
    ctx: Context, front: ChatFrontEnd, clock: FrozenClock
) -> None:
    await add_invite(ctx, "p-2b-01", "ZOE-CODE-1")
    # 10:00 in Amsterdam: refused until 10:15.
    for code in WRONG[:4]:
        reply = await front.handle("console", STRANGER, f"/start {code}")
        assert reply.texts == [M_CODE_UNKNOWN("nl")]
    fifth = await front.handle("console", STRANGER, f"/start {WRONG[4]}")
    assert fifth.texts == [M_CODE_UNKNOWN("nl"), too_many("10:15")]
    clock.advance(minutes=1)
    assert (await front.handle("console", STRANGER, f"/start {WRONG[5]}")).texts == [
        too_many("10:15")
    ]
    # The right code is not even looked at.
    assert (await front.handle("console", STRANGER, "/start ZOE-CODE-1")).texts == [
        too_many("10:15")
    ]
    assert await linked(ctx) is None

    refused = await events(ctx, "link-refused")
    assert len(refused) == 5
    assert {e.details["account"] for e in refused} == {REF}
    assert {e.details["reason"] for e in refused} == {"unknown"}
    assert [e.details["attempt"] for e in await events(ctx, "attempt-throttled")] == [
        "start",
        "start",
    ]
    assert len(await events(ctx, "account-throttled")) == 1

    clock.advance(minutes=14)  # 10:15: the cooling-off period is over
    reply = await front.handle("console", STRANGER, "/start zoe code 1")
    assert reply.texts[0] == M_LINKED("nl", name="Zoë")
    assert await linked(ctx) == "p-2b-01"


async def test_neither_the_audit_nor_the_notice_holds_a_code_or_the_account(
    ctx: Context, front: ChatFrontEnd
) -> None:
    for code in WRONG[:6]:
        await front.handle("console", STRANGER, f"/start {code}")
    everything = repr(await events(ctx)) + repr(await notice_rows(ctx))
    assert not [code for code in WRONG if code in everything]
    assert STRANGER not in everything
    assert REF in everything


async def test_leadership_is_told_once_per_episode(
    ctx: Context, front: ChatFrontEnd, clock: FrozenClock
) -> None:
    for code in WRONG[:8]:
        await front.handle("console", STRANGER, f"/start {code}")
    [notice] = await throttle_notices(ctx)
    [row] = [r for r in await notice_rows(ctx, "report") if notice_of(r) == notice]
    # A stranger concerns no class: the leadership of every school, the roster's and configured.
    assert [r.email for r in row.recipients] == [VISSER_MAIL, LEADERSHIP]
    assert notice.kind == "notice"
    assert "console" in notice.text
    assert "maandag 23 november 2026 10:15" in notice.text  # in words, not ISO
    assert "2026-11-23" not in notice.text

    clock.advance(minutes=15)
    for code in WRONG[:5]:
        await front.handle("console", STRANGER, f"/start {code}")
    assert len(await throttle_notices(ctx)) == 2


async def test_the_admin_is_warned_in_the_log_without_the_code_or_the_account(
    ctx: Context, front: ChatFrontEnd, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        for code in WRONG[:6]:
            await front.handle("console", STRANGER, f"/start {code}")
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert REF in warning.getMessage()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert STRANGER not in text
    assert not [code for code in WRONG if code in text]


async def test_wrong_codes_spread_over_more_than_the_window_do_not_throttle(
    ctx: Context, front: ChatFrontEnd, clock: FrozenClock
) -> None:
    for code in WRONG:
        reply = await front.handle("console", STRANGER, f"/start {code}")
        assert reply.texts == [M_CODE_UNKNOWN("nl")]
        clock.advance(minutes=4)
    assert await events(ctx, "account-throttled") == []


async def test_throttling_is_per_account(ctx: Context, front: ChatFrontEnd) -> None:
    for code in WRONG[:5]:
        await front.handle("console", STRANGER, f"/start {code}")
    await add_invite(ctx, "p-2b-01", "ZOE-CODE-1")
    reply = await front.handle("console", "zoe-phone", "/start ZOE-CODE-1")
    assert reply.texts[0] == M_LINKED("nl", name="Zoë")
    # The same account id on another platform is another account.
    reply = await front.handle("binder", STRANGER, f"/start {WRONG[0]}")
    assert reply.texts == [M_CODE_UNKNOWN("nl")]


async def test_commands_from_a_stranger_are_audited_counted_and_throttled(
    ctx: Context, front: ChatFrontEnd
) -> None:
    command = "/huiswerk 2B wiskunde morgen Maak opgave 3"
    for _ in range(4):
        assert (await front.handle("console", STRANGER, command)).texts == [M_NOT_LINKED("nl")]
    assert (await front.handle("console", STRANGER, command)).texts == [
        M_NOT_LINKED("nl"),
        too_many("10:15"),
    ]
    assert (await front.handle("console", STRANGER, "/help")).texts == [too_many("10:15")]
    stranger = await events(ctx, "stranger-command")
    assert [e.details["command"] for e in stranger] == ["huiswerk"] * 5
    assert {e.details["account"] for e in stranger} == {REF}
    assert len(await throttle_notices(ctx)) == 1


async def test_help_from_a_stranger_is_audited_but_not_counted(
    ctx: Context, front: ChatFrontEnd
) -> None:
    for _ in range(8):
        reply = await front.handle("console", STRANGER, "/help")
        assert "/start" in reply.texts[0]
    helps = await events(ctx, "stranger-command")
    assert len(helps) == 8
    assert {e.details["counted"] for e in helps} == {False}
    assert await events(ctx, "account-throttled") == []


async def test_throttling_survives_a_restart(
    ctx: Context, front: ChatFrontEnd, clock: FrozenClock
) -> None:
    for code in WRONG[:5]:
        await front.handle("console", STRANGER, f"/start {code}")
    # A new front end (another process) over the same database.
    restarted = ChatFrontEnd(Context(db=ctx.db, clock=clock, policy=ctx.policy))
    assert (await restarted.handle("console", STRANGER, f"/start {WRONG[5]}")).texts == [
        too_many("10:15")
    ]


async def test_commands_of_linked_people_are_not_counted(ctx: Context, front: ChatFrontEnd) -> None:
    await add_invite(ctx, "p-2b-01", "ZOE-CODE-1")
    await front.handle("console", "zoe-phone", "/start ZOE-CODE-1")
    for _ in range(6):
        await front.handle("console", "zoe-phone", "/huiswerk 2B wiskunde morgen Maak opgave 3")
    assert await events(ctx, "stranger-command") == []
    assert await events(ctx, "account-throttled") == []


async def test_unknown_and_malformed_commands_from_a_stranger_count_too(
    ctx: Context, front: ChatFrontEnd
) -> None:
    for text in ["/geheim", "/lesuitval", "/start", "/huiswerk 2B", "/nogiets"]:
        reply = await front.handle("console", STRANGER, text)
        assert reply.texts
        assert not reply.texts[0].startswith("Te veel")
    assert reply.texts[-1] == too_many("10:15")
    stranger = await events(ctx, "stranger-command")
    assert [e.details["command"] for e in stranger] == [
        "geheim",
        "lesuitval",
        "start",
        "huiswerk",
        "nogiets",
    ]
    assert (await front.handle("console", STRANGER, "/lesuitval")).texts == [too_many("10:15")]
