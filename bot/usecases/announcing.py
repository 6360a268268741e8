"""Announcing: rules 7, 4 and 5 decide whether it may go out, rule 6 (`bot.routing`) who gets it
through which channel, rule 8 (`bot.outbox.first_due`) when. The announcement, one outbox row per
pupil, the report of pupils nobody reaches and the call list of letters that come too late are
written in one transaction.

Two questions both the chat and the command line ask before anything is sent, decided here once:
- is this a repeat (`find_repeat`): the same class, kind and date (and period) announced in the
  last day and not withdrawn? The chat preview says so and its confirmation sends it anyway; the
  command line refuses unless told `--again` (`announce(..., again=...)`);
- which pupils does only a letter reach that cannot arrive before the date the announcement is
  about (`late_letters`, counted by `bot.rules.post`)? The author gets them as a call list
  (protocol B.1: inform them "op een andere wijze"); the letters are printed all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.dates import format_date, format_time
from bot.domain import (
    Announcement,
    AnnouncementDraft,
    AuditEvent,
    Channel,
    ClassRoster,
    Kind,
    Person,
    Route,
)
from bot.errors import KlasbotError
from bot.i18n import Localized
from bot.messages import M_AT_TIME, M_ON_DAY_AT, M_REPEATED
from bot.notices import CallListEntry, LateLettersNotice
from bot.outbox import (
    NOBODY_TOLD,
    Told,
    add_announcement_rows,
    add_mail_notice,
    add_unreachable_warning,
    notice_key,
)
from bot.policy import SchoolPolicy, policy_of_school, school_name_for
from bot.repositories import Repositories
from bot.routing import GroupView, group_view, route_class
from bot.rules import authorization, content, kinds, post, signature
from bot.rules.age import local_today
from bot.usecases.context import Context, protected_pupils, resolve_class

REPEAT_WINDOW = timedelta(days=1)
"""How long an announcement counts as just sent: the same one again within it is asked about."""


@dataclass(frozen=True, slots=True)
class LateLetter:
    """A pupil only a letter reaches, and whom to contact instead (one per household)."""

    pupil_id: str
    call: CallListEntry


@dataclass(frozen=True, slots=True)
class LateLetters:
    """The letters of an announcement that cannot arrive before the date it is about."""

    about: date
    arrives_on: date
    letters: tuple[LateLetter, ...]
    mailed: bool = False
    """Whether the call list was queued for the author by e-mail (they have an address)."""

    @property
    def pupils(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(letter.call.pupil for letter in self.letters))


@dataclass(frozen=True)
class AnnounceResult:
    announcement: Announcement
    counts: dict[str, int]
    held_until: datetime | None
    unreachable: tuple[str, ...]
    """The ids of the pupils no channel reaches."""
    unreachable_names: tuple[str, ...] = ()
    told: Told = NOBODY_TOLD
    """Who is told about the unreachable pupils by e-mail, and when."""
    late: LateLetters | None = None
    repeat_of: int | None = None
    """The earlier announcement this one repeats (sent anyway, as asked)."""


@dataclass(frozen=True)
class Preview:
    """What the author is shown before confirming: the signed text as the group will see it,
    and what they should know first."""

    text: str
    repeat_of: Announcement | None = None
    late: LateLetters | None = None
    silent: bool = False
    """Whether the group post goes out silently (A.1: lessons are running when it is sent)."""


class AlreadySent(KlasbotError):
    """The same announcement went out within `REPEAT_WINDOW` (`find_repeat`), and sending it
    again was not asked for. `earlier` is that announcement; the message says when it went."""

    code: str = "already-sent"
    rule: str | None = None

    def __init__(self, earlier: Announcement, tz: ZoneInfo, now: datetime) -> None:
        self.earlier = earlier
        super().__init__(M_REPEATED, id=earlier.id, when=moment(earlier.created_at, tz, now))


def moment(instant: datetime, tz: ZoneInfo, now: datetime) -> Localized:
    """`at 10:15` when `instant` is on today's date (school time), else `on Tuesday 24 November
    2026 at 07:00`, in the reader's language."""
    local = instant.astimezone(tz)
    clock = format_time(local.time())
    if local.date() == now.astimezone(tz).date():
        return Localized(lambda lang: M_AT_TIME(lang, time=clock))
    day = local.date()
    return Localized(lambda lang: M_ON_DAY_AT(lang, date=format_date(day, lang), time=clock))


# --- the decisions ------------------------------------------------------------------------------


def _same_subject(kind: str, a: AnnouncementDraft | Announcement, b: Announcement) -> bool:
    """Whether two announcements of `kind` for one class and date are about the same thing: a
    lesson cancellation about the same period, homework for the same subject (two subjects may
    well be due on one day), a reminder with the same text; a trip about its date alone."""
    if kind == Kind.LESSON_CANCELLED:
        return kinds.parse_period(a.period or "") == kinds.parse_period(b.period or "")
    if kind == Kind.HOMEWORK:
        return (a.subject or "").strip().casefold() == (b.subject or "").strip().casefold()
    if kind == Kind.REMINDER:
        return (
            " ".join((a.text or "").split()).casefold()
            == " ".join((b.text or "").split()).casefold()
        )
    return True


async def find_repeat(
    tx: Repositories, class_id: str, draft: AnnouncementDraft, now: datetime
) -> Announcement | None:
    """The latest announcement to class `class_id` (its sourcedId) of the draft's kind and date,
    about the same thing (`_same_subject`), made within `REPEAT_WINDOW` before `now` and not
    withdrawn; None when there is none. The one place that decides what counts as a repeat."""
    since = now - REPEAT_WINDOW
    found = [
        a
        for a in await tx.announcements.list(class_id)
        if a.kind == draft.kind
        and not a.withdrawn
        and a.created_at > since
        and a.date == draft.date
        and _same_subject(draft.kind, draft, a)
    ]
    return max(found, key=lambda a: (a.created_at, a.id)) if found else None


def sending_day(policy: SchoolPolicy, draft: AnnouncementDraft, now: datetime) -> date:
    """The school day on which the announcement's copies go out (and its letters are made):
    today, or the day of `--at`, later still when that falls in quiet hours (rule 8)."""
    wanted = draft.not_before
    due = max(now, wanted) if wanted else now
    release = policy.release_at(due, draft.kind)
    return local_today(release or due, policy.timezone)


def late_letters(
    policy: SchoolPolicy,
    about: date | None,
    routes: list[Route],
    roster: ClassRoster,
    made_on: date,
) -> LateLetters | None:
    """The pupils whose only channel is a letter (rule 6's post) that cannot arrive before
    `about`, the date the announcement is about (`bot.rules.post`); None when there is no date,
    no letter or every letter is in time. One entry per pupil and household, naming the
    guardians the letter is addressed to and the address (no phone numbers: klasbot has none)."""
    if about is None:
        return None
    arrives = post.arrives_on(made_on, policy.post_delivery_days)
    if arrives < about:
        return None
    pupils = {p.id: p for p in roster.pupils}
    letters: list[LateLetter] = []
    for route in routes:
        if route.channel != Channel.POST:
            continue
        pupil = pupils.get(route.pupil_id)
        ids = pupil.guardian_ids if pupil else ()
        guardians = [roster.guardians[g] for g in ids if g in roster.guardians]
        for recipient in route.recipients:
            if recipient.address is None:
                continue
            household = recipient.address.household_key
            # A letter to the pupil's own address is the pupil's (an adult's, rule 6): it names
            # no guardian, even one who lives there.
            names = [
                g.full_name
                for g in guardians
                if recipient.person_id != route.pupil_id
                and g.address is not None
                and g.address.household_key == household
            ]
            letters.append(
                LateLetter(
                    route.pupil_id,
                    CallListEntry(
                        pupil=pupil.full_name if pupil else route.pupil_id,
                        guardians=tuple(names or [recipient.name]),
                        address=", ".join(
                            " ".join(line.split()) for line in recipient.address.lines()
                        ),
                    ),
                )
            )
    if not letters:
        return None
    return LateLetters(about=about, arrives_on=arrives, letters=tuple(letters))


# --- checking, previewing, announcing -----------------------------------------------------------


async def class_policy(ctx: Context, tx: Repositories, class_ref: str) -> SchoolPolicy:
    """The policy of the school of the class `class_ref` names (`SchoolPolicy.for_school`);
    the board's when no class is found (the caller's own check then says so)."""
    if not ctx.policy.own:
        return ctx.policy
    found = await tx.roster.find_classes(class_ref)
    if not found:
        return ctx.policy
    return await policy_of_school(tx.roster, ctx.policy, found[0].school_id)


async def _check(
    ctx: Context, tx: Repositories, draft: AnnouncementDraft, lang: str | None = None
) -> tuple[ClassRoster, Person, str, str]:
    """Rules 7, 4 and 5 in that order, by the policy of the class's school; returns (roster,
    author, body, signature) or raises. `lang`: the school's language when None."""
    school_class = await resolve_class(tx, draft.class_id)
    roster = await tx.roster.class_roster(school_class.id)
    policy = ctx.policy.for_school(roster.school)
    lang = lang or policy.language
    author = await tx.roster.person(draft.author_id)
    authorization.require_staff_of_class(author, roster)
    assert author is not None
    kinds.validate_draft(
        draft, policy.allowed_kinds, today=local_today(ctx.clock.now(), policy.timezone)
    )
    free_text = "\n".join(t for t in (draft.subject, draft.text) if t)
    pupils = await protected_pupils(tx, roster)
    content.check_content(free_text, pupils, policy.public_contacts)
    body = kinds.render_body(
        draft.kind,
        class_code=roster.school_class.code,
        date=draft.date,
        period=draft.period,
        subject=draft.subject,
        text=draft.text,
        lang=lang,
    )
    school_name = policy.school_name_of(roster.school)
    return roster, author, body, signature.signature(author, roster, lang, school_name)


async def _audit_refusal(
    ctx: Context, error: KlasbotError, draft: AnnouncementDraft, source: str
) -> None:
    await ctx.audit_refusal(
        error, actor=draft.author_id, class_ref=draft.class_id, kind=draft.kind, source=source
    )


async def group_views(ctx: Context, tx: Repositories, class_id: str) -> list[GroupView]:
    views = []
    for group in await tx.groups.list(class_id):
        views.append(
            group_view(
                group,
                ctx.policy.min_age(group.platform),
                await tx.groups.members(group.id),
                await tx.accounts.linked_persons(group.platform),
            )
        )
    return views


async def _routes(ctx: Context, tx: Repositories, roster: ClassRoster) -> list[Route]:
    policy = ctx.policy.for_school(roster.school)
    return route_class(
        roster.pupils,
        today=local_today(ctx.clock.now(), policy.timezone),
        groups=await group_views(ctx, tx, roster.school_class.id),
        guardians=roster.guardians,
        pupil_email_from_age=policy.pupil_email_from_age,
    )


def _unreachable_names(routes: list[Route], roster: ClassRoster) -> tuple[str, ...]:
    names = {p.id: p.full_name for p in roster.pupils}
    return tuple(
        names.get(r.pupil_id, r.pupil_id) for r in routes if r.channel == Channel.UNREACHABLE
    )


async def preview(ctx: Context, draft: AnnouncementDraft, *, source: str = "cli") -> Preview:
    """The signed text as the group will see it, after every rule, with what the author should
    know before confirming: that it repeats an announcement (`find_repeat`) and which letters
    come too late (`late_letters`). Stores nothing but a refusal (rule 10)."""
    now = ctx.clock.now()
    try:
        async with ctx.db.transaction() as tx:
            roster, _, body, sig = await _check(ctx, tx, draft)
            repeat = await find_repeat(tx, roster.school_class.id, draft, now)
            routes = await _routes(ctx, tx, roster)
    except KlasbotError as error:
        await _audit_refusal(ctx, error, draft, source)
        raise
    policy = ctx.policy.for_school(roster.school)
    late = late_letters(policy, draft.date, routes, roster, sending_day(policy, draft, now))
    return Preview(f"{body}\n\n{sig}", repeat, late, silent=_silent(policy, draft, now))


def _silent(policy: SchoolPolicy, draft: AnnouncementDraft, now: datetime) -> bool:
    """Whether the group post will go out silently: lessons run when it is sent (after the
    quiet hours, when they hold it)."""
    due = max(now, draft.not_before) if draft.not_before else now
    return policy.silent(policy.release_at(due, draft.kind) or due, draft.kind)


def _fallback_events(announcement: Announcement, routes: list[Route]) -> list[AuditEvent]:
    return [
        AuditEvent(
            "fallback-delivery" if route.channel != Channel.UNREACHABLE else "unreachable",
            announcement.created_at,
            announcement.author_id,
            (route.pupil_id, *(r.person_id for r in route.recipients)),
            {
                "announcement": announcement.id,
                "class_id": announcement.class_id,
                "channel": route.channel.value,
                "reason": route.reason.value if route.reason else None,
            },
            (announcement.class_id,),
        )
        for route in routes
        if route.channel != Channel.GROUP
    ]


def _may_repeat(again: bool | int, earlier: Announcement) -> bool:
    if isinstance(again, bool):
        return again
    return again == earlier.id


async def _queue_call_list(
    tx: Repositories,
    policy: SchoolPolicy,
    announcement: Announcement,
    author: Person,
    class_code: str,
    late: LateLetters,
) -> LateLetters:
    notice = LateLettersNotice(
        announcement_id=announcement.id,
        class_code=class_code,
        summary=announcement.body,
        date=late.about.isoformat(),
        arrives_on=late.arrives_on.isoformat(),
        entries=tuple(letter.call for letter in late.letters),
        school_name=await school_name_for(tx.roster, policy, announcement.class_id),
    )
    mailed = await add_mail_notice(
        tx,
        notice,
        person_id=author.id,
        to=[author.email],
        key=notice_key("late-letters", announcement.id),
    )
    return replace(late, mailed=mailed)


async def announce(
    ctx: Context, draft: AnnouncementDraft, *, source: str = "cli", again: bool | int = False
) -> AnnounceResult:
    """Check the rules, store the announcement and one delivery per pupil, in one transaction.

    A repeat (`find_repeat`) raises `AlreadySent` unless `again` allows it: True sends it
    anyway (`klasbot announce --again`); an announcement id sends it anyway when that is the
    announcement it repeats (the one the chat preview named, so that a colleague's identical
    announcement made in between is still asked about)."""
    try:
        async with ctx.db.transaction() as tx:
            return await announce_in(ctx, tx, draft, source=source, again=again)
    except KlasbotError as error:
        await _audit_refusal(ctx, error, draft, source)
        raise


async def announce_in(
    ctx: Context,
    tx: Repositories,
    draft: AnnouncementDraft,
    *,
    source: str,
    again: bool | int = False,
    schedule_id: int | None = None,
) -> AnnounceResult:
    """`announce` inside the caller's transaction `tx` (a schedule's firing is recorded in the
    same one, `bot.usecases.scheduling`). Raises before it writes anything when a rule refuses;
    the refusal is the caller's to audit."""
    now = ctx.clock.now()
    roster, author, body, sig = await _check(ctx, tx, draft)
    policy = ctx.policy.for_school(roster.school)
    # Announcements to one class take turns (PostgreSQL: an advisory lock; SQLite's
    # transactions already do): two identical ones at the same instant cannot both
    # pass the repeat check.
    await tx.state.lock("klasbot", f"announce:{roster.school_class.id}")
    repeat = await find_repeat(tx, roster.school_class.id, draft, now)
    if repeat is not None and not _may_repeat(again, repeat):
        raise AlreadySent(repeat, policy.timezone, now)
    announcement = Announcement(
        id=0,
        class_id=roster.school_class.id,
        kind=draft.kind,
        author_id=author.id,
        created_at=now,
        body=body,
        signature=sig,
        date=draft.date,
        period=draft.period,
        subject=draft.subject,
        text=draft.text,
        not_before=draft.not_before,
        schedule_id=schedule_id,
    )
    announcement = replace(announcement, id=await tx.announcements.add(announcement))
    routes = await _routes(ctx, tx, roster)
    held_until = await add_announcement_rows(tx, policy, announcement, routes, now)
    counts = {c.value: 0 for c in Channel}
    for route in routes:
        counts[route.channel.value] += 1
    unreachable = tuple(r.pupil_id for r in routes if r.channel == Channel.UNREACHABLE)
    told = await add_unreachable_warning(tx, policy, announcement, unreachable, now=now)
    late = late_letters(policy, draft.date, routes, roster, sending_day(policy, draft, now))
    if late is not None:
        late = await _queue_call_list(
            tx, policy, announcement, author, roster.school_class.code, late
        )
    await ctx.audit(
        tx,
        "announcement",
        author.id,
        [r.pupil_id for r in routes],
        announcement=announcement.id,
        class_id=roster.school_class.id,
        kind=draft.kind,
        source=source,
        channels=counts,
        repeat_of=repeat.id if repeat else None,
        late_letters=[x.pupil_id for x in late.letters] if late else [],
        schedule=schedule_id,
    )
    await tx.audit.add(_fallback_events(announcement, routes))
    return AnnounceResult(
        announcement,
        counts,
        held_until,
        unreachable,
        unreachable_names=_unreachable_names(routes, roster),
        told=told,
        late=late,
        repeat_of=repeat.id if repeat else None,
    )
