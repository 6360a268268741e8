"""Rule 2 (roster-only membership) together with rule 1 (13+), protocol B.1 and A.2.

Only persons linked to the roster may be in a class group: the eligible pupils of that class, the
class's staff and the bot. Everyone else is removed at once (and the removal is logged by the
caller). Pure functions: the caller supplies the roster and the school's date.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from bot.domain import ClassRoster, MemberState, Person
from bot.rules.age import MINIMUM_AGE, effective_minimum, is_old_enough


class Verdict(enum.StrEnum):
    PUPIL = "pupil"
    STAFF = "staff"
    STRANGER = "stranger"  # not linked, or not of this class
    UNDER_13 = "under-13"
    AGE_UNKNOWN = "age-unknown"
    PLATFORM_AGE = "platform-age"


@dataclass(frozen=True, slots=True)
class Admission:
    verdict: Verdict

    @property
    def allowed(self) -> bool:
        return self.verdict in (Verdict.PUPIL, Verdict.STAFF)


def admission(
    person: Person | None,
    roster: ClassRoster,
    today: date,
    platform_min_age: int | None = None,
    *,
    archived: bool = False,
) -> Admission:
    """May `person` be a member of this class's group today, on a platform with this minimum?
    An `archived` group (its school year ended) admits no pupil: the class's pupils are
    reached by e-mail or letter until a new year's group exists."""
    if person is None:
        return Admission(Verdict.STRANGER)
    if any(s.id == person.id for s in roster.staff):
        return Admission(Verdict.STAFF)
    if archived or not any(p.id == person.id for p in roster.pupils):
        return Admission(Verdict.STRANGER)
    return Admission(pupil_age_verdict(person, today, platform_min_age))


def pupil_age_verdict(pupil: Person, today: date, platform_min_age: int | None = None) -> Verdict:
    if pupil.birth_date is None:
        # Without a birth date the 13+ rule cannot be shown to hold, so the pupil stays out.
        return Verdict.AGE_UNKNOWN
    if not is_old_enough(pupil.birth_date, today, MINIMUM_AGE):
        return Verdict.UNDER_13
    if not is_old_enough(pupil.birth_date, today, effective_minimum(platform_min_age)):
        return Verdict.PLATFORM_AGE
    return Verdict.PUPIL


def is_present(state: MemberState) -> bool:
    """Whether the person is in the group now (as the platform last told us)."""
    return state == MemberState.MEMBER


def has_departed(state: MemberState) -> bool:
    """Whether the person left the group or was removed from it: they count as gone (reason
    `left-group`) until they are admitted again."""
    return state in (MemberState.LEFT, MemberState.REMOVED)
