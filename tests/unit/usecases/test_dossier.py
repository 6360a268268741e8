"""dossier export (GDPR art. 15): everything concerning a person, or a class, and — the issue's
"done when" — no name or e-mail address of any other pupil (nor of their guardians): they appear
by pseudonym, in id fields and inside every free text. Staff appear by name and function only where
they acted in their function. The export is itself audited.

The school is made of a corpus of names that are hard to find: diacritics (Yılmaz, Łukasz,
Nguyễn, Ødegaard), tussenvoegsels (van der Linden, 't Hart, de Jong), hyphenated and two-word
family names (Jansen-Bos, El Amrani), names that are also Dutch words (Visser, Hart), a preferred
name (Sander for Alexander)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import FrozenClock
from bot.codes import hash_code
from bot.domain import (
    Address,
    AnnouncementDraft,
    Enrollment,
    EnrollmentRole,
    Kind,
    Person,
    Report,
    ReportKind,
    Role,
    RosterSnapshot,
    Schedule,
    School,
    SchoolClass,
)
from bot.dossier_text import readable
from bot.errors import KlasbotError, NotFound
from bot.policy import SchoolPolicy
from bot.ports import PlatformCapabilities
from bot.pseudonyms import pseudonym, pseudonym_key
from bot.rules.names import ORDINARY_WORDS
from bot.usecases import announcing, dossier, membership
from bot.usecases import groups as groups_uc
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from bot.usecases.dossier import Dossier
from storage.memory import InMemoryUnitOfWork
from tests.conftest import DEMO_NOW
from tests.unit.usecases.conftest import FakePlatform, add_invite, link

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SCHOOL = School("org-lyceum", "Het Lyceum")
CLASS = SchoolClass("cls-3a", "3A", "Klas 3A", SCHOOL.id)
TEACHER = Person(
    "t-mentor",
    Role.TEACHER,
    "Jan",
    "Vries",
    "de",
    email="j.devries@lyceum.example",
    school_ids=(SCHOOL.id,),
)
SUBJECT = Person(
    "p-a",
    Role.PUPIL,
    "Zoë",
    "Berg",
    "van den",
    birth_date=date(2011, 3, 14),
    email="zoe.vandenberg@leerling.example",
    address=Address("Lange Nieuwstraat 5", "3512 PE", "Utrecht"),
    guardian_ids=("g-a",),
    school_ids=(SCHOOL.id,),
)
SUBJECT_GUARDIAN = Person(
    "g-a",
    Role.GUARDIAN,
    "Marieke",
    "Berg",
    "van den",
    email="marieke@vandenberg.example",
    school_ids=(SCHOOL.id,),
)
# (id, given, preferred, middle, family, e-mail, guardian's given name, guardian's e-mail)
CORPUS = [
    ("p-b", "Emre", "", "", "Yılmaz", "emre.y@leerling.example", "Ayşe", "ayse@yilmaz.example"),
    ("p-c", "Łukasz", "", "", "Wiśniewski", None, "Agnieszka", "aga.wisniewska@mail.example"),
    ("p-d", "Anne-Fleur", "", "", "Jansen-Bos", "af.jansenbos@leerling.example", "Pieter", None),
    ("p-e", "Khadija", "", "", "El Amrani", None, "Youssef", "y.elamrani@mail.example"),
    ("p-f", "Daan", "", "de", "Jong", None, "Peter", "peter@dejong.example"),
    ("p-g", "Thị Lan", "", "", "Nguyễn", "lan.n@leerling.example", "Minh", "minh@nguyen.example"),
    ("p-h", "Mees", "", "van der", "Linden", None, "Johan", "johan@vanderlinden.example"),
    ("p-i", "Björn", "", "", "Ødegaard", "bjorn@leerling.example", "Ingrid", "ingrid@oe.example"),
    ("p-j", "Lotte", "", "'t", "Hart", None, "Sanne", "sanne@thart.example"),
    ("p-k", "Alexander", "Sander", "", "Visser", None, "Roos", "roos.visser@mail.example"),
    ("p-l", "Milan", "", "", "Çelik", "milan.celik@leerling.example", "Elif", "elif@celik.example"),
]  # fmt: skip
OTHERS = [
    Person(
        pid,
        Role.PUPIL,
        given,
        family,
        middle,
        preferred_given_name=preferred,
        birth_date=date(2011, 5, 1),
        email=email,
        guardian_ids=(f"g{pid[1:]}",),
        school_ids=(SCHOOL.id,),
    )
    for pid, given, preferred, middle, family, email, _g, _m in CORPUS
]
GUARDIANS = [
    Person(
        f"g{pid[1:]}",
        Role.GUARDIAN,
        g_given,
        family,
        middle,
        email=g_mail,
        address=Address("Kerkstraat 1", "3500 AA", "Utrecht") if g_mail is None else None,
        school_ids=(SCHOOL.id,),
    )
    for pid, _given, _p, middle, family, _e, g_given, g_mail in CORPUS
]
B, C, F, J = OTHERS[0], OTHERS[1], OTHERS[4], OTHERS[8]


def snapshot() -> RosterSnapshot:
    pupils = [SUBJECT, *OTHERS]
    return RosterSnapshot(
        schools=(SCHOOL,),
        classes=(CLASS,),
        persons=(TEACHER, *pupils, SUBJECT_GUARDIAN, *GUARDIANS),
        enrollments=(
            Enrollment(CLASS.id, TEACHER.id, EnrollmentRole.TEACHER, primary=True),
            *(Enrollment(CLASS.id, p.id, EnrollmentRole.STUDENT) for p in pupils),
        ),
    )


def other_people() -> list[Person]:
    """Everyone who must not be named in the subject's dossier."""
    return [*OTHERS, *GUARDIANS, SUBJECT_GUARDIAN]


