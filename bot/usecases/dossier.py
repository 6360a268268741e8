"""GDPR art. 15 (`klasbot dossier export PERSON`): everything klasbot keeps about a person — or
about a class — and nothing that identifies anyone else (SPEC rule 10, the protocol's sanctions
2 and 5: the correspondence about a breach is kept in the dossier).

A person's dossier holds their roster record, linked accounts, link codes (dates only: a code is
kept as a hash and never shown), group memberships, every audit event tied to them, every
delivery to them (a pupil's copies, and for a guardian those they received), and what they
authored: announcements, reports and scheduled messages. A class's dossier holds every audit
event tied to the class, its announcements, its scheduled messages and the reports from it.

Who appears how is decided here, once (`_Redactor`):
- the person the dossier is about appears in full;
- every other person — pupils, guardians, anyone not staff — appears by their pseudonym
  (`bot.pseudonyms`), in every id field and inside every free text (audit details, report and
  announcement texts): their given, preferred and family names (found as rule 5 finds pupil names,
  `bot.rules.names`, here also where a word-name is capitalised), their e-mail addresses, their ids
  and other people's platform accounts are replaced. A name the person shares with someone else
  (a sibling's family name) stays: it is theirs too;
- staff appear by name and function where they acted in their function (the actor of an event, the
  author of an announcement with its signature); elsewhere, and their e-mail addresses always, by
  pseudonym.

The export itself is an audit event (`dossier-exported`), tied to the person or the class, with the
admin (their login, `by`) and the formats. Rendering is the callers' (`Dossier.to_json`, and
`bot.dossier_text.readable` for a table or a PDF): this module decides what is in it.

The JSON export (`klasbot dossier export --json`) has these top-level keys, always all of them:
- `person` (a person's dossier: id, role, roles, names, full_name, birth_date, email, address,
  contact_preference, language, share_with_guardians, schools, guardians, wards) or `class` (a
  class's: id, code, title, school, pupils and staff counted);
- `generated_at`; `accounts` (platform, account_id, linked_at); `classes` (id, code, title, role,
  mentor); `memberships` (group, class, platform, state, account_id); `invites` (created_at,
  expires_at, used_at, state);
- `events` (kind, at, actor, persons, classes, details); `deliveries` (id, announcement, kind,
  class, pupil, channel, reason, status, created_at, due_at — null: at once —, sent_at,
  recipients); `announcements`, `reports`, `schedules` (what the person authored; a class's
  own);
- `pseudonyms_note`: how to read the pseudonyms, in the school's language.
Times are ISO 8601 in the school's time zone. An actor is `{"id", "name"}` for the person
themself, `{"name", "function"}` for staff, `{"id": pseudonym}` for anyone else, `{"name"}` for
an admin's login; null when the system acted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.dates import local_iso
from bot.domain import (
    Announcement,
    AuditEvent,
    Delivery,
    Person,
    Report,
    Role,
    Schedule,
    School,
    SchoolClass,
)
from bot.errors import NotFound
from bot.i18n import Msg
from bot.outbox import DUE_AT_ONCE
from bot.pseudonyms import pseudonym, pseudonym_key
from bot.repositories import Repositories
from bot.rules.names import NameIndex
from bot.usecases.context import Context, resolve_class
from bot.usecases.throttling import account_ref

EXPORTED = "dossier-exported"
"""The audit event of an export."""

SECTIONS = (
    "accounts",
    "classes",
    "memberships",
    "invites",
    "events",
    "deliveries",
    "announcements",
    "reports",
    "schedules",
)
"""The dossier's lists, in the order of the JSON export and the readable one."""

M_NOTHING_TO_EXPORT = Msg(
    "{ref!r} is neither a person nor a class in the roster (give a person's sourcedId, or a "
    "class code or sourcedId)"
)
M_PSEUDONYMS_NOTE = Msg(
    "Other people appear by a pseudonym (person-…): one person has the same pseudonym throughout "
    "this export and in every other export of this installation; only the school can tell who it "
    "is. Staff appear by name and function where they acted in their function. Link codes are "
    "kept only as a fingerprint, so none appear here."
)

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_ACCOUNT_REF = re.compile(r"\bacct-[0-9a-f]{16}\b")
_ACCOUNT_KEYS = frozenset({"account", "account_id"})
_SHORTEST_ID_IN_TEXT = 3
"""Shorter ids are not looked for inside free text (they would match ordinary words)."""


