"""The school's choices that the rules depend on, as one plain value built by the bootstrap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.domain import ContactPreference, Holiday, Kind, Person, School, SchoolClass
from bot.ports import PlatformCapabilities
from bot.rules import lesson_hours as lessons
from bot.rules.age import effective_minimum
from bot.rules.content import NO_PUBLIC_CONTACTS, PublicContacts
from bot.rules.kinds import DEFAULT_ALLOWED_KINDS
from bot.rules.lesson_hours import LessonHours
from bot.rules.quiet_hours import QuietHours


@dataclass(frozen=True, slots=True)
class SchoolPolicy:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Amsterdam"))
    language: str = "nl"
    allowed_kinds: tuple[Kind, ...] = DEFAULT_ALLOWED_KINDS
    quiet_hours: QuietHours | None = field(default_factory=QuietHours)
    pupil_email_from_age: int | None = 16
    leadership_emails: tuple[str, ...] = ()
    invite_valid_days: int = 14
    school_name: str = ""
    """The configured `school.name`; empty: the roster's (ask `name_of_school`)."""
    reply_to: str | None = None
    public_contacts: PublicContacts = NO_PUBLIC_CONTACTS
    """The school's own published phone numbers, addresses and IBANs: rule 5 allows them."""
    post_delivery_days: int = 2
    """Working days a letter takes to arrive (`bot.rules.post`)."""
    digest_at: time = time(16, 0)
    """When the day's overview of pupils nobody reached goes out (`bot.outbox`), school time."""
    lesson_hours: LessonHours | None = field(
        default_factory=lambda: LessonHours.parse("08:30-16:00")
    )
    """When lessons run (A.1): group posts then are silent (`bot.rules.lesson_hours`)."""
    holidays: tuple[Holiday, ...] = ()
    """The configured holiday periods (`school.holidays`); imported ones are in storage."""
    year_end: tuple[int, int] = (7, 31)
    """The school year's last day, (month, day) (`bot.rules.school_calendar`)."""
    retention_years: int = 1
    """How many school years after the end of its school year a record is kept (`purge`)."""
    sweep_at: time = time(7, 0)
    """When the daily sweep runs, school time (`bot.usecases.sweep`)."""
    schedule_grace: timedelta = timedelta(hours=1)
    """How late an occurrence missed while klasbot was down may still fire."""
    schedule_min_interval: timedelta = timedelta(days=1)
    """The shortest time between two occurrences of a recurring reminder."""
    schedule_max_per_class: int = 20
    """The most active schedules a class may have."""
    platforms: dict[str, PlatformCapabilities] = field(default_factory=dict)
    """Every platform klasbot knows, with what it declares it can do and the minimum age the
    school configured for it: the same table for every command, whether the platform is
    connected in this process or not."""
    letterhead: tuple[str, ...] = ()
    """The lines at the top of the school's letters (`post.letterhead`, or the school's own)."""
    return_address: str | None = None
    """The return address above the window of the school's letters."""
    own: Mapping[str, SchoolPolicy] = field(default_factory=dict)
    """A board's schools with settings of their own (`[schools."…"]`), keyed as the
    configuration names them: by the roster's sourcedId or by the school's identifier. Ask
    `for_school`; every other school follows this (the board's) policy."""
    chat_bots: dict[str, str | None] = field(default_factory=dict)
    """The chat platforms the school configured (the terminal console is none), each with the
    bot's account as people look it up there, when the configuration names it: Telegram's
    username (`telegram.username`; None: the one `klasbot run` stored), Matrix's user id.
    Invitations say how to join on these."""

    def for_school(self, school: School | None) -> SchoolPolicy:
        """The policy of `school`: its own `[schools."…"]` settings (by sourcedId, else by
        identifier) on top of the board's, or the board's when it has none. Every rule and text
        about a class asks this of the class's school."""
        if school is None or not self.own:
            return self
        found = self.own.get(school.id)
        if found is None and school.identifier:
            found = self.own.get(school.identifier)
        return found or self

    def name_of_school(self, schools: Sequence[School], school_id: str | None = None) -> str:
        """The school's name as every e-mail, letter and signature says it, never blank while
        the roster names a school: the configured name of `school_id`'s school (its own
        `[schools."…"]` name, else `school.name`); else the roster's name of `school_id` (the
        school of the class concerned); else the roster's first school by id."""
        school = next((s for s in schools if s.id == school_id), None)
        policy = self.for_school(school)
        if policy.school_name.strip():
            return policy.school_name.strip()
        named = {
            s.id: s.name.strip() for s in sorted(schools, key=lambda s: s.id) if s.name.strip()
        }
        if school_id is not None and school_id in named:
            return named[school_id]
        return next(iter(named.values()), "")

    def school_name_of(self, school: School) -> str:
        """`name_of_school` for one school the caller holds."""
        return self.name_of_school([school], school.id)

    def replies_to(self, author_email: str | None = None) -> str | None:
        """Where replies to a mail go: the school's configured `school.reply_to`; else, for an
        announcement's copy, its author's own address (parents answer the teacher who wrote
        it); else no Reply-To."""
        return self.reply_to or author_email or None

    def min_age(self, platform: str) -> int:
        """Rule 1: the effective minimum age for a group on `platform` (13, or more when the
        platform or the school demands it)."""
        capabilities = self.platforms.get(platform)
        return effective_minimum(capabilities.min_age if capabilities else None)

    def silent(self, instant: datetime, kind: Kind | str | None) -> bool:
        """A.1, decided here for every caller: whether a group post of `kind` going out at
        `instant` is sent silently (lessons are running)."""
        return lessons.silent(self.lesson_hours, instant, self.timezone, kind)

    def school_year_end(self, today: date) -> date:
        """The last day of the school year `today` falls in."""
        from bot.rules.school_calendar import school_year_end

        return school_year_end(today, self.year_end)

    def capabilities(self, platform: str) -> PlatformCapabilities | None:
        return self.platforms.get(platform)

    def release_at(self, instant: datetime, kind: Kind) -> datetime | None:
        """Rule 8, decided here for every caller: when something of `kind` that is due at
        `instant` may go out, or None when it may go out then."""
        if self.quiet_hours is None:
            return None
        return self.quiet_hours.release_at(instant, self.timezone, kind)