def leaks(dumped: str, people: list[Person], *, subject: Person | None) -> list[str]:
    """The names (given, preferred, family) and e-mail addresses of `people` found in `dumped`
    as whole words, in any case; a name the subject shares (a family name) is theirs too and not
    counted. A name that is also an ordinary Dutch word (`hart`, `jong`) counts where it begins
    with a capital (`Hart`, `HART`): in lower case it is the word."""
    own = set()
    if subject is not None:
        own = {subject.given_name, subject.family_name, subject.preferred_given_name}
    found = []
    for p in people:
        if p.email and p.email.lower() in dumped.lower():
            found.append(p.email)
        for name in (p.given_name, p.preferred_given_name, p.family_name):
            if not name or name in own:
                continue
            word = name.lower() in ORDINARY_WORDS
            pattern = rf"(?<!\w){re.escape(name)}(?!\w)"
            if any(not word or m[0][0].isupper() for m in re.finditer(pattern, dumped, re.I)):
                found.append(name)
    return found


def dumps(d: Dossier) -> str:
    return json.dumps(d.to_json(AMSTERDAM), ensure_ascii=False)


@pytest.fixture
def console() -> FakePlatform:
    return FakePlatform(
        "console", PlatformCapabilities(min_age=13, creates_groups=True, can_edit_posts=True)
    )