# --- the dossier -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dossier:
    """What an export holds, already pseudonymised. Values are JSON types, dates and aware
    datetimes (`to_json` writes the datetimes in the school's time)."""

    generated_at: datetime
    school_name: str
    """Whose letterhead a printed dossier carries."""
    pseudonyms_note: str
    person: dict[str, Any] | None = None
    school_class: dict[str, Any] | None = None
    accounts: list[dict[str, Any]] = field(default_factory=list)
    classes: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)
    invites: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    announcements: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self, tz: ZoneInfo) -> dict[str, Any]:
        """The export's JSON: `person` (or `class`), `generated_at`, the lists of `SECTIONS` and
        `pseudonyms_note`; times in ISO 8601 in the school's time zone."""
        head = {"person": self.person} if self.person is not None else {"class": self.school_class}
        data: dict[str, Any] = {
            **head,
            "generated_at": self.generated_at,
            **{name: getattr(self, name) for name in SECTIONS},
            "pseudonyms_note": self.pseudonyms_note,
        }
        jsonable: dict[str, Any] = _jsonable(data, tz)
        return jsonable


def _jsonable(value: Any, tz: ZoneInfo) -> Any:
    if isinstance(value, datetime):
        return local_iso(value, tz)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v, tz) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v, tz) for v in value]
    return value


# --- who appears how ---------------------------------------------------------------------------


def _function(person: Person) -> str:
    return Role.LEADERSHIP.value if person.has_role(Role.LEADERSHIP) else Role.TEACHER.value


class _Redactor:
    """Replaces everyone but `subject` by their pseudonym (see the module docstring)."""

    def __init__(
        self,
        key: bytes,
        subject: Person | None,
        others: Iterable[Person],
        ids: Iterable[str],
        subject_accounts: Iterable[str] = (),
    ) -> None:
        self.key = key
        self.subject = subject
        own = subject.id if subject is not None else None
        self.people = {p.id: p for p in others if p.id != own}
        self.ids = (set(ids) | set(self.people)) - {own, None, ""}
        own_email = (subject.email or "").lower() if subject is not None else ""
        self.emails = {
            p.email.lower(): p.id for p in self.people.values() if p.email and p.email.lower()
        }
        self.emails.pop(own_email, None)
        # The subject is in the index too: a name that is also theirs is not replaced.
        self.names = NameIndex.build([*self.people.values(), *([subject] if subject else [])])
        in_text = sorted(
            (i for i in self.ids if len(i) >= _SHORTEST_ID_IN_TEXT), key=lambda i: (-len(i), i)
        )
        self.id_pattern = (
            re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, in_text)) + r")(?![\w-])")
            if in_text
            else None
        )
        self.own_accounts = set(subject_accounts)

    @property
    def subject_id(self) -> str | None:
        return self.subject.id if self.subject is not None else None

    def id(self, person_id: str | None) -> str | None:
        if person_id is None or person_id == self.subject_id:
            return person_id
        return pseudonym(person_id, self.key)

    def account(self, value: str) -> str:
        if value in self.own_accounts:
            return value
        digest = hmac.new(self.key, f"account\x1f{value}".encode(), hashlib.sha256).hexdigest()
        return f"account-{digest[:10]}"

    def actor(self, who: str | None) -> dict[str, Any] | None:
        """Who did something: the subject in full, staff by name and function, anyone else by
        pseudonym; a value that is no person (an admin's login) as it is."""
        if who is None:
            return None
        if self.subject is not None and who == self.subject.id:
            return {"id": who, "name": self.subject.full_name}
        person = self.people.get(who)
        if person is not None and person.is_staff:
            return {"name": person.signature_name, "function": _function(person)}
        if who in self.ids:
            return {"id": self.id(who)}
        return {"name": self.text(who)}

    def value(self, value: Any, key: str | None = None) -> Any:
        """A stored value (an event's details), every string in it pseudonymised."""
        if isinstance(value, str):
            if key in _ACCOUNT_KEYS:
                return self.account(value)
            if value in self.ids:
                return self.id(value)
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v, key) for v in value]
        return value

    def text(self, text: str | None) -> str | None:
        """A free text with every other person's e-mail address, id, account and name replaced
        by their pseudonym."""
        if not text:
            return text
        spans: list[tuple[int, int, str]] = []
        for m in _EMAIL.finditer(text):
            owner = self.emails.get(m.group().lower())
            if owner is not None:
                spans.append((m.start(), m.end(), pseudonym(owner, self.key)))
        if self.id_pattern is not None:
            spans += [
                (m.start(), m.end(), pseudonym(m.group(), self.key))
                for m in self.id_pattern.finditer(text)
            ]
        spans += [
            (m.start(), m.end(), self.account(m.group()))
            for m in _ACCOUNT_REF.finditer(text)
            if m.group() not in self.own_accounts
        ]
        for start, end, owners in self.names.occurrences(text):
            if owners and self.subject_id not in owners:
                names = sorted({pseudonym(o, self.key) for o in owners})
                spans.append((start, end, "/".join(names)))
        if not spans:
            return text
        out, pos = [], 0
        for start, end, replacement in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
            if start < pos:
                continue  # inside a longer replacement already made
            out += [text[pos:start], replacement]
            pos = end
        out.append(text[pos:])
        return "".join(out)


