"""What every use case needs: the unit of work, the clock, the school's policy and the connected
chat platforms, plus the small helpers all of them share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeGuard
from uuid import uuid4

from bot import metrics
from bot.domain import AuditEvent, ClassRoster, Person, SchoolClass
from bot.errors import Ambiguous, KlasbotError, NotFound
from bot.messages import M_CLASS_AMBIGUOUS, M_CLASS_NOT_FOUND, M_PERSON_NOT_FOUND
from bot.policy import SchoolPolicy
from bot.ports import ChatPlatform, Clock
from bot.repositories import Repositories, UnitOfWork
from bot.rules.age import local_today


@dataclass
class Context:
    db: UnitOfWork
    clock: Clock
    policy: SchoolPolicy
    platforms: dict[str, ChatPlatform] = field(default_factory=dict)
    """The platforms connected in this process (a command that only stores needs none)."""

    def today(self) -> date:
        return local_today(self.clock.now(), self.policy.timezone)

    def event(
        self, kind: str, actor: str | None, persons: Sequence[str], /, **details: Any
    ) -> AuditEvent:
        """An audit event; it is tied to the class its details name (`class_id`, or every one
        of `class_ids`), so that it is in that class's dossier too."""
        classes = [str(c) for c in details.get("class_ids") or () if c]
        if details.get("class_id"):
            classes.append(str(details["class_id"]))
        return AuditEvent(
            kind, self.clock.now(), actor, tuple(persons), details, tuple(sorted(set(classes)))
        )

    async def audit(
        self,
        tx: Repositories,
        kind: str,
        actor: str | None,
        persons: Sequence[str],
        /,
        **details: Any,
    ) -> None:
        await tx.audit.add([self.event(kind, actor, persons, **details)])
        if kind == "refusal":
            metrics.refused(details.get("rule"), details.get("code"))

    async def audit_refusal(
        self, error: KlasbotError, *, actor: str | None, persons: Sequence[str] = (), **details: Any
    ) -> None:
        """Rule 10: a refusal is an audit event too (in its own transaction: the request was
        not kept). It is tied to the class it was about when the details say which: `class_id`,
        a `class_ref` only one class answers to, an `announcement` or a `schedule` id."""
        async with self.db.transaction() as tx:
            known = actor if actor and await tx.roster.person(actor) else None
            if not details.get("class_id") and not details.get("class_ids"):
                class_id = await _class_named(tx, details)
                if class_id is not None:
                    details["class_id"] = class_id
            await self.audit(
                tx,
                "refusal",
                known,
                [p for p in persons if p],
                code=getattr(error, "code", type(error).__name__),
                rule=getattr(error, "rule", None),
                message=str(error),
                **details,
            )


def _row_id(value: object) -> TypeGuard[int]:
    """Whether `value` can be a row's id (a refused request may name one no database holds)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


async def _class_named(tx: Repositories, details: dict[str, Any]) -> str | None:
    """The class a refused request named, if one can be told: a class reference (classCode or
    sourcedId) that exactly one class answers to, else the class of the announcement or
    schedule it was about."""
    ref = details.get("class_ref")
    if isinstance(ref, str) and ref.strip():
        found = await tx.roster.find_classes(ref)
        if len(found) == 1:
            return found[0].id
    announcement_id = details.get("announcement")
    if _row_id(announcement_id):
        announcement = await tx.announcements.get(announcement_id)
        if announcement is not None:
            return announcement.class_id
    schedule_id = details.get("schedule")
    if _row_id(schedule_id):
        schedule = await tx.schedules.get(schedule_id)
        if schedule is not None:
            return schedule.class_id
    return None


async def resolve_class(tx: Repositories, ref: str) -> SchoolClass:
    found = await tx.roster.find_classes(ref)
    if not found:
        raise NotFound(M_CLASS_NOT_FOUND, ref=ref)
    if len(found) > 1:
        raise Ambiguous(
            M_CLASS_AMBIGUOUS, ref=ref, candidates=", ".join(sorted(c.id for c in found))
        )
    return found[0]


async def require_person(tx: Repositories, ref: str) -> Person:
    person = await tx.roster.person(ref)
    if person is None:
        raise NotFound(M_PERSON_NOT_FOUND, ref=ref)
    return person


ROSTER_GENERATION = ("klasbot", "roster-generation")
"""The `PlatformStateRepository` key that changes whenever the roster's persons do (an import
that changed something, an erasure): what a process may keep of the roster is valid while it
stays the same, in every process sharing the database."""

_school_pupils: dict[str, tuple[str, tuple[Person, ...], frozenset[str]]] = {}
"""Per school: (roster generation, its pupils, their ids), for `protected_pupils`."""


async def roster_changed(tx: Repositories) -> None:
    """Say that the roster's persons changed (in the caller's transaction): every process reads
    them again (`protected_pupils`)."""
    await tx.state.set(*ROSTER_GENERATION, uuid4().hex)


async def protected_pupils(tx: Repositories, roster: ClassRoster) -> tuple[Person, ...]:
    """Whose names rule 5 looks for in a text to the roster's class: every pupil of its school
    (A.2 protects every member of the school community). The same tuple for every class of a
    school, so that the names index built from it is reused (`bot.rules.names` caches by it).
    Read once per roster generation (`roster_changed`), not for every announcement: a school of
    1,500 pupils took three quarters of an announcement's time."""
    school_id = roster.school_class.school_id
    generation = await tx.state.get(*ROSTER_GENERATION)
    cached = _school_pupils.get(school_id)
    if generation is not None and cached is not None and cached[0] == generation:
        _, pupils, known = cached
    else:
        pupils = tuple(await tx.roster.school_pupils(school_id))
        known = frozenset(p.id for p in pupils)
        if generation is not None:
            _school_pupils[school_id] = (generation, pupils, known)
    extra = tuple(p for p in roster.pupils if p.id not in known)
    return (*pupils, *extra) if extra else pupils