@pytest.fixture
async def school(console: FakePlatform) -> Context:
    """The corpus school, with a history: an announcement before there was a group (e-mails and
    letters to the guardians), a group that A and B joined, B leaving, a stranger removed, codes,
    a report by A that names B, a refusal naming C, a pupil trying to announce, a schedule."""
    ctx = Context(
        db=InMemoryUnitOfWork(),
        clock=FrozenClock(DEMO_NOW),
        policy=SchoolPolicy(
            platforms={"console": console.capabilities}, leadership_emails=("dir@lyceum.example",)
        ),
        platforms={"console": console},
    )
    await roster_uc.import_roster(ctx, snapshot())
    await announcing.announce(
        ctx,
        AnnouncementDraft(
            CLASS.id,
            TEACHER.id,
            Kind.REMINDER,
            text="Neem je gymkleren mee.",
        ),
    )
    group = await groups_uc.create_group(ctx, "3A", "console")
    for pid in (SUBJECT.id, B.id, TEACHER.id):
        await link(ctx, pid, account=f"acc-{pid}")
    await membership.member_left(ctx, "console", group.chat_id, f"acc-{B.id}")
    await membership.member_joined(ctx, "console", group.chat_id, "acc-stranger-9")
    await add_invite(ctx, SUBJECT.id, "SECRETCODE7")
    with pytest.raises(KlasbotError):
        await announcing.announce(
            ctx, AnnouncementDraft(CLASS.id, SUBJECT.id, Kind.REMINDER, text="Feest bij Emre!")
        )
    text = (
        f"{B.given_name} {B.family_name} ({B.email}) scheldt {SUBJECT.given_name} uit in de "
        f"groep; {J.given_name}s moeder ({GUARDIANS[8].email}) weet het, en "
        f"{F.given_name.lower()} {F.middle_name} {F.family_name.lower()} ook."
    )
    now = ctx.clock.now()
    async with ctx.db.transaction() as tx:
        await tx.reports.add(
            Report(
                0,
                ReportKind.REPORT,
                SUBJECT.id,
                now,
                text,
                school_id=SCHOOL.id,
                class_ids=(CLASS.id,),
                platform="console",
                forwarded_to=("dir@lyceum.example",),
            )
        )
        await ctx.audit(tx, "report", SUBJECT.id, [SUBJECT.id], text=text, class_id=CLASS.id)
        await ctx.audit(
            tx,
            "refusal",
            TEACHER.id,
            [SUBJECT.id, C.id],
            rule="5",
            message=f"Het bericht noemt {C.given_name} {C.family_name} ({C.id}).",
            class_id=CLASS.id,
        )
        await tx.schedules.add(
            Schedule(
                0,
                CLASS.id,
                TEACHER.id,
                Kind.REMINDER,
                f"Toets; {J.given_name} 't Hart helpt.",
                "elke maandag 08:00",
                "FREQ=WEEKLY;BYDAY=MO",
                datetime(2026, 11, 30, 8, 0),
                "Europe/Amsterdam",
                now,
                next_run=now + timedelta(days=7),
            )
        )
    return ctx


async def audit_of(ctx: Context, person_id: str) -> list[tuple[str, str]]:
    async with ctx.db.transaction() as tx:
        return [(e.kind, e.at.isoformat()) for e in await tx.audit.events(person_id)]


# --- the done-when ----------------------------------------------------------------------------


async def test_every_event_of_the_pupil_is_in_it_and_no_other_pupil_is(school: Context) -> None:
    before = await audit_of(school, SUBJECT.id)
    assert {k for k, _ in before} >= {
        "announcement",
        "fallback-delivery",
        "account-linked",
        "report",
        "refusal",
    }

    exported = await dossier.export(school, SUBJECT.id, by="beheer")
    data = exported.to_json(AMSTERDAM)

    got = [(e["kind"], datetime.fromisoformat(e["at"])) for e in data["events"]]
    assert got == [(k, datetime.fromisoformat(at)) for k, at in before]
    dumped = dumps(exported)
    assert leaks(dumped, other_people(), subject=SUBJECT) == []
    assert [p.id for p in other_people() if re.search(rf"(?<![\w-]){p.id}(?![\w-])", dumped)] == []
    assert "acc-p-b" not in dumped
    assert "acc-stranger-9" not in dumped
    # A's own data is there, in full.
    person = data["person"]
    assert (person["given_name"], person["middle_name"], person["family_name"]) == (
        "Zoë",
        "van den",
        "Berg",
    )
    assert person["email"] == SUBJECT.email
    assert person["birth_date"] == "2011-03-14"
    assert person["address"] == {
        "street": "Lange Nieuwstraat 5",
        "postal_code": "3512 PE",
        "city": "Utrecht",
    }
    # The report names B: B is there by pseudonym, A's own name stays.
    key = await _key(school)
    [report] = data["reports"]
    assert report["text"].startswith(f"{pseudonym(B.id, key)} ({pseudonym(B.id, key)}) scheldt Zoë")
    assert pseudonym(F.id, key) in report["text"]