# --- the use case ------------------------------------------------------------------------------


async def export(
    ctx: Context, ref: str, *, by: str | None = None, formats: Sequence[str] = ("json",)
) -> Dossier:
    """The dossier of the person `ref` (a sourcedId), or else of the class `ref` (a class code
    or sourcedId); the export is audited (`by`: the admin's login; `formats`: how it is handed
    out). Raises NotFound when `ref` is neither, Ambiguous for a class code of several schools."""
    async with ctx.db.transaction() as tx:
        person = await tx.roster.person(ref)
        fmt = ",".join(formats)
        if person is not None:
            dossier = await _person_dossier(ctx, tx, person)
            await ctx.audit(tx, EXPORTED, None, [person.id], by=by, format=fmt)
            return dossier
        if not await tx.roster.find_classes(ref):
            raise NotFound(M_NOTHING_TO_EXPORT, ref=ref)
        school_class = await resolve_class(tx, ref)
        dossier = await _class_dossier(ctx, tx, school_class)
        await ctx.audit(tx, EXPORTED, None, [], class_id=school_class.id, by=by, format=fmt)
        return dossier


async def _schools(tx: Repositories) -> tuple[dict[str, SchoolClass], dict[str, School]]:
    classes: dict[str, SchoolClass] = {}
    schools: dict[str, School] = {}
    for school_class, school, _pupils, _staff in await tx.roster.classes():
        classes[school_class.id] = school_class
        schools[school.id] = school
    return classes, schools


async def _others(
    tx: Repositories, school_ids: Iterable[str], referenced: Iterable[str]
) -> list[Person]:
    """Everyone whose name or address may stand in the dossier: every pupil of the schools
    involved (as rule 5 protects them, A.2), their guardians, and everyone the records name."""
    pupils: dict[str, Person] = {}
    for school_id in sorted(set(school_ids)):
        pupils.update((p.id, p) for p in await tx.roster.school_pupils(school_id))
    guardians = {g for p in pupils.values() for g in p.guardian_ids}
    found = await tx.roster.persons(guardians | set(referenced))
    return [*pupils.values(), *(p for i, p in sorted(found.items()) if i not in pupils)]


def _event_ids(events: Iterable[AuditEvent]) -> set[str]:
    return {i for e in events for i in (*e.person_ids, e.actor_id) if i}


