"""`klasbot doctor`'s findings about the core, on the in-memory store: the roster, each school's
name and leadership, what a letter carries, the time zone and the quiet hours; and the schema
finding of the command line (revisions only, no database)."""

from __future__ import annotations

from dataclasses import replace

from bot.cli import doctor as doctor_cli
from bot.domain import RosterSnapshot
from bot.policy import SchoolPolicy
from bot.rules.quiet_hours import QuietHours
from bot.usecases import doctor
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from bot.usecases.doctor import Finding, Status
from storage.memory import InMemoryUnitOfWork
from tests.conftest import DEMO_NOW


def by_check(findings: list[Finding]) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    for f in findings:
        found.setdefault(f.check, []).append(f)
    return found


async def test_the_demo_school_with_leadership_and_a_return_address(ctx: Context) -> None:
    findings = await doctor.roster_findings(
        ctx, return_address="Postbus 7, 3500 AA Utrecht", letterhead=["Lange Lijnstraat 1"]
    )
    checks = by_check(findings)
    assert [f.status for f in findings] == [Status.OK] * len(findings)
    [roster] = checks["roster"]
    assert roster.detail("en") == "persons: 30, classes: 2, schools: 1"
    [name] = checks["school-name"]
    assert name.detail("nl") == "De Passie Utrecht (school.name), voor elke brief en e-mail"
    [letters] = checks["letters"]
    assert letters.detail("en") == (
        "return address: Postbus 7, 3500 AA Utrecht; letterhead: De Passie Utrecht with Lange "
        "Lijnstraat 1 (post.letterhead)"
    )
    assert not doctor.required_missing(findings)


async def test_an_empty_store_lacks_its_roster(ctx: Context) -> None:
    policy = replace(ctx.policy, school_name="")
    empty = Context(db=InMemoryUnitOfWork(), clock=ctx.clock, policy=policy)
    findings = await doctor.roster_findings(empty, return_address=None, letterhead=[])
    assert [(f.check, f.status) for f in findings] == [
        ("roster", Status.WARNING),
        ("letters", Status.WARNING),
    ]
    assert findings[1].detail("en") == (
        "no return address (post.return_address): an undeliverable letter does not come back; "
        "letterhead: only the school's name, no school name; add lines with post.letterhead"
    )
    # The command line says what to run about an empty roster; the core's text names no command.
    assert "klasbot" not in findings[0].detail("en")
    assert "`klasbot roster import DIR`" in doctor_cli._what_to_run(findings[0]).detail("en")


async def test_a_school_without_leadership_is_named(ctx: Context, snapshot: RosterSnapshot) -> None:
    """The demo roster without its administrator and no configured address: the school's
    reports would reach nobody. The school's name is the roster's."""
    leaderless = replace(snapshot, persons=tuple(p for p in snapshot.persons if p.id != "l-visser"))
    await roster_uc.import_roster(ctx, leaderless)
    ctx.policy = replace(ctx.policy, leadership_emails=(), school_name="")
    findings = await doctor.roster_findings(ctx, return_address=None, letterhead=[])
    [leadership] = by_check(findings)["leadership"]
    assert leadership.status == Status.WARNING
    assert "De Passie Utrecht (org-passie-utrecht)" in leadership.detail("en")
    [name] = by_check(findings)["school-name"]
    assert name.detail("en") == "org-passie-utrecht: De Passie Utrecht (from the roster, orgs.csv)"
    # A configured leadership address is enough.
    ctx.policy = replace(ctx.policy, leadership_emails=("directie@passie-utrecht.example",))
    findings = await doctor.roster_findings(ctx, return_address=None, letterhead=[])
    assert [f.status for f in by_check(findings)["leadership"]] == [Status.OK]


def test_the_time_zone_and_the_quiet_hours_are_shown() -> None:
    policy = SchoolPolicy()
    zone, quiet = doctor.clock_findings(policy, DEMO_NOW)
    assert zone.detail("en") == "Europe/Amsterdam; it is 2026-11-23 10:00 there now"
    assert quiet.detail("nl") == (
        "21:00-07:00: dan wordt niets geplaatst of gemaild (dringende soorten vanaf 06:30: "
        "Lesuitval)"
    )
    _, none = doctor.clock_findings(replace(policy, quiet_hours=None), DEMO_NOW)
    assert none.detail("en").startswith("none (school.quiet_hours is empty)")
    later = QuietHours.parse("22:00-06:00", urgent_from="05:30", urgent_kinds=())
    _, custom = doctor.clock_findings(replace(policy, quiet_hours=later), DEMO_NOW)
    assert custom.detail("en").startswith("22:00-06:00")
    assert {zone.status, quiet.status, none.status} == {Status.OK}


def test_the_schema_against_the_latest_revision() -> None:
    known = {"0001", "0002"}
    none = doctor_cli.schema_finding(None, "0002", known)
    assert (none.status, none.detail("en")) == (
        Status.MISSING,
        "no schema yet; run `klasbot db upgrade`",
    )
    assert doctor_cli.schema_finding("0002", "0002", known).status == Status.OK
    old = doctor_cli.schema_finding("0001", "0002", known)
    assert (old.status, "the latest is 0002" in old.detail("en")) == (Status.MISSING, True)
    newer = doctor_cli.schema_finding("0099", "0002", known)
    assert (newer.status, "update klasbot" in newer.detail("en")) == (Status.MISSING, True)
    assert doctor.required_missing([old])
    assert not doctor.required_missing([])


def test_every_status_and_check_has_a_dutch_word() -> None:
    assert [doctor.STATUS_LABELS[s]("nl") for s in Status] == [
        "in orde",
        "waarschuwing",
        "ontbreekt",
    ]
    finding = Finding("leadership", Status.OK, doctor.M_LEADERSHIP_OK)
    assert finding.label("nl") == "schoolleiding"
    assert Finding("unknown-check", Status.OK, doctor.M_LEADERSHIP_OK).label("nl") == (
        "unknown-check"
    )