async def test_a_guardian_and_the_pupils_of_other_classes_are_not_named_either(
    school: Context,
) -> None:
    """The subject's own guardian is someone else too: only their pseudonym appears."""
    exported = await dossier.export(school, SUBJECT.id)
    key = await _key(school)
    assert exported.person is not None
    assert exported.person["guardians"] == [pseudonym(SUBJECT_GUARDIAN.id, key)]
    assert "Marieke" not in dumps(exported)


# --- what it holds --------------------------------------------------------------------------


async def test_every_kind_of_record_of_a_pupil_appears(school: Context) -> None:
    data = (await dossier.export(school, SUBJECT.id)).to_json(AMSTERDAM)

    assert set(data) == {
        "person",
        "generated_at",
        "accounts",
        "classes",
        "memberships",
        "invites",
        "events",
        "deliveries",
        "announcements",
        "reports",
        "schedules",
        "pseudonyms_note",
    }
    assert data["accounts"] == [
        {"platform": "console", "account_id": "acc-p-a", "linked_at": "2026-11-23T10:00:00+01:00"}
    ]
    assert data["classes"] == [
        {"id": CLASS.id, "code": "3A", "title": "Klas 3A", "role": "student", "mentor": False}
    ]
    [member] = data["memberships"]
    assert (member["class"], member["platform"], member["state"]) == (CLASS.id, "console", "member")
    # Two codes (the one `link` used and the unused one); dates only, never a code or its hash.
    assert [i["state"] for i in data["invites"]] == ["used", "valid"]
    assert set(data["invites"][0]) == {"created_at", "expires_at", "used_at", "state"}
    assert hash_code("SECRETCODE7") not in json.dumps(data)
    [copy] = [d for d in data["deliveries"] if d["announcement"] is not None]
    assert (copy["kind"], copy["class"], copy["pupil"], copy["channel"]) == (
        "reminder",
        CLASS.id,
        SUBJECT.id,
        "email",
    )
    assert (copy["reason"], copy["status"]) == ("no-group", "pending")
    key = await _key(school)
    assert copy["recipients"] == [pseudonym(SUBJECT_GUARDIAN.id, key)]
    [report] = data["reports"]
    assert (report["kind"], report["state"], report["forwarded"]) == ("report", "open", 1)
    assert "dir@lyceum.example" not in json.dumps(data)
    assert data["announcements"] == []
    assert data["schedules"] == []
    kinds = {e["kind"] for e in data["events"]}
    assert {"announcement", "fallback-delivery", "account-linked", "member-admitted"} <= kinds


async def test_a_teachers_dossier_holds_what_they_wrote(school: Context) -> None:
    data = (await dossier.export(school, TEACHER.id)).to_json(AMSTERDAM)

    [announcement] = data["announcements"]
    assert announcement["author"] == {"id": TEACHER.id, "name": "Jan de Vries"}
    assert "Neem je gymkleren mee." in announcement["body"]
    assert announcement["signature"].startswith("— J. de Vries, mentor 3A")
    [schedule] = data["schedules"]
    assert schedule["when"] == "elke maandag 08:00"
    key = await _key(school)
    assert schedule["text"] == f"Toets; {pseudonym(J.id, key)} helpt."
    assert data["person"]["email"] == TEACHER.email
    assert leaks(json.dumps(data, ensure_ascii=False), other_people(), subject=TEACHER) == []