async def _person_dossier(ctx: Context, tx: Repositories, person: Person) -> Dossier:
    key = await pseudonym_key(tx)
    classes, schools = await _schools(tx)
    enrollments = await tx.roster.enrollments_of(person.id)
    wards = await tx.roster.wards_of(person.id)
    involved = {e.class_id for e in enrollments if e.class_id in classes}
    for ward in wards:
        involved |= {e.class_id for e in await tx.roster.enrollments_of(ward)}
    involved &= set(classes)
    school_ids = set(person.school_ids) | {classes[c].school_id for c in involved}
    # Their teachers may be named in a text without having acted in it.
    staff = {s.id for c in sorted(involved) for s in (await tx.roster.class_roster(c)).staff}
    if not school_ids:
        school_ids = set(schools)

    accounts = await tx.accounts.of_person(person.id)
    memberships = await tx.groups.memberships_of(person.id)
    invites = await tx.invites.of_person(person.id)
    events = await tx.audit.events(person.id)
    deliveries = await tx.outbox.for_person(person.id)
    authored = [a for a in await tx.announcements.list() if a.author_id == person.id]
    reports = [r for r in await tx.reports.list() if r.reporter_id == person.id]
    schedules = [s for s in await tx.schedules.list() if s.author_id == person.id]
    announcements = {a.id: a for a in authored}
    for d in deliveries:
        if d.announcement_id is not None and d.announcement_id not in announcements:
            found = await tx.announcements.get(d.announcement_id)
            if found is not None:
                announcements[found.id] = found

    referenced = (
        _event_ids(events)
        | {d.pupil_id for d in deliveries}
        | {r.person_id for d in deliveries for r in d.recipients}
        | set(person.guardian_ids)
        | set(wards)
        | _authors(authored, reports, schedules)
    )
    closers = _closers(authored, reports, schedules)
    others = await _others(tx, school_ids, referenced | staff | closers)
    own_accounts = {a.account_id for a in accounts} | {
        account_ref(a.platform, a.account_id) for a in accounts
    }
    r = _Redactor(key, person, others, referenced, own_accounts)

    record: dict[str, Any] = {
        "id": person.id,
        "role": person.role.value,
        "roles": sorted(role.value for role in person.roles),
        "given_name": person.given_name,
        "preferred_given_name": person.preferred_given_name or None,
        "middle_name": person.middle_name or None,
        "family_name": person.family_name,
        "full_name": person.full_name,
        "birth_date": person.birth_date,
        "email": person.email,
        "address": (
            {
                "street": person.address.street,
                "postal_code": person.address.postal_code,
                "city": person.address.city,
            }
            if person.address
            else None
        ),
        "contact_preference": person.preference.value,
        "language": person.language,
        "share_with_guardians": person.share_with_guardians,
        "schools": [
            {"id": s, "name": schools[s].name if s in schools else None} for s in sorted(school_ids)
        ],
        "guardians": [r.id(g) for g in person.guardian_ids],
        "wards": [r.id(w) for w in wards],
    }
    groups = [(gid, m, await tx.groups.get(gid)) for gid, m in sorted(memberships.items())]
    first_class = min((e.class_id for e in enrollments), default=None)
    school_id = classes[first_class].school_id if first_class in classes else None
    return Dossier(
        generated_at=ctx.clock.now(),
        school_name=ctx.policy.name_of_school(list(schools.values()), school_id),
        pseudonyms_note=M_PSEUDONYMS_NOTE(ctx.policy.language),
        person=record,
        accounts=[
            {"platform": a.platform, "account_id": a.account_id, "linked_at": a.linked_at}
            for a in accounts
        ],
        classes=[
            {
                "id": e.class_id,
                "code": classes[e.class_id].code if e.class_id in classes else None,
                "title": classes[e.class_id].title if e.class_id in classes else None,
                "role": e.role.value,
                "mentor": e.primary,
            }
            for e in enrollments
        ],
        memberships=[
            {
                "group": gid,
                "class": group.class_id if group else None,
                "platform": group.platform if group else None,
                "state": m.state.value,
                "account_id": r.account(m.account_id),
            }
            for gid, m, group in groups
        ],
        invites=[
            {
                "created_at": i.created_at,
                "expires_at": i.expires_at,
                "used_at": i.used_at,
                "state": (
                    "used"
                    if i.used_at is not None
                    else "expired"
                    if i.expires_at <= ctx.clock.now()
                    else "valid"
                ),
            }
            for i in invites
        ],
        events=[_event(r, e) for e in events],
        deliveries=[_delivery(r, d, announcements.get(d.announcement_id or 0)) for d in deliveries],
        announcements=[_announcement(r, a) for a in authored],
        reports=[_report(r, rep) for rep in reports],
        schedules=[_schedule(r, s) for s in schedules],
    )


async def _class_dossier(ctx: Context, tx: Repositories, school_class: SchoolClass) -> Dossier:
    key = await pseudonym_key(tx)
    _classes, schools = await _schools(tx)
    roster = await tx.roster.class_roster(school_class.id)
    events = await tx.audit.events(class_id=school_class.id)
    announcements = await tx.announcements.list(school_class.id)
    reports = [r for r in await tx.reports.list() if school_class.id in r.class_ids]
    schedules = await tx.schedules.list(school_class.id)
    referenced = _event_ids(events) | _authors(announcements, reports, schedules)
    referenced |= {s.id for s in roster.staff}
    closers = _closers(announcements, reports, schedules)
    others = await _others(tx, [school_class.school_id], referenced | closers)
    r = _Redactor(key, None, others, referenced)
    school = schools.get(school_class.school_id)
    return Dossier(
        generated_at=ctx.clock.now(),
        school_name=ctx.policy.name_of_school(list(schools.values()), school_class.school_id),
        pseudonyms_note=M_PSEUDONYMS_NOTE(ctx.policy.language),
        school_class={
            "id": school_class.id,
            "code": school_class.code,
            "title": school_class.title,
            "school": {"id": school_class.school_id, "name": school.name if school else None},
            "pupils": len(roster.pupils),
            "staff": len(roster.staff),
        },
        events=[_event(r, e) for e in events],
        announcements=[_announcement(r, a) for a in announcements],
        reports=[_report(r, rep) for rep in reports],
        schedules=[_schedule(r, s) for s in schedules],
    )


