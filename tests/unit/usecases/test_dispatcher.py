"""The dispatcher on the in-memory unit of work: group posts, e-mail and letters; transient
errors retried with backoff, permanent ones re-routed down the ladder; quiet hours; letters that
count as sent only when posted; notices counted apart from announcement copies."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, timedelta

from bot.clock import FrozenClock
from bot.dispatch import Dispatcher
from bot.domain import (
    AnnouncementDraft,
    Channel,
    DeliveryStatus,
    GroupState,
    Kind,
    Reason,
    RosterSnapshot,
)
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.notices import AnnouncementNotice, UnreachableNotice
from bot.outbox import letters_posted
from bot.usecases import announcing, reports
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    LEADERSHIP,
    RETRY,
    SCHOOL,
    TODAY,
    TOMORROW,
    FakeMailer,
    FakePlatform,
    FakePrinter,
    by_pupil,
    class_2b_with_group,
    events,
    group_of,
    homework,
    link,
    local,
    notice_of,
    notice_rows,
    person,
)

MARIEKE = "marieke@vandenberg.example"  # Zoë's guardian (e-mail and an address)
SANNE = "sanne@thart.example"  # Lotte's guardian (e-mail only)


async def announce(ctx: Context, draft: AnnouncementDraft | None = None) -> int:
    return (await announcing.announce(ctx, draft or homework())).announcement.id


async def letter_keys(ctx: Context) -> list[str]:
    async with ctx.db.transaction() as tx:
        return [x.key for x in await tx.letters.list()]


async def post_letters(ctx: Context, keys: list[str]) -> list[str]:
    async with ctx.db.transaction() as tx:
        return await letters_posted(tx, keys, ctx.clock.now())


# --- one round ------------------------------------------------------------------------------------


async def test_a_round_posts_once_in_the_group(
    ctx: Context, dispatcher: Dispatcher, console: FakePlatform
) -> None:
    group = await class_2b_with_group(ctx)
    announcement_id = await announce(ctx)
    await dispatcher.run_once()
    [post] = console.posted
    assert post.chat_id == group.chat_id
    assert post.text.endswith("— J. de Vries, mentor 2B, De Passie Utrecht")
    assert post.idempotency_key == f"{announcement_id}-g{group.id}"


async def test_a_round_counts_copies_letters_and_notices_apart(
    ctx: Context, dispatcher: Dispatcher
) -> None:
    await class_2b_with_group(ctx)
    await announce(ctx)
    stats = await dispatcher.run_once()
    assert stats.sent == 4  # two in the group, two e-mails
    assert dict(stats.by_channel) == {"group": 2, "email": 2, "post": 2}
    assert stats.letters == 2
    assert stats.notices == 1  # the warning about Sophie


async def test_a_round_leaves_each_row_in_its_final_state(
    ctx: Context, dispatcher: Dispatcher
) -> None:
    await class_2b_with_group(ctx)
    announcement_id = await announce(ctx)
    await dispatcher.run_once()
    statuses = {p: d.status.value for p, d in (await by_pupil(ctx, announcement_id)).items()}
    assert statuses == {
        "p-2b-01": "sent",
        "p-2b-02": "pending",  # on a letter the office has not posted yet
        "p-2b-03": "sent",
        "p-2b-04": "pending",
        "p-2b-05": "sent",
        "p-2b-06": "failed",
        "p-2b-07": "sent",
    }


async def test_a_fallback_mail_carries_the_announcement_for_the_guardian(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    announcement_id = await announce(ctx)
    await dispatcher.run_once()
    rows = await by_pupil(ctx, announcement_id)
    [message] = mailer.to(SANNE)
    notice = message.notice
    assert isinstance(notice, AnnouncementNotice)
    assert notice.announcement_id == announcement_id
    assert notice.audience == "guardian"
    assert notice.pupil_full_name == "Lotte 't Hart"
    assert notice.reason == "no-group"
    assert notice.school_name == SCHOOL
    assert message.message_id == f"<{rows['p-2b-07'].idempotency_key}@klasbot>"


async def test_a_second_round_sends_nothing_again(
    ctx: Context,
    dispatcher: Dispatcher,
    console: FakePlatform,
    mailer: FakeMailer,
    printer: FakePrinter,
) -> None:
    await class_2b_with_group(ctx)
    await announce(ctx)
    await dispatcher.run_once()
    again = await dispatcher.run_once()
    assert (again.sent, again.notices, again.letters) == (0, 0, 0)
    assert len(console.posted) == 1
    assert len(mailer.accepted) == 3
    assert len(printer.letters) == 2


async def test_notices_count_as_notices_not_as_sent(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    await reports.report(
        ctx, await person(ctx, "p-2b-01"), "gepest", escalation=False, source="cli"
    )
    stats = await dispatcher.run_once()
    assert stats.notices == 1
    assert stats.sent == 0
    assert dict(stats.by_channel) == {}
    assert len(mailer.to(LEADERSHIP)) == 1


async def test_a_mailer_that_records_each_message_at_once_counts_it_once(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    mailer.call_on_sent = True
    announcement_id = await announce(ctx)
    stats = await dispatcher.run_once()
    rows = await by_pupil(ctx, announcement_id)
    assert stats.sent == 4  # Zoë, Noor, Milan and Lotte by e-mail
    assert rows["p-2b-07"].status == DeliveryStatus.SENT
    assert rows["p-2b-07"].attempts == 1


# --- transient errors -------------------------------------------------------------------------


async def test_a_transient_error_is_retried_with_exponential_backoff(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer, clock: FrozenClock
) -> None:
    announcement_id = await announce(ctx)
    mailer.fail_to(SANNE, TransientDeliveryError("451 try later"), TransientDeliveryError("451"))
    first = await dispatcher.run_once()
    lotte = (await by_pupil(ctx, announcement_id))["p-2b-07"]
    assert first.retried == 1
    assert lotte.status == DeliveryStatus.PENDING
    assert lotte.channel_attempts == 1
    assert lotte.due_at == clock.now() + timedelta(seconds=RETRY.base_delay)
    assert lotte.last_error == "451 try later"

    clock.advance(seconds=RETRY.base_delay)
    await dispatcher.run_once()
    lotte = (await by_pupil(ctx, announcement_id))["p-2b-07"]
    assert lotte.due_at == clock.now() + timedelta(seconds=2 * RETRY.base_delay)

    clock.advance(seconds=2 * RETRY.base_delay)
    last = await dispatcher.run_once()
    lotte = (await by_pupil(ctx, announcement_id))["p-2b-07"]
    assert last.sent == 1
    assert lotte.status == DeliveryStatus.SENT
    assert len(mailer.to(SANNE)) == 1


async def test_a_row_is_not_retried_before_its_time(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer, clock: FrozenClock
) -> None:
    await announce(ctx)
    mailer.fail_to(SANNE, TransientDeliveryError("451 try later"))
    await dispatcher.run_once()
    clock.advance(seconds=RETRY.base_delay - 1)
    again = await dispatcher.run_once()
    assert again.sent == 0
    assert mailer.to(SANNE) == []


async def test_the_peers_retry_after_is_honoured(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer, clock: FrozenClock
) -> None:
    announcement_id = await announce(ctx)
    mailer.fail_to(SANNE, TransientDeliveryError("421 slow down", retry_after=900))
    await dispatcher.run_once()
    lotte = (await by_pupil(ctx, announcement_id))["p-2b-07"]
    assert lotte.due_at == clock.now() + timedelta(seconds=900)


async def test_jitter_stays_within_its_bounds(ctx: Context, mailer: FakeMailer) -> None:
    retry = replace(RETRY, jitter=0.25)
    dispatcher = Dispatcher(ctx, mailer=mailer, printer=None, retry=retry, rng=random.Random(3))
    announcement_id = await announce(ctx)
    mailer.fail_to(SANNE, TransientDeliveryError("451"))
    await dispatcher.run_once()
    lotte = (await by_pupil(ctx, announcement_id))["p-2b-07"]
    assert lotte.due_at is not None
    waited = (lotte.due_at - ctx.clock.now()).total_seconds()
    assert 45 <= waited <= 75


async def test_a_mail_server_that_is_down_retries_the_whole_batch(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    announcement_id = await announce(ctx)
    mailer.down.append(TransientDeliveryError("connection refused"))
    stats = await dispatcher.run_once()
    rows = await by_pupil(ctx, announcement_id)
    assert stats.retried == 5  # four pupils' e-mails and the warning about Sophie
    assert stats.sent == 0
    assert rows["p-2b-01"].last_error == "connection refused"


async def test_without_a_mail_transport_mail_waits(ctx: Context, printer: FakePrinter) -> None:
    dispatcher = Dispatcher(ctx, mailer=None, printer=printer, retry=RETRY)
    announcement_id = await announce(ctx)
    stats = await dispatcher.run_once()
    rows = await by_pupil(ctx, announcement_id)
    assert stats.sent == 0
    assert rows["p-2b-07"].status == DeliveryStatus.PENDING
    assert rows["p-2b-07"].last_error == "no mail transport configured"


async def test_after_the_last_transient_attempt_the_row_moves_on(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer, clock: FrozenClock
) -> None:
    announcement_id = await announce(ctx)
    mailer.fail_to(MARIEKE, *(TransientDeliveryError("451") for _ in range(RETRY.max_attempts)))
    for _ in range(RETRY.max_attempts):
        await dispatcher.run_once()
        clock.advance(hours=1)
    zoe = (await by_pupil(ctx, announcement_id))["p-2b-01"]
    assert zoe.channel == Channel.POST  # Marieke has an address too
    assert zoe.reason == Reason.NO_GROUP
    assert len(await events(ctx, "rerouted", "p-2b-01")) == 1


async def test_a_transient_group_post_error_retries_the_whole_post(
    ctx: Context, dispatcher: Dispatcher, console: FakePlatform, clock: FrozenClock
) -> None:
    await class_2b_with_group(ctx)
    announcement_id = await announce(ctx)
    console.post_errors.append(TransientDeliveryError("429 too many requests", retry_after=30))
    first = await dispatcher.run_once()
    rows = await by_pupil(ctx, announcement_id)
    assert first.retried == 2
    assert {rows[p].due_at for p in ("p-2b-01", "p-2b-03")} == {
        clock.now() + timedelta(seconds=RETRY.base_delay)
    }
    clock.advance(seconds=RETRY.base_delay)
    second = await dispatcher.run_once()
    assert second.sent == 2
    assert len(console.posted) == 1


# --- permanent errors: the ladder -------------------------------------------------------------


async def test_a_bounced_mail_moves_the_pupil_to_a_letter(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer, printer: FakePrinter
) -> None:
    announcement_id = await announce(ctx)
    mailer.fail_to(MARIEKE, PermanentDeliveryError("550 5.1.1 no such user"))
    stats = await dispatcher.run_once()
    zoe = (await by_pupil(ctx, announcement_id))["p-2b-01"]
    assert stats.rerouted == 1
    assert (zoe.channel, zoe.reason) == (Channel.POST, Reason.BOUNCED)
    assert len(printer.to("Lange Nieuwstraat 5")) == 1


async def test_a_blocked_group_post_moves_its_pupils_to_mail(
    ctx: Context, dispatcher: Dispatcher, console: FakePlatform, mailer: FakeMailer
) -> None:
    group = await class_2b_with_group(ctx)
    announcement_id = await announce(ctx)
    console.post_errors.append(PermanentDeliveryError("403 forbidden", reason="blocked"))
    await dispatcher.run_once()
    rows = await by_pupil(ctx, announcement_id)
    assert (rows["p-2b-01"].channel, rows["p-2b-01"].reason) == (Channel.EMAIL, Reason.BLOCKED)
    assert rows["p-2b-01"].status == DeliveryStatus.SENT
    assert len(mailer.to(MARIEKE)) == 1
    stored = await group_of(ctx, "console", group.chat_id)
    assert stored is not None
    assert stored.state == GroupState.ACTIVE


async def test_the_whole_ladder_group_mail_letter_unreachable(
    ctx: Context,
    dispatcher: Dispatcher,
    console: FakePlatform,
    mailer: FakeMailer,
    printer: FakePrinter,
    clock: FrozenClock,
) -> None:
    group = await class_2b_with_group(ctx)
    announcement_id = await announce(ctx)
    console.post_errors.append(PermanentDeliveryError("bot kicked", reason="group-lost"))
    mailer.fail_to(MARIEKE, PermanentDeliveryError("550 5.1.1 no such user"))
    printer.failures["Lange Nieuwstraat 5"] = [OSError("disk full")] * RETRY.max_attempts
    for _ in range(RETRY.max_attempts):
        await dispatcher.run_once()
        clock.advance(hours=1)
    zoe = (await by_pupil(ctx, announcement_id))["p-2b-01"]
    steps = [
        (e.details["from"], e.details["to"])
        for e in await events(ctx, person_id="p-2b-01")
        if e.kind in ("rerouted", "unreachable") and e.details.get("from")
    ]
    assert steps == [("group", "email"), ("email", "post"), ("post", "unreachable")]
    assert (zoe.channel, zoe.status) == (Channel.UNREACHABLE, DeliveryStatus.FAILED)
    assert printer.to("Lange Nieuwstraat 5") == []
    stored = await group_of(ctx, "console", group.chat_id)
    assert stored is not None
    assert stored.state == GroupState.LOST


async def test_a_pupil_the_ladder_runs_out_for_is_reported(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer, printer: FakePrinter
) -> None:
    announcement_id = await announce(ctx)
    mailer.fail_to(SANNE, PermanentDeliveryError("550 no such user"))  # Lotte: no address
    stats = await dispatcher.run_once()
    lotte = (await by_pupil(ctx, announcement_id))["p-2b-07"]
    assert stats.failed == 1
    assert (lotte.channel, lotte.status) == (Channel.UNREACHABLE, DeliveryStatus.FAILED)
    # Sophie (nobody to write to from the start) and Lotte (when her mail bounced) are on the
    # author's one overview of the day, under the announcement.
    [overview] = [notice_of(r) for r in await notice_rows(ctx, "unreachable")]
    assert isinstance(overview, UnreachableNotice)
    assert [(i.announcement_id, i.pupils) for i in overview.items] == [
        (announcement_id, ("Sophie Mulder", "Lotte 't Hart"))
    ]


async def test_a_lost_group_is_reported_once_by_the_dispatcher(
    ctx: Context, dispatcher: Dispatcher, console: FakePlatform
) -> None:
    await class_2b_with_group(ctx)
    await announce(ctx)
    console.post_errors.append(PermanentDeliveryError("bot kicked", reason="group-lost"))
    await dispatcher.run_once()
    assert len(await events(ctx, "group-lost")) == 1
    assert len(await notice_rows(ctx, "report")) == 1


async def test_a_bounced_report_to_leadership_has_nowhere_else_to_go(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    await reports.report(ctx, await person(ctx, "p-2b-01"), "gepest", escalation=False, source="x")
    mailer.fail_to(LEADERSHIP, PermanentDeliveryError("550 mailbox full"))
    stats = await dispatcher.run_once()
    [row] = await notice_rows(ctx, "report")
    assert stats.failed == 1
    assert row.status == DeliveryStatus.FAILED


# --- a platform this process does not run -----------------------------------------------------


async def test_group_rows_for_a_platform_not_running_here_wait(
    ctx: Context, dispatcher: Dispatcher
) -> None:
    await class_2b_with_group(ctx)
    announcement_id = await announce(ctx)
    del ctx.platforms["console"]
    stats = await dispatcher.run_once()
    zoe = (await by_pupil(ctx, announcement_id))["p-2b-01"]
    assert stats.waiting == 2
    assert (zoe.channel, zoe.status) == (Channel.GROUP, DeliveryStatus.PENDING)
    assert zoe.attempts == 0


# --- rule 8 -----------------------------------------------------------------------------------


async def test_quiet_hours_hold_announcements_but_not_notices(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer, clock: FrozenClock
) -> None:
    announcement_id = await announce(ctx)  # at 10:00: due at once
    clock.at = local(TODAY, 22).astimezone(UTC)
    await reports.report(ctx, await person(ctx, "p-2b-01"), "gepest", escalation=False, source="x")
    stats = await dispatcher.run_once()
    rows = await by_pupil(ctx, announcement_id)
    assert stats.held == 6
    assert stats.sent == 0
    # The report, the day's overview naming Sophie (due at 16:00) and the call list for the
    # letters that cannot arrive before tomorrow's homework.
    assert stats.notices == 3
    assert mailer.of("announcement") == []
    assert rows["p-2b-07"].status == DeliveryStatus.HELD
    assert rows["p-2b-07"].due_at == local(TOMORROW, 7)


async def test_held_rows_go_out_when_quiet_hours_end(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer, clock: FrozenClock
) -> None:
    announcement_id = await announce(ctx)
    clock.at = local(TODAY, 22).astimezone(UTC)
    await dispatcher.run_once()
    clock.at = local(TOMORROW, 6, 59).astimezone(UTC)
    early = await dispatcher.run_once()
    clock.at = local(TOMORROW, 7).astimezone(UTC)
    on_time = await dispatcher.run_once()
    assert early.sent == 0
    assert on_time.sent == 4
    assert on_time.letters == 2
    assert (await by_pupil(ctx, announcement_id))["p-2b-07"].status == DeliveryStatus.SENT


async def test_an_urgent_kind_is_dispatched_from_half_past_six(
    ctx: Context, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    draft = AnnouncementDraft(
        "2B", "t-devries", Kind.LESSON_CANCELLED, date=TOMORROW, period="3", subject="wiskunde"
    )
    await announce(ctx, draft)
    clock.at = local(TOMORROW, 6, 35).astimezone(UTC)
    stats = await dispatcher.run_once()
    assert stats.held == 0
    assert stats.sent == 4


# --- letters ----------------------------------------------------------------------------------


async def test_a_letter_is_printed_once_and_waits_for_the_office(
    ctx: Context, dispatcher: Dispatcher, printer: FakePrinter
) -> None:
    announcement_id = await announce(ctx)
    await dispatcher.run_once()
    await dispatcher.run_once()
    daan = (await by_pupil(ctx, announcement_id))["p-2b-02"]
    assert len(printer.to("Oudegracht 112")) == 1
    assert daan.status == DeliveryStatus.PENDING
    assert daan.attempts == 1


async def test_posting_one_letter_sends_only_its_delivery(
    ctx: Context, dispatcher: Dispatcher, printer: FakePrinter
) -> None:
    announcement_id = await announce(ctx)
    await dispatcher.run_once()
    [letter] = printer.to("Oudegracht 112")
    assert await post_letters(ctx, [letter.key]) == [letter.key]
    rows = await by_pupil(ctx, announcement_id)
    assert rows["p-2b-02"].status == DeliveryStatus.SENT
    assert rows["p-2b-04"].status == DeliveryStatus.PENDING


async def test_posting_a_letter_twice_changes_nothing(ctx: Context, dispatcher: Dispatcher) -> None:
    await announce(ctx)
    await dispatcher.run_once()
    keys = await letter_keys(ctx)
    await post_letters(ctx, keys)
    assert await post_letters(ctx, keys) == []


async def test_two_announcements_on_one_day_share_a_households_letter(
    ctx: Context, dispatcher: Dispatcher, printer: FakePrinter
) -> None:
    await announce(ctx)
    await dispatcher.run_once()
    await announce(ctx, homework(subject="biologie", text="Lees hoofdstuk 4."))
    await dispatcher.run_once()
    async with ctx.db.transaction() as tx:
        letters = await tx.letters.list()
    [daans] = [x for x in letters if "p-2b-02" in x.pupils]
    assert len(daans.announcements) == 2
    assert len(printer.to("Oudegracht 112")[-1].items) == 2


def two_households_for_noor(snapshot: RosterSnapshot) -> RosterSnapshot:
    """Noor's guardians without e-mail, living apart: her copy goes on two letters."""
    changed = []
    for p in snapshot.persons:
        if p.id == "g-03":
            p = replace(p, email=None)
        elif p.id == "g-04":
            assert p.address is not None
            p = replace(p, email=None, address=replace(p.address, street="Biltstraat 1"))
        changed.append(p)
    return replace(snapshot, persons=tuple(changed))


