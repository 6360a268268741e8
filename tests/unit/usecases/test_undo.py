"""Withdrawing and correcting an announcement (`bot.usecases.undo`) on the in-memory unit of
work: what has not gone out is cancelled; what has gone out is edited in the group and followed
by a withdrawal or a correction through the channel each copy went by, exactly once — also when
a copy goes out while it is being withdrawn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import pytest

from bot.clock import FrozenClock
from bot.dispatch import Dispatcher
from bot.domain import Channel, DeliveryStatus
from bot.errors import InvalidInput, NotFound, RuleViolation
from bot.notices import CorrectionNotice, GroupEditNotice, WithdrawalNotice
from bot.ports import MailMessage, PlatformCapabilities
from bot.usecases import announcing, undo
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    TODAY,
    FakeMailer,
    FakePlatform,
    FakePrinter,
    by_pupil,
    class_2b_with_group,
    events,
    homework,
    local,
    notice_rows,
)

GROUP_PUPILS = {"p-2b-01", "p-2b-03"}
EMAIL_PUPILS = {"p-2b-05", "p-2b-07"}
POST_PUPILS = {"p-2b-02", "p-2b-04"}


async def announce(ctx: Context) -> int:
    return (await announcing.announce(ctx, homework())).announcement.id


async def delivered_class(ctx: Context, dispatcher: Dispatcher) -> int:
    await class_2b_with_group(ctx)
    announcement_id = await announce(ctx)
    await dispatcher.run_once()
    return announcement_id


# --- before anything went out ---------------------------------------------------------------------


async def test_withdrawn_before_dispatch_nothing_goes_out(
    ctx: Context,
    dispatcher: Dispatcher,
    console: FakePlatform,
    mailer: FakeMailer,
    printer: FakePrinter,
) -> None:
    await class_2b_with_group(ctx)
    announcement_id = await announce(ctx)
    result = await undo.withdraw(ctx, announcement_id, "t-devries", "verkeerde klas")
    assert result.cancelled == 6  # every pupil but the unreachable one
    assert (result.group_edits, result.follow_ups) == (0, 0)
    assert result.announcement.withdrawn
    await dispatcher.run_once()
    assert console.posted == []
    # Nothing reaches a pupil or parent, and the author's call list for the letters that would
    # have come too late is moot (the overview of unreachable pupils still goes out).
    assert len(await notice_rows(ctx, "late-letters")) == 1
    pupil_facing = ("announcement", "withdrawal", "late-letters")
    assert [m for m in mailer.accepted if m.notice.template in pupil_facing] == []
    assert printer.letters == []
    statuses = {p: d.status for p, d in (await by_pupil(ctx, announcement_id)).items()}
    assert statuses.pop("p-2b-06") == DeliveryStatus.FAILED
    assert set(statuses.values()) == {DeliveryStatus.WITHDRAWN}


async def test_corrected_before_dispatch_goes_out_corrected_once(
    ctx: Context, dispatcher: Dispatcher, console: FakePlatform, mailer: FakeMailer
) -> None:
    await class_2b_with_group(ctx)
    announcement_id = await announce(ctx)
    result = await undo.correct(ctx, announcement_id, "t-devries", "Maak opgave 6 t/m 9.")
    assert (result.cancelled, result.group_edits, result.follow_ups) == (0, 0, 0)
    await dispatcher.run_once()
    [post] = console.posted
    assert "opgave 6 t/m 9" in post.text
    assert "opgave 1 t/m 5" not in post.text
    assert console.edited == []
    assert await notice_rows(ctx, "correction") == []
    copies = [m for m in mailer.accepted if m.notice.template == "announcement"]
    assert len(copies) == 2
    assert all("opgave 6 t/m 9" in m.notice.fields()["body"] for m in copies)


# --- after it went out ----------------------------------------------------------------------------


async def test_withdrawn_after_dispatch_reaches_every_channel_once(
    ctx: Context,
    dispatcher: Dispatcher,
    console: FakePlatform,
    mailer: FakeMailer,
    printer: FakePrinter,
) -> None:
    announcement_id = await delivered_class(ctx, dispatcher)
    [post] = console.posted
    copies = {m.to: m for m in mailer.accepted if m.notice.template == "announcement"}
    letters_before = len(printer.letters)

    result = await undo.withdraw(ctx, announcement_id, "t-devries", "gaat niet door")
    assert (result.cancelled, result.group_edits, result.follow_ups) == (0, 1, 4)
    for _ in range(3):  # however often it runs
        await dispatcher.run_once()

    [(message_id, edit)] = console.edited
    assert message_id == "console-message-1"
    assert edit.chat_id == post.chat_id
    assert edit.text.startswith("❌ INGETROKKEN")
    assert "Reden: gaat niet door" in edit.text
    assert edit.text.endswith(post.text.split("\n\n")[-1])  # still signed
    withdrawals = mailer.of("withdrawal")
    assert sorted(m.to for m in withdrawals) == sorted(copies)  # the same addresses, once each
    for m in withdrawals:
        notice = m.notice
        assert isinstance(notice, WithdrawalNotice)
        assert notice.announcement_id == announcement_id
        assert notice.reason == "gaat niet door"
        assert "opgave 1 t/m 5" in notice.summary
    # The two households that had a letter get the withdrawal on paper, once each.
    new_letters = printer.letters[letters_before:]
    assert len(new_letters) == 2
    for letter in new_letters:
        titles = [item.title for item in letter.items]
        # The day's letter is made again: the announcement, then its withdrawal, each titled
        # with the class.
        [withdrawn_at] = [i for i, title in enumerate(titles) if title.startswith("Ingetrokken")]
        [announced_at] = [i for i, title in enumerate(titles) if title.startswith("Huiswerk")]
        assert announced_at < withdrawn_at
        assert titles[announced_at].endswith("klas 2B")
    assert len(await notice_rows(ctx, "withdrawal")) == 4
    assert len(await notice_rows(ctx, "group-edit")) == 1


async def test_withdrawal_letters_go_to_the_same_households(
    ctx: Context, dispatcher: Dispatcher, printer: FakePrinter
) -> None:
    announcement_id = await delivered_class(ctx, dispatcher)
    first = {letter.address for letter in printer.letters}
    await undo.withdraw(ctx, announcement_id, None)
    await dispatcher.run_once()
    rows = await notice_rows(ctx, "withdrawal")
    by_channel = {r.pupil_id: r.channel for r in rows}
    assert {p for p, c in by_channel.items() if c == Channel.POST} == POST_PUPILS
    assert {p for p, c in by_channel.items() if c == Channel.EMAIL} == EMAIL_PUPILS
    assert {letter.address for letter in printer.letters} == first


async def test_two_corrections_reach_each_recipient_once_each(
    ctx: Context, dispatcher: Dispatcher, console: FakePlatform, mailer: FakeMailer
) -> None:
    announcement_id = await delivered_class(ctx, dispatcher)
    first = await undo.correct(ctx, announcement_id, "t-devries", "Maak opgave 6 t/m 9.")
    await dispatcher.run_once()
    second = await undo.correct(ctx, announcement_id, "t-devries", "Maak opgave 10.")
    await dispatcher.run_once()
    await dispatcher.run_once()
    assert (first.announcement.revision, second.announcement.revision) == (1, 2)
    assert [e.text.split("\n\n")[1] for _, e in console.edited] == [
        first.announcement.body,
        second.announcement.body,
    ]
    assert console.edited[0][1].text.startswith("✏️ GECORRIGEERD")
    corrections = mailer.of("correction")
    assert len(corrections) == 4  # two addresses, two revisions
    revisions = sorted(
        (m.to, m.notice.revision) for m in corrections if isinstance(m.notice, CorrectionNotice)
    )
    assert [r for _, r in revisions] == [1, 2, 1, 2]


async def test_withdrawing_twice_is_refused_and_changes_nothing(
    ctx: Context, dispatcher: Dispatcher
) -> None:
    announcement_id = await delivered_class(ctx, dispatcher)
    await undo.withdraw(ctx, announcement_id, None)
    before = await notice_rows(ctx)
    with pytest.raises(InvalidInput, match="al ingetrokken op maandag 23 november 2026 om 10:00"):
        await undo.withdraw(ctx, announcement_id, "t-devries")
    with pytest.raises(InvalidInput, match="al ingetrokken"):
        await undo.correct(ctx, announcement_id, "t-devries", "Toch wel.")
    assert await notice_rows(ctx) == before


# --- a copy going out while it is withdrawn -------------------------------------------------------


class MailerThatUndoes(FakeMailer):
    """Runs `during` while the dispatcher is sending (its rows are claimed)."""

    during: Callable[[], Awaitable[object]] | None = None

    async def send(
        self,
        messages: Sequence[MailMessage],
        on_sent: Callable[[int], Awaitable[None]] | None = None,
    ) -> list[Exception | None]:
        if self.during is not None:
            during, self.during = self.during, None
            await during()
        return await super().send(messages, on_sent)


@pytest.mark.parametrize("immediate_record", [False, True])
async def test_a_copy_in_flight_during_the_withdrawal_gets_its_withdrawal(
    ctx: Context, printer: FakePrinter, immediate_record: bool
) -> None:
    mailer = MailerThatUndoes(call_on_sent=immediate_record)
    dispatcher = Dispatcher(ctx, mailer=mailer, printer=printer, batch_size=50)
    announcement_id = await announce(ctx)
    outcome: list[undo.UndoResult] = []

    async def withdraw() -> None:
        outcome.append(await undo.withdraw(ctx, announcement_id, None))

    mailer.during = withdraw
    await dispatcher.run_once()
    await dispatcher.run_once()
    [result] = outcome
    # The e-mails were claimed when it was withdrawn: not cancelled, and not followed up then…
    rows = await by_pupil(ctx, announcement_id)
    assert {p for p, d in rows.items() if d.status == DeliveryStatus.SENT} >= EMAIL_PUPILS
    # …but each got its withdrawal once, added when the copy was recorded as sent.
    withdrawn_mail = mailer.of("withdrawal")
    assert sorted(m.to for m in withdrawn_mail) == sorted(
        m.to for m in mailer.accepted if m.notice.template == "announcement"
    )
    assert len({m.to for m in withdrawn_mail}) == len(withdrawn_mail) >= len(EMAIL_PUPILS)
    # Everything was claimed when it was withdrawn: the withdrawal itself cancelled and followed
    # up nothing; the dispatcher followed up every copy (the letters too) as it recorded it.
    assert (result.cancelled, result.follow_ups) == (0, 0)
    on_paper = [r.pupil_id for r in await notice_rows(ctx, "withdrawal") if r.channel == "post"]
    assert sorted(on_paper) == sorted(p for p, d in rows.items() if d.channel == "post")


# --- who may, and what is checked -----------------------------------------------------------------


async def test_only_the_author_or_staff_of_the_class_may_undo(ctx: Context) -> None:
    announcement_id = await announce(ctx)
    for outsider in ("p-2b-01", "g-01", "t-jansen"):
        with pytest.raises(RuleViolation) as refused:
            await undo.withdraw(ctx, announcement_id, outsider)
        assert refused.value.code == "not-allowed"
    refusals = await events(ctx, "refusal")
    assert len([e for e in refusals if e.details.get("code") == "not-allowed"]) == 3
    with pytest.raises(NotFound):
        await undo.withdraw(ctx, 999, None)
    # A colleague who teaches the class may (the author is ill, the message is wrong).
    assert (await undo.withdraw(ctx, announcement_id, "t-bakker")).announcement.withdrawn


async def test_a_correction_is_checked_for_personal_data(ctx: Context) -> None:
    announcement_id = await announce(ctx)
    with pytest.raises(RuleViolation) as refused:
        await undo.correct(ctx, announcement_id, "t-devries", "Bel 06-12345678 bij vragen.")
    assert refused.value.rule == "A.2"
    with pytest.raises(RuleViolation):
        await undo.withdraw(ctx, announcement_id, "t-devries", "Zoë van den Berg is ziek")
    with pytest.raises(InvalidInput):
        await undo.correct(ctx, announcement_id, "t-devries", "   ")


async def test_undo_is_audited(ctx: Context, dispatcher: Dispatcher) -> None:
    announcement_id = await delivered_class(ctx, dispatcher)
    await undo.correct(ctx, announcement_id, "t-devries", "Maak opgave 6.")
    await undo.withdraw(ctx, announcement_id, None, "dubbel")
    [correction] = await events(ctx, "correction")
    [withdrawal] = await events(ctx, "withdrawal")
    assert correction.actor_id == "t-devries"
    assert withdrawal.actor_id is None
    assert withdrawal.details["reason"] == "dubbel"
    assert "p-2b-05" in withdrawal.person_ids


# --- platforms and quiet hours --------------------------------------------------------------------


async def test_a_platform_that_cannot_edit_gets_a_new_post(
    ctx: Context, dispatcher: Dispatcher, console: FakePlatform
) -> None:
    announcement_id = await delivered_class(ctx, dispatcher)
    console.capabilities = PlatformCapabilities(min_age=13, creates_groups=True)
    await undo.withdraw(ctx, announcement_id, None)
    await dispatcher.run_once()
    await dispatcher.run_once()
    assert console.edited == []
    assert [p.text.startswith("❌ INGETROKKEN") for p in console.posted] == [False, True]


async def test_a_withdrawal_in_quiet_hours_is_mailed_when_they_end(
    ctx: Context, clock: FrozenClock, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    announcement_id = await delivered_class(ctx, dispatcher)
    clock.at = local(TODAY, 22, 30)
    await undo.withdraw(ctx, announcement_id, None)
    await dispatcher.run_once()
    assert mailer.of("withdrawal") == []
    [edit] = await notice_rows(ctx, "group-edit")
    assert edit.status == DeliveryStatus.SENT  # an edit notifies nobody: made at once
    clock.at = local(TODAY + timedelta(days=1), 7, 1)
    await dispatcher.run_once()
    assert len(mailer.of("withdrawal")) == len(EMAIL_PUPILS)


async def test_an_edit_that_the_group_refuses_is_recorded_failed(
    ctx: Context, dispatcher: Dispatcher, console: FakePlatform, mailer: FakeMailer
) -> None:
    from bot.errors import PermanentDeliveryError

    announcement_id = await delivered_class(ctx, dispatcher)
    console.edit_errors.append(PermanentDeliveryError("message to edit not found"))
    await undo.withdraw(ctx, announcement_id, None)
    await dispatcher.run_once()
    [edit] = await notice_rows(ctx, "group-edit")
    assert edit.status == DeliveryStatus.FAILED
    notice = edit.notice
    assert isinstance(notice, GroupEditNotice)
    assert notice.revision == undo.WITHDRAWN_REVISION
    assert len(mailer.of("withdrawal")) == len(EMAIL_PUPILS)
    assert [e for e in await events(ctx, "group-edit-failed")]


async def test_the_dispatcher_keeps_only_the_batch_it_sends(
    ctx: Context, dispatcher: Dispatcher
) -> None:
    first = await announce(ctx)
    await dispatcher.run_once()
    second = (await announcing.announce(ctx, homework(subject="Engels"))).announcement.id
    await dispatcher.run_once()
    # What a long-running dispatcher remembers of announcements is this batch's, never all.
    assert first not in dispatcher.carried
    assert second in dispatcher.carried
