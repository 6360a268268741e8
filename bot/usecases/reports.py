"""Reports (A.9) and escalations (B.3): kept as a report the admin handles (`klasbot reports`)
and in the dossier of the reporter and the class, and forwarded to the leadership of the school
concerned through the outbox (retried, never lost) — all in one transaction.

The school concerned is the school of the class of the group the report was sent in; else of the
reporter's first class (by id); else the reporter's first school in the roster. Who its
leadership is, is decided once, by `bot.policy.leadership_for`. When nobody is known the report is
kept all the same, the reporter is told so, and the admin is warned (`schools_without_leadership`:
`klasbot run`, `klasbot roster import`, `klasbot reports list`, `klasbot doctor`)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from bot.domain import (
    Group,
    Person,
    Report,
    ReportKind,
    School,
    SchoolClass,
)
from bot.errors import InvalidInput, NotFound
from bot.i18n import Msg
from bot.messages import ROLE_NAMES
from bot.notices import ReportNotice
from bot.outbox import add_mail_notice, notice_key
from bot.policy import leadership_for
from bot.repositories import Repositories
from bot.usecases.context import Context

logger = logging.getLogger(__name__)

M_REPORT_NOT_FOUND = Msg("there is no report {id}")
M_REPORT_ALREADY_CLOSED = Msg("report {id} was closed already ({when}, by {by})")


@dataclass(frozen=True, slots=True)
class ReportView:
    """A report with what the admin reads next to it: its school, classes, group and reporter."""

    report: Report
    school: School | None
    classes: tuple[SchoolClass, ...]
    group: Group | None
    reporter: Person | None
    """None once the reporter was erased (or left the roster)."""

    @property
    def class_codes(self) -> str | None:
        """`2B`, or `2B, 4C` for a report about several classes; None for none."""
        return ", ".join(sorted({c.code for c in self.classes})) or None


async def _schools(tx: Repositories) -> dict[str, School]:
    return {school.id: school for school in await tx.roster.class_schools()}


async def _concerned(
    tx: Repositories, person: Person, group: Group | None
) -> tuple[list[SchoolClass], str | None]:
    """The classes a report concerns and the school whose leadership it goes to."""
    if group is not None:
        found = await tx.roster.find_classes(group.class_id)
        classes = [c for c in found if c.id == group.class_id]
        if classes:
            return classes, classes[0].school_id
    enrollments = await tx.roster.enrollments_of(person.id)
    wanted = {e.class_id for e in enrollments}
    classes = sorted(
        {c for cid in wanted for c in await tx.roster.find_classes(cid) if c.id == cid},
        key=lambda c: c.id,
    )
    if classes:
        return classes, classes[0].school_id
    return [], (person.school_ids[0] if person.school_ids else None)


async def report(
    ctx: Context,
    person: Person,
    text: str,
    *,
    escalation: bool,
    source: str,
    chat_id: str | None = None,
) -> Report:
    """Keep the report and queue it for leadership, in one transaction.

    `source` is the platform it was sent on (or `cli`); `chat_id` the chat it was sent in (a
    class group gives the report its class). Returns the stored report: `forwarded_to` empty
    means nobody was known to forward it to (it is kept, and the admin is warned)."""
    kind = ReportKind.ESCALATION if escalation else ReportKind.REPORT
    now = ctx.clock.now()
    async with ctx.db.transaction() as tx:
        group = await tx.groups.by_chat(source, chat_id) if chat_id is not None else None
        classes, school_id = await _concerned(tx, person, group)
        class_ids = tuple(c.id for c in classes)
        to = await leadership_for(tx.roster, ctx.policy, school_id)
        report_id = await tx.reports.add(
            Report(
                id=0,
                kind=kind,
                reporter_id=person.id,
                created_at=now,
                text=text,
                school_id=school_id,
                class_ids=class_ids,
                group_id=group.id if group else None,
                platform=source,
                forwarded_to=to,
            )
        )
        await ctx.audit(
            tx,
            kind.value,
            person.id,
            [person.id],
            report=report_id,
            text=text,
            source=source,
            school=school_id,
            group=group.id if group else None,
            class_ids=list(class_ids),
            forwarded=len(to),
        )
        # Every role, the main one first: leadership reads a parent's report differently from a
        # teacher's, and someone may be both.
        lang = ctx.policy.language
        roles = [
            ROLE_NAMES[r](lang)
            for r in [person.role, *sorted(person.roles - {person.role}, key=lambda r: r.value)]
        ]
        notice = ReportNotice(
            kind=kind.value,
            reporter=f"{person.full_name} ({', '.join(roles)}, {person.id})",
            text=text,
            created_at=now.astimezone(ctx.policy.timezone).strftime("%Y-%m-%d %H:%M"),
            school_name=ctx.policy.name_of_school(list((await _schools(tx)).values()), school_id),
            class_code=", ".join(sorted({c.code for c in classes})) or None,
            report_id=report_id,
            platform=source,
            group=group.chat_id if group else None,
        )
        queued = await add_mail_notice(
            tx,
            notice,
            person_id=person.id,
            to=to,
            key=notice_key(kind.value, person.id, report_id, uuid.uuid4().hex),
        )
        if not queued:
            await ctx.audit(
                tx,
                f"{kind.value}-not-mailed",
                person.id,
                [person.id],
                report=report_id,
                error="no leadership address",
                class_ids=list(class_ids),
            )
            logger.warning(
                "%s %d kept but not forwarded: no leadership known for school %s; set "
                "school.leadership_emails or give the school a principal in the roster",
                kind.value,
                report_id,
                school_id or "-",
            )
        stored = await tx.reports.get(report_id)
    assert stored is not None
    return stored


async def _view(tx: Repositories, found: Report, schools: dict[str, School]) -> ReportView:
    classes = [
        c for cid in found.class_ids for c in await tx.roster.find_classes(cid) if c.id == cid
    ]
    group = await tx.groups.get(found.group_id) if found.group_id is not None else None
    reporter = await tx.roster.person(found.reporter_id) if found.reporter_id else None
    school = schools.get(found.school_id) if found.school_id else None
    if school is None and found.school_id:
        school = School(found.school_id, "")  # a school the roster no longer has
    return ReportView(found, school, tuple(classes), group, reporter)


async def list_reports(ctx: Context, *, open_only: bool = False) -> list[ReportView]:
    """Every report and escalation (only the open ones with `open_only`), by number."""
    async with ctx.db.transaction() as tx:
        schools = await _schools(tx)
        return [await _view(tx, r, schools) for r in await tx.reports.list(open_only=open_only)]


async def show_report(ctx: Context, report_id: int) -> ReportView:
    """One report with its context. Raises NotFound."""
    async with ctx.db.transaction() as tx:
        found = await tx.reports.get(report_id)
        if found is None:
            raise NotFound(M_REPORT_NOT_FOUND, id=report_id)
        return await _view(tx, found, await _schools(tx))


async def close_report(ctx: Context, report_id: int, *, by: str, note: str) -> Report:
    """Close a report: who closed it (`by`: the admin's own name for themselves, the OS user
    running `klasbot reports close`) and why. An audit event in the dossier of the reporter and
    of the class. Raises NotFound, and InvalidInput when it was closed already."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as tx:
        found = await tx.reports.get(report_id)
        if found is None:
            raise NotFound(M_REPORT_NOT_FOUND, id=report_id)
        if not await tx.reports.close(report_id, by, note, now):
            closed_at = found.closed_at.astimezone(ctx.policy.timezone) if found.closed_at else None
            raise InvalidInput(
                M_REPORT_ALREADY_CLOSED,
                id=report_id,
                when=closed_at.strftime("%Y-%m-%d %H:%M") if closed_at else "-",
                by=found.closed_by or "-",
            )
        await ctx.audit(
            tx,
            "report-closed",
            None,
            [found.reporter_id] if found.reporter_id else [],
            report=report_id,
            kind=found.kind.value,
            by=by,
            note=note,
            class_ids=list(found.class_ids),
        )
        closed = await tx.reports.get(report_id)
    assert closed is not None
    return closed


async def schools_without_leadership(ctx: Context) -> list[School]:
    """The schools (of the roster's classes, by id) whose reports would reach nobody: no
    leadership person of the school with an e-mail address in the roster and no configured
    `school.leadership_emails` (`bot.policy.leadership_for`). Every caller warns about each."""
    async with ctx.db.transaction() as tx:
        schools = await _schools(tx)
        return [
            school
            for school_id, school in sorted(schools.items())
            if not await leadership_for(tx.roster, ctx.policy, school_id)
        ]
