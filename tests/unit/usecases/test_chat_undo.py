"""`/intrekken N [reden]` and `/correctie N tekst` in a chat: the front end calls the undo use cases
(`bot.usecases.undo`) and answers with what really happens, in the person's language."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.chat.front import ChatFrontEnd
from bot.chat.texts import undo_text
from bot.dispatch import Dispatcher
from bot.usecases.context import Context
from tests.unit.usecases.conftest import events, link

HOMEWORK = "/huiswerk 2B wiskunde morgen Maak opgave 3"


@dataclass(frozen=True)
class Counts:
    cancelled: int
    group_edits: int
    follow_ups: int


@pytest.mark.parametrize(
    ("counts", "withdrawn", "nl", "en"),
    [
        (
            Counts(3, 1, 2),
            True,
            "Bericht #12 is ingetrokken: 3 nog niet verstuurde kopieën geannuleerd, het "
            "groepsbericht wordt aangepast en 2 e-mails/brieven met de intrekking.",
            "Message #12 has been withdrawn: 3 copies that had not gone out yet were cancelled, "
            "the group post is being edited, and 2 e-mails/letters carry the withdrawal.",
        ),
        (
            Counts(1, 0, 1),
            True,
            "Bericht #12 is ingetrokken: 1 nog niet verstuurde kopie geannuleerd en 1 "
            "e-mail/brief met de intrekking.",
            "Message #12 has been withdrawn: 1 copy that had not gone out yet was cancelled and "
            "1 e-mail/letter carries the withdrawal.",
        ),
        (
            Counts(0, 2, 0),
            False,
            "Bericht #12 is gecorrigeerd: 2 groepsberichten worden aangepast.",
            "Message #12 has been corrected: 2 group posts are being edited.",
        ),
        (
            Counts(0, 0, 4),
            False,
            "Bericht #12 is gecorrigeerd: 4 e-mails/brieven met de correctie.",
            "Message #12 has been corrected: 4 e-mails/letters carry the correction.",
        ),
        (Counts(0, 0, 0), True, "Bericht #12 is ingetrokken.", "Message #12 has been withdrawn."),
        (Counts(0, 0, 0), False, "Bericht #12 is gecorrigeerd.", "Message #12 has been corrected."),
    ],
)
def test_the_answer_says_what_happens(counts: Counts, withdrawn: bool, nl: str, en: str) -> None:
    assert undo_text(12, counts, "nl", withdrawn=withdrawn) == nl
    assert undo_text(12, counts, "en", withdrawn=withdrawn) == en


async def announce(front: ChatFrontEnd, account: str = "t-devries") -> int:
    reply = await front.handle("console", account, HOMEWORK)
    assert reply.announcement_id is not None
    return reply.announcement_id


async def counts_of(ctx: Context, kind: str) -> Counts:
    [event] = await events(ctx, kind)
    return Counts(
        event.details.get("cancelled", 0), event.details["group_edits"], event.details["follow_ups"]
    )


async def test_withdrawing_before_anything_went_out_cancels_every_copy(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    number = await announce(front)
    [text] = (
        await front.handle("console", "t-devries", f"/intrekken {number} Verkeerde dag")
    ).texts
    counts = await counts_of(ctx, "withdrawal")
    assert counts.cancelled > 0
    assert text == undo_text(number, counts, "nl", withdrawn=True)
    assert text.startswith(f"Bericht #{number} is ingetrokken: {counts.cancelled} nog niet")


async def test_withdrawing_after_delivery_reports_the_follow_ups(
    ctx: Context, front: ChatFrontEnd, dispatcher: Dispatcher
) -> None:
    await link(ctx, "t-devries")
    number = await announce(front)
    await dispatcher.run_once()
    [text] = (await front.handle("console", "t-devries", f"!withdraw #{number}")).texts
    counts = await counts_of(ctx, "withdrawal")
    assert counts.follow_ups > 0
    assert text == undo_text(number, counts, "nl", withdrawn=True)
    assert "met de intrekking" in text


async def test_a_correction_reports_the_follow_ups_in_the_persons_language(
    ctx: Context, front: ChatFrontEnd, dispatcher: Dispatcher
) -> None:
    await link(ctx, "t-devries")
    number = await announce(front)
    await dispatcher.run_once()
    await front.handle("console", "t-devries", "/language en")
    [text] = (
        await front.handle("console", "t-devries", f"/correctie {number} Maak opgave 4")
    ).texts
    counts = await counts_of(ctx, "correction")
    assert text == undo_text(number, counts, "en", withdrawn=False)
    assert text.startswith(f"Message #{number} has been corrected: ")


async def test_a_pupil_may_not_withdraw(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    await link(ctx, "p-2b-01")
    number = await announce(front)
    [text] = (await front.handle("console", "p-2b-01", f"/intrekken {number}")).texts
    assert text == (
        "Alleen docenten mogen /intrekken gebruiken. Beschikbaar: /start, /taal, /melden, /help."
    )
    assert await events(ctx, "withdrawal") == []


async def test_a_teacher_of_another_class_may_not_withdraw(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    await link(ctx, "t-jansen")
    number = await announce(front)
    [text] = (await front.handle("console", "t-jansen", f"/intrekken {number}")).texts
    assert f"#{number}" in text
    assert "2B" in text
    assert await events(ctx, "withdrawal") == []


async def test_an_unknown_number_and_a_second_withdrawal_are_refused(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    number = await announce(front)
    [unknown] = (await front.handle("console", "t-devries", f"/intrekken {number + 50}")).texts
    assert f"#{number + 50}" in unknown
    await front.handle("console", "t-devries", f"/intrekken {number}")
    [again] = (await front.handle("console", "t-devries", f"/intrekken {number}")).texts
    assert f"#{number}" in again
    assert len(await events(ctx, "withdrawal")) == 1
