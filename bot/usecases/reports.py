"""Reports (A.9) and escalations (B.3): kept in the dossier, forwarded to leadership through the
outbox (retried, never lost)."""

from __future__ import annotations

import uuid

from bot.domain import Person
from bot.notices import ReportNotice
from bot.outbox import add_mail_notice, notice_key
from bot.policy import school_name_for
from bot.usecases.context import Context


async def report(ctx: Context, person: Person, text: str, *, escalation: bool, source: str) -> bool:
    """Store the report in the dossier and queue it for leadership, in one transaction.

    Returns whether it is on its way to someone: False when no leadership address is known (the
    report is kept and the admin sees it in the audit trail)."""
    kind = "escalation" if escalation else "report"
    now = ctx.clock.now()
    async with ctx.db.transaction() as tx:
        enrollments = await tx.roster.enrollments_of(person.id)
        await ctx.audit(tx, kind, person.id, [person.id], text=text, source=source)
        found = [c for e in enrollments for c in await tx.roster.find_classes(e.class_id)]
        classes = sorted({c.code for c in found})
        # The school of the reporter's first class (by id); the roster's school without one.
        first = min((c.id for c in found), default=None)
        # Every role, the main one first: leadership reads a parent's report differently from a
        # teacher's, and someone may be both.
        roles = [person.role.value, *sorted(r.value for r in person.roles - {person.role})]
        notice = ReportNotice(
            kind=kind,
            reporter=f"{person.full_name} ({', '.join(roles)}, {person.id})",
            text=text,
            created_at=now.astimezone(ctx.policy.timezone).strftime("%Y-%m-%d %H:%M"),
            school_name=await school_name_for(tx.roster, ctx.policy, first),
            class_code=", ".join(classes) or None,
        )
        queued = await add_mail_notice(
            tx,
            notice,
            person_id=person.id,
            to=ctx.policy.leadership_emails,
            key=notice_key(kind, person.id, uuid.uuid4().hex),
        )
        if not queued:
            await ctx.audit(
                tx, f"{kind}-not-mailed", person.id, [person.id], error="no leadership address"
            )
    return queued