def _authors(
    announcements: Iterable[Announcement], reports: Iterable[Report], schedules: Iterable[Schedule]
) -> set[str]:
    """The persons who wrote these records."""
    found = {a.author_id for a in announcements} | {s.author_id for s in schedules}
    return found | {r.reporter_id for r in reports if r.reporter_id}


def _closers(
    announcements: Iterable[Announcement], reports: Iterable[Report], schedules: Iterable[Schedule]
) -> set[str]:
    """Who withdrew, closed or cancelled these records: a person of the roster, or an admin's
    login (looked up, and shown as it is when it is no person)."""
    found = {a.withdrawn_by for a in announcements} | {s.cancelled_by for s in schedules}
    return {x for x in found | {r.closed_by for r in reports} if x}


def _event(r: _Redactor, e: AuditEvent) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "at": e.at,
        "actor": r.actor(e.actor_id),
        "persons": [r.id(p) for p in e.person_ids],
        "classes": list(e.class_ids),
        "details": r.value(dict(e.details)),
    }


def _delivery(r: _Redactor, d: Delivery, announcement: Announcement | None) -> dict[str, Any]:
    if announcement is not None:
        kind: str | None = announcement.kind.value
        school_class: str | None = announcement.class_id
    else:
        kind = d.notice.template if d.notice is not None else None
        school_class = getattr(d.notice, "class_code", None)
    return {
        "id": d.id,
        "announcement": d.announcement_id,
        "kind": kind,
        "class": school_class,
        "pupil": r.id(d.pupil_id),
        "channel": d.channel.value,
        "reason": d.reason.value if d.reason else None,
        "status": d.status.value,
        "created_at": announcement.created_at if announcement is not None else None,
        # None: due at once (the outbox's "any time now" is no moment anyone chose).
        "due_at": d.due_at if d.due_at is not None and d.due_at > DUE_AT_ONCE else None,
        "sent_at": d.sent_at,
        "recipients": [r.id(x.person_id) for x in d.recipients],
    }


def _announcement(r: _Redactor, a: Announcement) -> dict[str, Any]:
    return {
        "id": a.id,
        "class": a.class_id,
        "kind": a.kind.value,
        "author": r.actor(a.author_id),
        "created_at": a.created_at,
        "date": a.date,
        "period": a.period,
        "subject": r.text(a.subject),
        "body": r.text(a.body),
        # The author acting in their function (B.2): name, function and school, as posted.
        "signature": a.signature,
        "withdrawn_at": a.withdrawn_at,
        "withdrawn_by": r.actor(a.withdrawn_by),
        "withdraw_reason": r.text(a.withdraw_reason),
        "corrected_at": a.corrected_at,
        "revision": a.revision,
    }


def _report(r: _Redactor, report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "kind": report.kind.value,
        "reporter": r.id(report.reporter_id),
        "created_at": report.created_at,
        "text": r.text(report.text),
        "classes": list(report.class_ids),
        "platform": report.platform,
        "group": report.group_id,
        # How many addresses it went to, not which: leadership's addresses are staff's.
        "forwarded": len(report.forwarded_to),
        "state": report.state.value,
        "closed_at": report.closed_at,
        "closed_by": r.actor(report.closed_by),
        "close_note": r.text(report.close_note),
    }


def _schedule(r: _Redactor, s: Schedule) -> dict[str, Any]:
    return {
        "id": s.id,
        "class": s.class_id,
        "kind": s.kind.value,
        "author": r.actor(s.author_id),
        "text": r.text(s.text),
        "when": s.when,
        "created_at": s.created_at,
        "next_run": s.next_run,
        "cancelled_at": s.cancelled_at,
        "cancelled_by": r.actor(s.cancelled_by),
    }
