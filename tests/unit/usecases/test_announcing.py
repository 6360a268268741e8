"""announce and preview: rules 7, 4 and 5 refuse (and are audited), rule 6 gives one row per pupil
along the fallback ladder, rule 8 holds what is due in quiet hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date

import pytest

from bot.clock import FrozenClock
from bot.dispatch import Dispatcher
from bot.domain import AnnouncementDraft, Channel, DeliveryStatus, Kind, Reason, RosterSnapshot
from bot.errors import RuleViolation
from bot.notices import UnreachableNotice
from bot.outbox import Told
from bot.usecases import announcing
from bot.usecases import groups as groups_uc
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    CLASS_2B,
    DEVRIES_MAIL,
    LEADERSHIP,
    TODAY,
    TOMORROW,
    VISSER_MAIL,
    FakePlatform,
    all_rows,
    by_pupil,
    class_2b_with_group,
    events,
    homework,
    link,
    local,
    notice_of,
    notice_rows,
)


def lesson_cancelled() -> AnnouncementDraft:
    return AnnouncementDraft(
        "2B", "t-devries", Kind.LESSON_CANCELLED, date=TOMORROW, period="3", subject="wiskunde"
    )


def reminder(**changes: object) -> AnnouncementDraft:
    draft = AnnouncementDraft("2B", "t-devries", Kind.REMINDER, text="Neem je gymspullen mee.")
    return replace(draft, **changes)  # type: ignore[arg-type]


async def stored_announcements(ctx: Context) -> int:
    async with ctx.db.transaction() as tx:
        return len(await tx.announcements.list())


# --- rule 6: the ladder -----------------------------------------------------------------------


async def test_one_row_per_pupil_along_the_fallback_ladder(ctx: Context) -> None:
    await class_2b_with_group(ctx)
    result = await announcing.announce(ctx, homework())
    rows = await by_pupil(ctx, result.announcement.id)
    got = {p: (d.channel.value, d.reason.value if d.reason else None) for p, d in rows.items()}
    assert got == {
        "p-2b-01": ("group", None),
        "p-2b-02": ("post", "not-linked"),  # guardian has only an address
        "p-2b-03": ("group", None),
        "p-2b-04": ("post", "not-linked"),  # guardian chose letters
        "p-2b-05": ("email", "under-13"),
        "p-2b-06": ("unreachable", "not-linked"),  # nobody has an address
        "p-2b-07": ("email", "not-linked"),
    }


async def test_every_pupil_of_the_class_has_exactly_one_row(ctx: Context) -> None:
    result = await announcing.announce(ctx, homework())
    async with ctx.db.transaction() as tx:
        rows = await tx.outbox.for_announcement(result.announcement.id)
    assert sorted(d.pupil_id for d in rows) == list(CLASS_2B)


async def test_unreachable_rows_are_failed_and_the_others_pending(ctx: Context) -> None:
    await class_2b_with_group(ctx)
    result = await announcing.announce(ctx, homework())
    statuses = {p: d.status for p, d in (await by_pupil(ctx, result.announcement.id)).items()}
    assert statuses.pop("p-2b-06") == DeliveryStatus.FAILED
    assert set(statuses.values()) == {DeliveryStatus.PENDING}


async def test_the_result_counts_channels_and_names_the_unreachable(ctx: Context) -> None:
    await class_2b_with_group(ctx)
    result = await announcing.announce(ctx, homework())
    assert result.counts == {"group": 2, "email": 2, "post": 2, "unreachable": 1}
    assert result.unreachable == ("p-2b-06",)
    assert result.held_until is None


async def test_rows_carry_their_recipients(ctx: Context) -> None:
    result = await announcing.announce(ctx, homework())
    rows = await by_pupil(ctx, result.announcement.id)
    assert {r.email for r in rows["p-2b-03"].recipients} == {
        "khadija.elamrani@mail.example",
        "y.elamrani@mail.example",
    }
    assert [r.person_id for r in rows["p-2b-04"].recipients] == ["g-05"]
    assert rows["p-2b-04"].recipients[0].email is None


async def test_a_class_without_a_group_and_the_16_plus_rule(ctx: Context) -> None:
    draft = AnnouncementDraft("4C", "t-jansen", Kind.TRIP, date=TOMORROW, text="Naar Naturalis.")
    result = await announcing.announce(ctx, draft)
    rows = await by_pupil(ctx, result.announcement.id)
    assert {d.reason for d in rows.values()} == {Reason.NO_GROUP}
    assert [r.person_id for r in rows["p-4c-01"].recipients] == ["p-4c-01"]  # 16: own address
    assert [r.person_id for r in rows["p-4c-02"].recipients] == ["g-09"]  # 15: guardian
    assert [r.person_id for r in rows["p-4c-06"].recipients] == ["g-13"]  # Johan: never


async def test_pupil_email_switched_off_mails_the_guardian(ctx: Context) -> None:
    ctx.policy = replace(ctx.policy, pupil_email_from_age=None)
    draft = AnnouncementDraft("4C", "t-jansen", Kind.TRIP, date=TOMORROW, text="Naar Naturalis.")
    result = await announcing.announce(ctx, draft)
    lucas = (await by_pupil(ctx, result.announcement.id))["p-4c-01"]
    assert [r.person_id for r in lucas.recipients] == ["g-01"]


async def test_a_linked_pupil_not_yet_in_the_group_is_not_joined(
    ctx: Context, console: FakePlatform
) -> None:
    await groups_uc.create_group(ctx, "2B", "console")
    console.admit_result = False  # the platform reports the join later
    await link(ctx, "p-2b-07")
    result = await announcing.announce(ctx, homework())
    assert (await by_pupil(ctx, result.announcement.id))["p-2b-07"].reason == Reason.NOT_JOINED


async def test_pupils_of_a_lost_group_fall_back_with_reason_group_lost(ctx: Context) -> None:
    await class_2b_with_group(ctx)
    await groups_uc.group_lost(ctx, "console", "console:cls-2b")
    result = await announcing.announce(ctx, homework())
    zoe = (await by_pupil(ctx, result.announcement.id))["p-2b-01"]
    assert (zoe.channel, zoe.reason) == (Channel.EMAIL, Reason.GROUP_LOST)


def emre_turned_18(snapshot: RosterSnapshot) -> RosterSnapshot:
    """Emre (p-4c-04: no e-mail or address of his own, guardian g-11 with e-mail) born in 2008."""
    persons = tuple(
        replace(p, birth_date=date(2008, 6, 1)) if p.id == "p-4c-04" else p
        for p in snapshot.persons
    )
    return replace(snapshot, persons=persons)


async def test_an_adult_pupils_copy_does_not_go_to_a_guardian(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    """Rule 6 (SPEC): a pupil of 18 or older is an adult; without their consent (contacts.csv
    `share_with_guardians`) their guardians receive nothing, with it the ordinary ladder."""
    adult = emre_turned_18(snapshot)
    await roster_uc.import_roster(ctx, adult)
    draft = AnnouncementDraft("4C", "t-jansen", Kind.TRIP, date=TOMORROW, text="Naar Naturalis.")
    result = await announcing.announce(ctx, draft)
    emre = (await by_pupil(ctx, result.announcement.id))["p-4c-04"]
    assert "g-11" not in [r.person_id for r in emre.recipients]
    assert (emre.channel, emre.reason) == (Channel.UNREACHABLE, Reason.ADULT_NO_CONTACT)

    consenting = tuple(
        replace(p, share_with_guardians=True) if p.id == "p-4c-04" else p for p in adult.persons
    )
    await roster_uc.import_roster(ctx, replace(adult, persons=consenting))
    result = await announcing.announce(ctx, draft, again=True)
    emre = (await by_pupil(ctx, result.announcement.id))["p-4c-04"]
    assert [r.person_id for r in emre.recipients] == ["g-11"]


# --- rule 6: reporting the unreachable --------------------------------------------------------


async def test_unreachable_pupils_are_reported_to_the_author_and_leadership(
    ctx: Context,
) -> None:
    result = await announcing.announce(ctx, homework())
    [row] = await notice_rows(ctx, "unreachable")
    notice = notice_of(row)
    assert isinstance(notice, UnreachableNotice)
    [item] = notice.items
    assert item.announcement_id == result.announcement.id
    assert item.pupils == ("Sophie Mulder",)
    # The author, the roster's administrator of the school and the configured address.
    assert {r.email for r in row.recipients} == {DEVRIES_MAIL, VISSER_MAIL, LEADERSHIP}
    assert row.channel == Channel.EMAIL
    # In the day's overview, at 16:00; the result says so.
    assert row.due_at == local(TODAY, 16)
    assert result.told == Told(author=True, leadership=True, at=local(TODAY, 16))


async def test_nothing_is_reported_when_everyone_is_reachable(ctx: Context) -> None:
    draft = AnnouncementDraft("4C", "t-jansen", Kind.TRIP, date=TOMORROW, text="Naar Naturalis.")
    await announcing.announce(ctx, draft)
    assert await notice_rows(ctx, "unreachable") == []


async def test_announcement_rows_and_warning_are_one_transaction(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("connection lost")

    monkeypatch.setattr(ctx, "audit", broken_audit)
    with pytest.raises(RuntimeError):
        await announcing.announce(ctx, homework())
    assert await stored_announcements(ctx) == 0
    assert await all_rows(ctx) == []


async def test_announcement_and_fallbacks_are_audited(ctx: Context) -> None:
    await class_2b_with_group(ctx)
    result = await announcing.announce(ctx, homework())
    [announced] = await events(ctx, "announcement")
    assert announced.actor_id == "t-devries"
    assert announced.details["channels"] == result.counts
    fallbacks = await events(ctx, "fallback-delivery")
    channels = sorted(str(e.details["channel"]) for e in fallbacks)
    assert channels == ["email", "email", "post", "post"]
    [unreachable] = await events(ctx, "unreachable")
    assert "p-2b-06" in unreachable.person_ids


# --- rules 7, 4, 5: refusals ------------------------------------------------------------------


REFUSALS = [
    pytest.param(homework(author_id="p-2b-01"), "not-staff", id="pupil"),
    pytest.param(homework(author_id="t-jansen"), "not-staff", id="staff-of-another-class"),
    pytest.param(homework(author_id="g-01"), "not-staff", id="guardian"),
    pytest.param(homework(kind="feest"), "kind-not-allowed", id="unknown-kind"),
    pytest.param(homework(text=None), "missing-field", id="missing-text"),
    pytest.param(homework(text="Bel 06-12345678 bij vragen"), "personal-data", id="phone"),
    pytest.param(homework(text="Mail juf@school.example"), "personal-data", id="email"),
    pytest.param(homework(text="Zoë deelt de lijst uit"), "personal-data", id="pupil-name"),
]


@pytest.mark.parametrize(("draft", "code"), REFUSALS)
async def test_refusal_raises_with_its_code(
    ctx: Context, draft: AnnouncementDraft, code: str
) -> None:
    with pytest.raises(RuleViolation) as caught:
        await announcing.announce(ctx, draft)
    assert caught.value.code == code


@pytest.mark.parametrize(("draft", "code"), REFUSALS)
async def test_refusal_is_audited_and_stores_nothing(
    ctx: Context, draft: AnnouncementDraft, code: str
) -> None:
    with pytest.raises(RuleViolation):
        await announcing.announce(ctx, draft)
    [event] = await events(ctx, "refusal")
    assert event.details["code"] == code
    assert event.actor_id == draft.author_id
    assert await stored_announcements(ctx) == 0
    assert await all_rows(ctx) == []


async def test_a_kind_the_school_does_not_allow_is_refused(ctx: Context) -> None:
    ctx.policy = replace(ctx.policy, allowed_kinds=(Kind.HOMEWORK,))
    draft = AnnouncementDraft("2B", "t-devries", Kind.TRIP, date=TOMORROW, text="Naar het bos.")
    with pytest.raises(RuleViolation) as caught:
        await announcing.announce(ctx, draft)
    assert caught.value.code == "kind-not-allowed"


async def test_preview_is_the_signed_text_and_stores_nothing(ctx: Context) -> None:
    text = (await announcing.preview(ctx, homework())).text
    assert text.endswith("— J. de Vries, mentor 2B, De Passie Utrecht")
    assert "Maak opgave 1 t/m 5." in text
    assert await stored_announcements(ctx) == 0
    assert await all_rows(ctx) == []
    assert await events(ctx, "refusal") == []


async def test_a_refused_preview_is_audited(ctx: Context) -> None:
    with pytest.raises(RuleViolation):
        await announcing.preview(ctx, homework(author_id="p-2b-01"), source="console")
    [event] = await events(ctx, "refusal")
    assert event.details["source"] == "console"


# --- rule 8: quiet hours and not_before -------------------------------------------------------


async def test_announced_in_quiet_hours_is_held_until_seven(
    ctx: Context, clock: FrozenClock
) -> None:
    clock.at = local(TODAY, 22).astimezone(UTC)
    result = await announcing.announce(ctx, homework())
    release = local(TOMORROW, 7)
    assert result.held_until == release
    rows = await by_pupil(ctx, result.announcement.id)
    reachable = [d for d in rows.values() if d.channel != Channel.UNREACHABLE]
    assert {d.status for d in reachable} == {DeliveryStatus.HELD}
    assert {d.due_at for d in reachable} == {release}


async def test_an_urgent_kind_in_quiet_hours_is_held_until_half_past_six(
    ctx: Context, clock: FrozenClock
) -> None:
    clock.at = local(TODAY, 22).astimezone(UTC)
    result = await announcing.announce(ctx, lesson_cancelled())
    assert result.held_until == local(TOMORROW, 6, 30)


async def test_an_urgent_kind_goes_out_from_half_past_six(ctx: Context, clock: FrozenClock) -> None:
    clock.at = local(TOMORROW, 6, 40).astimezone(UTC)
    result = await announcing.announce(ctx, lesson_cancelled())
    rows = await by_pupil(ctx, result.announcement.id)
    assert result.held_until is None
    assert rows["p-2b-01"].status == DeliveryStatus.PENDING


async def test_an_ordinary_kind_at_twenty_to_seven_is_still_held(
    ctx: Context, clock: FrozenClock
) -> None:
    clock.at = local(TOMORROW, 6, 40).astimezone(UTC)
    result = await announcing.announce(ctx, homework(date=TOMORROW))
    assert result.held_until == local(TOMORROW, 7)


async def test_without_quiet_hours_nothing_is_held(ctx: Context, clock: FrozenClock) -> None:
    ctx.policy = replace(ctx.policy, quiet_hours=None)
    clock.at = local(TODAY, 23).astimezone(UTC)
    result = await announcing.announce(ctx, homework())
    assert result.held_until is None


async def test_not_before_in_the_future_waits(
    ctx: Context, clock: FrozenClock, dispatcher: Dispatcher, console: FakePlatform
) -> None:
    await class_2b_with_group(ctx)
    at = local(TODAY, 14)
    result = await announcing.announce(ctx, reminder(not_before=at))
    rows = await by_pupil(ctx, result.announcement.id)
    assert rows["p-2b-01"].status == DeliveryStatus.PENDING
    assert rows["p-2b-01"].due_at == at
    early = await dispatcher.run_once()
    assert early.sent == 0
    assert console.posted == []
    clock.at = at.astimezone(UTC)
    on_time = await dispatcher.run_once()
    assert len(console.posted) == 1
    assert on_time.sent == 4  # two in the group, two e-mails (the letters wait for the office)


async def test_not_before_in_quiet_hours_is_held_until_they_end(ctx: Context) -> None:
    result = await announcing.announce(ctx, reminder(not_before=local(TODAY, 23)))
    rows = await by_pupil(ctx, result.announcement.id)
    assert result.held_until == local(TOMORROW, 7)
    assert rows["p-2b-01"].status == DeliveryStatus.HELD
