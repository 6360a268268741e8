"""`klasbot doctor`: what the school's set-up lacks, one finding per line.

The findings about the core live here: the roster, each school's name and leadership (rule 9: a
report must reach someone), what a printed letter carries, the time zone and the quiet hours
(rule 8). The command line adds the findings
about the outside world (the database and its schema, the mail server, each chat platform) and
what to run about a finding (these texts are the admin's; the core's could be said anywhere).

A finding is `ok`, a `warning` (klasbot works, but not as the school will expect) or `missing`
(something required: the command exits non-zero)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain import School
from bot.i18n import Localized, Msg
from bot.policy import SchoolPolicy
from bot.rules.kinds import kind_title
from bot.usecases import reports
from bot.usecases.context import Context


class Status(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    MISSING = "missing"


STATUS_LABELS = {
    Status.OK: Msg("ok", context="doctor status"),
    Status.WARNING: Msg("warning", context="doctor status"),
    Status.MISSING: Msg("missing", context="doctor status"),
}

CHECK_LABELS = {
    "config": Msg("configuration", context="doctor check"),
    "database": Msg("database", context="doctor check"),
    "schema": Msg("database schema", context="doctor check"),
    "roster": Msg("roster", context="doctor check"),
    "school-name": Msg("school name", context="doctor check"),
    "leadership": Msg("school leadership", context="doctor check"),
    "letters": Msg("letters", context="doctor check"),
    "mail": Msg("e-mail", context="doctor check"),
    "platforms": Msg("chat platforms", context="doctor check"),
    "telegram": Msg("Telegram", context="doctor check"),
    "matrix": Msg("Matrix", context="doctor check"),
    "timezone": Msg("time zone", context="doctor check"),
    "quiet-hours": Msg("quiet hours", context="doctor check"),
}

M_ROSTER_OK = Msg("persons: {persons}, classes: {classes}, schools: {schools}")
M_ROSTER_EMPTY = Msg("no roster imported yet, so nobody can be reached")
M_NAME_CONFIGURED = Msg("{name} (school.name), for every letter and e-mail")
M_NAME_FROM_ROSTER = Msg("{school}: {name} (from the roster, orgs.csv)")
M_NAME_MISSING = Msg(
    "school {school} has no name: letters and e-mails name no school; set school.name or the "
    "name in orgs.csv"
)
M_LEADERSHIP_OK = Msg("known for every school: reports and escalations reach someone")
M_LEADERSHIP_MISSING = Msg(
    "nobody receives the reports and escalations about {school}: give the roster a principal or "
    "administrator of that school with an e-mail address, or set school.leadership_emails"
)
M_NAME_OWN = Msg('{school}: {name} ([schools."{key}"] name)')
M_SCHOOL_KEY_UNKNOWN = Msg(
    '[schools."{key}"] names no school of the roster (neither a sourcedId nor an identifier '
    "in orgs.csv): its settings are used for no class"
)
M_LETTERS_OK = Msg("return address: {address}; letterhead: {letterhead}")
M_LETTERS_NO_RETURN = Msg(
    "no return address (post.return_address): an undeliverable letter does not come back; "
    "letterhead: {letterhead}"
)
M_LETTERHEAD_LINES = Msg("{name} with {lines} (post.letterhead)")
M_LETTERHEAD_NAME_ONLY = Msg("only the school's name, {name}; add lines with post.letterhead")
M_NO_SCHOOL_NAME = Msg("no school name")
M_TIMEZONE = Msg("{zone}; it is {now} there now")
M_QUIET_HOURS = Msg(
    "{start}-{end}: nothing is posted or mailed then (urgent kinds from {urgent}: {kinds})"
)
M_NO_QUIET_HOURS = Msg("none (school.quiet_hours is empty): announcements go out at any hour")


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of `klasbot doctor`: what was checked, how it stands and what to do."""

    check: str
    status: Status
    msg: Msg
    params: dict[str, Any] = field(default_factory=dict)

    def detail(self, lang: str) -> str:
        return self.msg(lang, **self.params)

    def label(self, lang: str) -> str:
        known = CHECK_LABELS.get(self.check)
        return known(lang) if known is not None else self.check


def required_missing(findings: Sequence[Finding]) -> bool:
    """Whether something required is missing (the command then exits non-zero)."""
    return any(f.status == Status.MISSING for f in findings)


def _school(school: School) -> str:
    return f"{school.name.strip()} ({school.id})" if school.name.strip() else school.id