async def test_a_guardians_dossier_holds_the_copies_they_received(school: Context) -> None:
    guardian = GUARDIANS[0]  # Ayşe, Emre's mother, has an e-mail address
    data = (await dossier.export(school, guardian.id)).to_json(AMSTERDAM)

    key = await _key(school)
    assert data["person"]["wards"] == [pseudonym(B.id, key)]
    [copy] = data["deliveries"]
    assert copy["pupil"] == pseudonym(B.id, key)
    assert copy["recipients"] == [guardian.id]
    assert "Emre" not in json.dumps(data, ensure_ascii=False)


async def test_staff_appear_by_name_and_function_where_they_acted_never_by_email(
    school: Context,
) -> None:
    data = (await dossier.export(school, SUBJECT.id)).to_json(AMSTERDAM)

    [refusal] = [
        e for e in data["events"] if e["kind"] == "refusal" and e["details"]["rule"] == "5"
    ]
    assert refusal["actor"] == {"name": "J. de Vries", "function": "teacher"}
    assert TEACHER.email not in json.dumps(data)
    [announced] = [e for e in data["events"] if e["kind"] == "announcement"]
    assert announced["actor"] == {"name": "J. de Vries", "function": "teacher"}


async def test_pseudonyms_are_the_same_in_every_export(school: Context) -> None:
    first = (await dossier.export(school, SUBJECT.id)).to_json(AMSTERDAM)
    second = (await dossier.export(school, "3A")).to_json(AMSTERDAM)

    key = await _key(school)
    b = pseudonym(B.id, key)
    assert b in json.dumps(first)
    assert b in json.dumps(second)
    assert pseudonym(C.id, key) != b


async def test_a_name_the_person_shares_with_a_sibling_stays() -> None:
    """Siblings share a family name: it is the subject's own, so only the sibling's given name
    is replaced."""
    sister = Person("p-s", Role.PUPIL, "Sara", "Mulder", school_ids=(SCHOOL.id,))
    subject = Person("p-m", Role.PUPIL, "Sophie", "Mulder", school_ids=(SCHOOL.id,))
    ctx = Context(db=InMemoryUnitOfWork(), clock=FrozenClock(DEMO_NOW), policy=SchoolPolicy())
    await roster_uc.import_roster(
        ctx,
        RosterSnapshot(
            (SCHOOL,),
            (CLASS,),
            (sister, subject),
            tuple(Enrollment(CLASS.id, p.id, EnrollmentRole.STUDENT) for p in (sister, subject)),
        ),
    )
    async with ctx.db.transaction() as tx:
        await ctx.audit(tx, "report", subject.id, [subject.id], text="Sara Mulder en ik: Mulder")
    [event] = (await dossier.export(ctx, subject.id)).to_json(AMSTERDAM)["events"][:1]

    key = await _key(ctx)
    assert event["details"]["text"] == f"{pseudonym(sister.id, key)} en ik: Mulder"


# --- a class's dossier -----------------------------------------------------------------------


async def test_a_class_dossier_holds_its_events_announcements_and_reports(school: Context) -> None:
    async with school.db.transaction() as tx:
        tied = await tx.audit.events(class_id=CLASS.id)

    exported = await dossier.export(school, "3A", by="beheer")
    data = exported.to_json(AMSTERDAM)

    assert data["class"]["code"] == "3A"
    assert data["class"]["pupils"] == 12
    assert [e["kind"] for e in data["events"]] == [e.kind for e in tied]
    assert {"announcement", "member-removed", "report", "refusal"} <= {
        e["kind"] for e in data["events"]
    }
    assert [a["kind"] for a in data["announcements"]] == ["reminder"]
    assert len(data["reports"]) == 1
    assert len(data["schedules"]) == 1
    dumped = dumps(exported)
    assert leaks(dumped, [SUBJECT, *other_people()], subject=None) == []
    assert "acc-stranger-9" not in dumped  # the stranger's account, by pseudonym
    [removed] = [e for e in data["events"] if e["kind"] == "member-removed"]
    assert removed["details"]["account"].startswith("account-")


# --- the export is audited ----------------------------------------------------------------------