class _Roster(Protocol):
    """What `school_name_for` and `leadership_for` read of the roster
    (`bot.repositories.RosterRepository`)."""

    async def classes(self) -> list[tuple[SchoolClass, School, int, int]]: ...

    async def leadership(self, school_id: str | None) -> list[Person]: ...

    async def schools(self) -> list[School]: ...


async def school_name_for(
    roster: _Roster, policy: SchoolPolicy, class_id: str | None = None
) -> str:
    """`policy.name_of_school` for the school of `class_id` (a class's sourcedId; None for a
    notice about no class), read from the roster. Every notice builder asks this."""
    if policy.school_name.strip() and not policy.own:
        return policy.school_name.strip()
    classes = await roster.classes()
    schools = {school.id: school for _, school, _, _ in classes}
    school_id = next((c.school_id for c, *_ in classes if c.id == class_id), None)
    return policy.name_of_school(list(schools.values()), school_id)


async def policy_of_school(
    roster: _Roster, policy: SchoolPolicy, school_id: str | None
) -> SchoolPolicy:
    """`policy.for_school` for the school with sourcedId `school_id`, read from the roster
    (which knows its identifier); the board's policy for None or a school it does not know."""
    if not policy.own or school_id is None:
        return policy
    if school_id in policy.own:
        return policy.own[school_id]
    school = next((s for s in await roster.schools() if s.id == school_id), None)
    return policy.for_school(school)


async def leadership_for(
    roster: _Roster, policy: SchoolPolicy, school_id: str | None
) -> tuple[str, ...]:
    """Rule 9, decided here for every caller: the addresses school leadership is mailed at about
    `school_id` (a report, an escalation, a lost group, a throttled account). The roster's persons
    with a leadership role of that school who have an e-mail address and may be e-mailed, then
    the configured `school.leadership_emails`; each address once. With no school (a person
    enrolled nowhere), the leadership of every school. Empty: nobody is known, and the callers
    say so (`klasbot doctor`, `klasbot run`, the reporter's reply)."""
    persons = await roster.leadership(school_id)
    found = [p.email for p in persons if p.email and p.preference == ContactPreference.DEFAULT]
    configured = (await policy_of_school(roster, policy, school_id)).leadership_emails
    if school_id is None:  # about every school: every school's configured leadership too
        configured = tuple(a for p in (policy, *policy.own.values()) for a in p.leadership_emails)
    seen: dict[str, str] = {}
    for address in (*found, *configured):
        seen.setdefault(address.lower(), address)
    return tuple(seen.values())