async def test_a_delivery_on_two_letters_is_sent_when_both_are_posted(
    ctx: Context, dispatcher: Dispatcher, printer: FakePrinter, snapshot: RosterSnapshot
) -> None:
    await roster_uc.import_roster(ctx, two_households_for_noor(snapshot))
    announcement_id = await announce(ctx)
    await dispatcher.run_once()
    keys = {x.address.street: x.key for x in printer.letters}
    await post_letters(ctx, [keys["Amsterdamsestraatweg 300"]])
    noor = (await by_pupil(ctx, announcement_id))["p-2b-03"]
    assert noor.status == DeliveryStatus.PENDING
    await post_letters(ctx, [keys["Biltstraat 1"]])
    noor = (await by_pupil(ctx, announcement_id))["p-2b-03"]
    assert noor.status == DeliveryStatus.SENT


async def test_a_household_whose_letter_failed_to_print_gets_it_on_retry(
    ctx: Context,
    dispatcher: Dispatcher,
    printer: FakePrinter,
    snapshot: RosterSnapshot,
    clock: FrozenClock,
) -> None:
    await roster_uc.import_roster(ctx, two_households_for_noor(snapshot))
    await announce(ctx)
    printer.failures["Biltstraat 1"] = [OSError("printer jammed")]
    await dispatcher.run_once()
    clock.advance(hours=1)
    await dispatcher.run_once()
    assert len(printer.to("Biltstraat 1")) == 1


async def test_a_pupil_only_the_lost_group_reached_is_unreachable_because_the_group_was_lost(
    ctx: Context, dispatcher: Dispatcher, console: FakePlatform
) -> None:
    # Sophie (p-2b-06): no address or e-mail of her own, a guardian with neither: the group was
    # her only channel.
    await class_2b_with_group(ctx)
    await link(ctx, "p-2b-06")
    announcement_id = await announce(ctx)
    assert (await by_pupil(ctx, announcement_id))["p-2b-06"].channel == Channel.GROUP
    console.post_errors.append(PermanentDeliveryError("bot kicked", reason="group-lost"))
    await dispatcher.run_once()
    sophie = (await by_pupil(ctx, announcement_id))["p-2b-06"]
    assert sophie.channel == Channel.UNREACHABLE
    assert sophie.reason == Reason.GROUP_LOST
    assert sophie.status == DeliveryStatus.FAILED