async def test_the_export_is_audited_with_who_and_how(school: Context) -> None:
    await dossier.export(school, SUBJECT.id, by="beheer", formats=["json", "pdf"])
    await dossier.export(school, "3A", by="beheer", formats=["table"])

    async with school.db.transaction() as tx:
        [mine] = await tx.audit.events(SUBJECT.id, dossier.EXPORTED)
        [of_class] = await tx.audit.events(kind=dossier.EXPORTED, class_id=CLASS.id)
    assert mine.details == {"by": "beheer", "format": "json,pdf"}
    assert mine.actor_id is None
    assert mine.person_ids == (SUBJECT.id,)
    assert of_class.details["format"] == "table"
    assert of_class.person_ids == ()
    # The next export shows the earlier one.
    again = (await dossier.export(school, SUBJECT.id)).to_json(AMSTERDAM)
    assert again["events"][-1]["kind"] == dossier.EXPORTED


async def test_an_unknown_person_or_class_is_not_found(school: Context) -> None:
    with pytest.raises(NotFound, match="nobody"):
        await dossier.export(school, "nobody")


# --- how it reads ---------------------------------------------------------------------------------


async def test_it_reads_in_dutch_by_default_and_in_english(school: Context) -> None:
    exported = await dossier.export(school, SUBJECT.id)
    dutch = readable(exported, "nl", AMSTERDAM)
    english = readable(exported, "en", AMSTERDAM)

    assert dutch.title == "Dossier van Zoë van den Berg"
    assert [s.title for s in dutch.sections][:3] == [
        "Persoonsgegevens",
        "Klassen",
        "Gekoppelde accounts",
    ]
    assert english.sections[0].title == "Personal details"
    events = next(s for s in dutch.sections if s.title == "Logboek")
    assert events.headings == ("tijd", "soort", "door", "details")
    assert any("J. de Vries (docent)" in row for row in events.rows)
    assert not leaks(repr(dutch), other_people(), subject=SUBJECT)


# --- no name in any text ----------------------------------------------------------------------

SENTENCES = [
    "{name} deed het.",
    "Ik zag {name} gisteren",
    "bericht aan {name}: kom langs",
    "{NAME} PEST MIJ",
    "Is dit {name}'s tas?",
    "mail {email} of bel",
    "cc {email}",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    who=st.sampled_from(OTHERS),
    form=st.sampled_from(["given", "full", "preferred-full", "family"]),
    sentence=st.sampled_from(SENTENCES),
)
async def test_no_other_pupils_name_or_address_survives_in_a_text(
    who: Person, form: str, sentence: str
) -> None:
    ctx = Context(db=InMemoryUnitOfWork(), clock=FrozenClock(DEMO_NOW), policy=SchoolPolicy())
    await roster_uc.import_roster(ctx, snapshot())
    given_name = who.preferred_given_name if form == "preferred-full" else who.given_name
    name = {
        "given": given_name,
        "family": " ".join(p for p in (who.middle_name.capitalize(), who.family_name) if p),
    }.get(form, " ".join(p for p in (given_name, who.middle_name, who.family_name) if p))
    # A pupil without an address of their own: their guardian's is the one to hide.
    owner = who if who.email or "{email}" not in sentence else GUARDIANS[OTHERS.index(who)]
    text = sentence.format(name=name, NAME=name.upper(), email=owner.email)
    async with ctx.db.transaction() as tx:
        await ctx.audit(tx, "report", SUBJECT.id, [SUBJECT.id], text=text)

    exported = (await dossier.export(ctx, SUBJECT.id)).to_json(AMSTERDAM)

    written = exported["events"][0]["details"]["text"]
    assert leaks(written, [who, *GUARDIANS], subject=SUBJECT) == [], written
    assert pseudonym(owner.id, await _key(ctx)) in written


async def _key(ctx: Context) -> bytes:
    async with ctx.db.transaction() as tx:
        return await pseudonym_key(tx)
