"""Announcing: rules 7, 4 and 5 decide whether it may go out, rule 6 (`bot.routing`) who gets it
through which channel, rule 8 (`bot.outbox.first_due`) when. The announcement, one outbox row per
pupil and the warning about unreachable pupils are written in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from bot.domain import (
    Announcement,
    AnnouncementDraft,
    AuditEvent,
    Channel,
    ClassRoster,
    Person,
    Route,
)
from bot.errors import KlasbotError
from bot.outbox import add_announcement_rows, add_unreachable_warning
from bot.repositories import Repositories
from bot.routing import GroupView, group_view, route_class
from bot.rules import authorization, content, kinds, signature
from bot.usecases.context import Context, resolve_class


@dataclass(frozen=True)
class AnnounceResult:
    announcement: Announcement
    counts: dict[str, int]
    held_until: datetime | None
    unreachable: tuple[str, ...]


async def _check(
    ctx: Context, tx: Repositories, draft: AnnouncementDraft, lang: str
) -> tuple[ClassRoster, Person, str, str]:
    """Rules 7, 4 and 5 in that order; returns (roster, author, body, signature) or raises."""
    school_class = await resolve_class(tx, draft.class_id)
    roster = await tx.roster.class_roster(school_class.id)
    author = await tx.roster.person(draft.author_id)
    authorization.require_staff_of_class(author, roster)
    assert author is not None
    kinds.validate_draft(draft, ctx.policy.allowed_kinds)
    free_text = "\n".join(t for t in (draft.subject, draft.text) if t)
    # A.2 protects every member of the school community: the names of all its pupils count.
    pupils = await tx.roster.school_pupils(school_class.school_id)
    content.check_content(free_text, (*roster.pupils, *pupils), ctx.policy.public_contacts)
    body = kinds.render_body(
        draft.kind,
        class_code=school_class.code,
        date=draft.date,
        period=draft.period,
        subject=draft.subject,
        text=draft.text,
        lang=lang,
    )
    return roster, author, body, signature.signature(author, roster, lang)


async def _audit_refusal(
    ctx: Context, error: KlasbotError, draft: AnnouncementDraft, source: str
) -> None:
    await ctx.audit_refusal(
        error, actor=draft.author_id, class_ref=draft.class_id, kind=draft.kind, source=source
    )


async def preview(ctx: Context, draft: AnnouncementDraft, *, source: str = "cli") -> str:
    """The signed text as the group will see it, after every rule; stores nothing but a
    refusal (rule 10)."""
    try:
        async with ctx.db.transaction() as tx:
            _, _, body, sig = await _check(ctx, tx, draft, ctx.policy.language)
    except KlasbotError as error:
        await _audit_refusal(ctx, error, draft, source)
        raise
    return f"{body}\n\n{sig}"


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


def _fallback_events(announcement: Announcement, routes: list[Route]) -> list[AuditEvent]:
    return [
        AuditEvent(
            "fallback-delivery" if route.channel != Channel.UNREACHABLE else "unreachable",
            announcement.created_at,
            announcement.author_id,
            (route.pupil_id, *(r.person_id for r in route.recipients)),
            {
                "announcement": announcement.id,
                "channel": route.channel.value,
                "reason": route.reason.value if route.reason else None,
            },
        )
        for route in routes
        if route.channel != Channel.GROUP
    ]


async def announce(
    ctx: Context, draft: AnnouncementDraft, *, source: str = "cli"
) -> AnnounceResult:
    """Check the rules, store the announcement and one delivery per pupil, in one transaction."""
    now = ctx.clock.now()
    try:
        async with ctx.db.transaction() as tx:
            roster, author, body, sig = await _check(ctx, tx, draft, ctx.policy.language)
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
            )
            announcement = replace(announcement, id=await tx.announcements.add(announcement))
            routes = route_class(
                roster.pupils,
                today=ctx.today(),
                groups=await group_views(ctx, tx, roster.school_class.id),
                guardians=roster.guardians,
                pupil_email_from_age=ctx.policy.pupil_email_from_age,
            )
            held_until = await add_announcement_rows(tx, ctx.policy, announcement, routes, now)
            counts = {c.value: 0 for c in Channel}
            for route in routes:
                counts[route.channel.value] += 1
            unreachable = tuple(r.pupil_id for r in routes if r.channel == Channel.UNREACHABLE)
            await add_unreachable_warning(tx, ctx.policy, announcement, unreachable)
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
            )
            await tx.audit.add(_fallback_events(announcement, routes))
    except KlasbotError as error:
        await _audit_refusal(ctx, error, draft, source)
        raise
    return AnnounceResult(announcement, counts, held_until, unreachable)