async def roster_findings(
    ctx: Context, *, return_address: str | None, letterhead: Sequence[str]
) -> list[Finding]:
    """The roster, every school's name and leadership, and what a letter carries (the post
    settings `return_address` and `letterhead` lines)."""
    async with ctx.db.transaction() as tx:
        persons = await tx.roster.count_persons()
        classes = await tx.roster.classes()
    schools = sorted({s.id: s for _, s, _, _ in classes}.values(), key=lambda s: s.id)
    findings: list[Finding] = []
    if persons == 0:
        findings.append(Finding("roster", Status.WARNING, M_ROSTER_EMPTY))
    else:
        counts = {"persons": persons, "classes": len(classes), "schools": len(schools)}
        findings.append(Finding("roster", Status.OK, M_ROSTER_OK, counts))
    findings.extend(_name_findings(ctx.policy, schools))
    if persons:
        findings.extend(_unknown_school_keys(ctx.policy, schools))
    if persons:
        without = await reports.schools_without_leadership(ctx)
        for school in without:
            findings.append(
                Finding(
                    "leadership", Status.WARNING, M_LEADERSHIP_MISSING, {"school": _school(school)}
                )
            )
        if not without:
            findings.append(Finding("leadership", Status.OK, M_LEADERSHIP_OK))
    if not ctx.policy.own:
        findings.append(_letters_finding(ctx.policy, schools, return_address, letterhead))
        return findings
    # A board: each school's letters carry its own letterhead and return address.
    for school in schools:
        own = ctx.policy.for_school(school)
        findings.append(_letters_finding(ctx.policy, [school], own.return_address, own.letterhead))
    if not schools:
        findings.append(_letters_finding(ctx.policy, [], return_address, letterhead))
    return findings


def _name_findings(policy: SchoolPolicy, schools: Sequence[School]) -> list[Finding]:
    if policy.school_name.strip() and not policy.own:
        return [Finding("school-name", Status.OK, M_NAME_CONFIGURED, {"name": policy.school_name})]
    findings = []
    for s in schools:
        own = policy.for_school(s)
        key = s.id if s.id in policy.own else s.identifier
        if own is not policy and own.school_name.strip():
            details = {"school": s.id, "name": own.school_name.strip(), "key": key}
            findings.append(Finding("school-name", Status.OK, M_NAME_OWN, details))
        elif policy.school_name.strip():
            details = {"name": policy.school_name.strip()}
            findings.append(Finding("school-name", Status.OK, M_NAME_CONFIGURED, details))
        elif s.name.strip():
            details = {"school": s.id, "name": s.name}
            findings.append(Finding("school-name", Status.OK, M_NAME_FROM_ROSTER, details))
        else:
            findings.append(
                Finding("school-name", Status.WARNING, M_NAME_MISSING, {"school": s.id})
            )
    return findings


def _unknown_school_keys(policy: SchoolPolicy, schools: Sequence[School]) -> list[Finding]:
    """A `[schools."…"]` table that matches no school of the roster (a typo, an old BRIN)."""
    known = {s.id for s in schools} | {s.identifier for s in schools if s.identifier}
    return [
        Finding("school-settings", Status.WARNING, M_SCHOOL_KEY_UNKNOWN, {"key": key})
        for key in sorted(policy.own)
        if key not in known
    ]


def _letters_finding(
    policy: SchoolPolicy,
    schools: Sequence[School],
    return_address: str | None,
    letterhead: Sequence[str],
) -> Finding:
    """What a printed letter carries: the letterhead is the school's name (as every letter
    names it: `SchoolPolicy.name_of_school`, each school's own from the roster) and the
    configured lines; the return address is printed above the recipient's when configured."""
    names = [
        name
        for name in dict.fromkeys(policy.name_of_school(schools, s.id) for s in schools)
        if name
    ] or ([policy.school_name.strip()] if policy.school_name.strip() else [])
    name: Msg | str = ", ".join(names) if names else M_NO_SCHOOL_NAME
    lines = [line for line in letterhead if line.strip()]
    if lines:
        head = Localized(lambda lang: M_LETTERHEAD_LINES(lang, name=name, lines=" / ".join(lines)))
    else:
        head = Localized(lambda lang: M_LETTERHEAD_NAME_ONLY(lang, name=name))
    if return_address and return_address.strip():
        return Finding(
            "letters", Status.OK, M_LETTERS_OK, {"address": return_address, "letterhead": head}
        )
    return Finding("letters", Status.WARNING, M_LETTERS_NO_RETURN, {"letterhead": head})


def clock_findings(policy: SchoolPolicy, now: datetime) -> list[Finding]:
    """The school's time zone and quiet hours (rule 8), for the admin to see they are right."""
    local = now.astimezone(policy.timezone).strftime("%Y-%m-%d %H:%M")
    zone = Finding("timezone", Status.OK, M_TIMEZONE, {"zone": policy.timezone.key, "now": local})
    quiet = policy.quiet_hours
    if quiet is None or quiet.start == quiet.end:
        return [zone, Finding("quiet-hours", Status.OK, M_NO_QUIET_HOURS)]
    hours = {
        "start": quiet.start.strftime("%H:%M"),
        "end": quiet.end.strftime("%H:%M"),
        "urgent": quiet.urgent_from.strftime("%H:%M"),
        "kinds": Localized(
            lambda lang: ", ".join(kind_title(k, lang) for k in sorted(quiet.urgent_kinds)) or "-"
        ),
    }
    return [zone, Finding("quiet-hours", Status.OK, M_QUIET_HOURS, hours)]
