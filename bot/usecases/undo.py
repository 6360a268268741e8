"""Undoing an announcement: withdraw it, or correct its text (B.1: pupils and parents must be able
to rely on what the class group and the school's letters say; a mistake is put right where it was
made, through the same channel).

What was not delivered yet is cancelled (status `withdrawn`); where it was delivered, the group
post is edited to say so and everyone who got it by e-mail or letter gets the withdrawal or the
correction through the same channel, exactly once: one outbox row per delivered copy (and one
group edit per post), each with a stable idempotency key.

A copy that is going out at the moment of the withdrawal (claimed by a dispatcher) is left to
finish; the dispatcher records it as sent under the announcement's lock and adds its follow-up
then (`follow_up_delivered`). Withdrawing takes the same lock, so exactly one of the two sees the
copy as delivered and adds its follow-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from bot.dates import format_date
from bot.domain import (
    Announcement,
    AnnouncementDraft,
    Channel,
    Delivery,
    DeliveryStatus,
    NewDelivery,
)
from bot.errors import InvalidInput, KlasbotError, NotFound
from bot.i18n import Localized, Msg
from bot.languages import person_language, shared_language
from bot.notices import CorrectionNotice, GroupEditNotice, Notice, WithdrawalNotice
from bot.outbox import DUE_AT_ONCE, notice_key
from bot.policy import policy_of_school, school_name_for
from bot.repositories import Repositories
from bot.rules import authorization, content, kinds
from bot.usecases.context import Context, protected_pupils

M_ANNOUNCEMENT_NOT_FOUND = Msg("There is no announcement #{id}.")
M_ALREADY_WITHDRAWN = Msg("Announcement #{id} was already withdrawn on {day} at {time}.")
M_CORRECTION_EMPTY = Msg(
    "Write the corrected text after the number, e.g. /correctie {id} Het proefwerk is op vrijdag."
)

WITHDRAWN_REVISION = -1
"""The `GroupEditNotice.revision` of a withdrawal."""


@dataclass(frozen=True)
class UndoResult:
    announcement: Announcement
    """The announcement as it is now (withdrawn, or with the corrected text)."""
    cancelled: int
    """Copies that had not gone out yet and now never will."""
    group_edits: int
    """Group posts that will be edited to say it was withdrawn or corrected."""
    follow_ups: int
    """E-mails and letters that will carry the withdrawal or the correction."""


async def _load(
    ctx: Context, tx: Repositories, announcement_id: int, actor_id: str | None
) -> Announcement:
    announcement = await tx.announcements.lock(announcement_id)
    if announcement is None:
        raise NotFound(M_ANNOUNCEMENT_NOT_FOUND, id=announcement_id)
    if actor_id is not None:
        roster = await tx.roster.class_roster(announcement.class_id)
        actor = await tx.roster.person(actor_id)
        authorization.require_may_undo(actor, announcement.id, announcement.author_id, roster)
    if announcement.withdrawn:
        assert announcement.withdrawn_at is not None
        local = announcement.withdrawn_at.astimezone(ctx.policy.timezone)
        raise InvalidInput(
            M_ALREADY_WITHDRAWN,
            id=announcement_id,
            day=Localized(lambda lang: format_date(local.date(), lang)),
            time=f"{local:%H:%M}",
        )
    return announcement


async def withdraw(
    ctx: Context,
    announcement_id: int,
    actor_id: str | None,
    reason: str | None = None,
    *,
    source: str = "cli",
) -> UndoResult:
    """Withdraw announcement `announcement_id` on behalf of `actor_id`: its author or staff of
    its class (from a chat), or None for the school's administrator (the CLI).

    Raises NotFound (no such announcement), RuleViolation (code `not-allowed`: the actor is not
    its author nor staff of its class; rule 5 when the reason holds personal data), InvalidInput
    (already withdrawn)."""
    now = ctx.clock.now()
    reason = (reason or "").strip() or None
    try:
        async with ctx.db.transaction() as tx:
            announcement = await _load(ctx, tx, announcement_id, actor_id)
            if reason:
                await _check_text(tx, announcement, reason, ctx)
            announcement = replace(
                announcement, withdrawn_at=now, withdrawn_by=actor_id, withdraw_reason=reason
            )
            await tx.announcements.revise(announcement)
            cancelled = await tx.outbox.cancel(announcement.id, now)
            # Its call list (letters that would come too late) is moot if not sent yet.
            await tx.outbox.cancel_notices(
                announcement.author_id,
                "late-letters",
                now,
                key=notice_key("late-letters", announcement.id),
            )
            rows = await tx.outbox.for_announcement(announcement.id)
            delivered = [d for d in rows if _delivered(d)]
            edits, follow_ups = await follow_up_delivered(tx, ctx, announcement, delivered)
            await ctx.audit(
                tx,
                "withdrawal",
                actor_id,
                [d.pupil_id for d in rows],
                announcement=announcement.id,
                class_id=announcement.class_id,
                reason=reason,
                source=source,
                cancelled=len(cancelled),
                group_edits=edits,
                follow_ups=follow_ups,
            )
    except KlasbotError as error:
        await ctx.audit_refusal(error, actor=actor_id, announcement=announcement_id, source=source)
        raise
    return UndoResult(announcement, len(cancelled), edits, follow_ups)


async def correct(
    ctx: Context,
    announcement_id: int,
    actor_id: str | None,
    text: str,
    *,
    source: str = "cli",
) -> UndoResult:
    """Replace the announcement's free text by `text` (checked by rules 4 and 5 like a new
    one). Copies not sent yet go out with the corrected text; delivered ones get the correction.

    Raises as `withdraw`, plus RuleViolation from rules 4 and 5 and InvalidInput for an empty
    text or a withdrawn announcement."""
    now = ctx.clock.now()
    text = text.strip()
    try:
        if not text:
            raise InvalidInput(M_CORRECTION_EMPTY, id=announcement_id)
        async with ctx.db.transaction() as tx:
            announcement = await _load(ctx, tx, announcement_id, actor_id)
            draft = AnnouncementDraft(
                class_id=announcement.class_id,
                author_id=announcement.author_id,
                kind=announcement.kind,
                date=announcement.date,
                period=announcement.period,
                subject=announcement.subject,
                text=text,
            )
            # The allow-list decided when it was announced; a correction keeps its kind.
            kinds.validate_draft(draft, (announcement.kind,))
            free_text = "\n".join(t for t in (draft.subject, text) if t)
            await _check_text(tx, announcement, free_text, ctx)
            found = await tx.roster.find_classes(announcement.class_id)
            body = kinds.render_body(
                announcement.kind,
                class_code=found[0].code if found else announcement.class_id,
                date=announcement.date,
                period=announcement.period,
                subject=announcement.subject,
                text=text,
                lang=ctx.policy.language,
            )
            announcement = replace(
                announcement,
                body=body,
                text=text,
                corrected_at=now,
                revision=announcement.revision + 1,
            )
            await tx.announcements.revise(announcement)
            rows = await tx.outbox.for_announcement(announcement.id)
            delivered = [d for d in rows if _delivered(d)]
            edits, follow_ups = await follow_up_delivered(tx, ctx, announcement, delivered)
            await ctx.audit(
                tx,
                "correction",
                actor_id,
                [d.pupil_id for d in rows],
                announcement=announcement.id,
                class_id=announcement.class_id,
                revision=announcement.revision,
                source=source,
                group_edits=edits,
                follow_ups=follow_ups,
            )
    except KlasbotError as error:
        await ctx.audit_refusal(error, actor=actor_id, announcement=announcement_id, source=source)
        raise
    return UndoResult(announcement, 0, edits, follow_ups)


async def _check_text(
    tx: Repositories, announcement: Announcement, text: str, ctx: Context
) -> None:
    """Rule 5 for a correction or a reason: they reach the same pupils and parents."""
    roster = await tx.roster.class_roster(announcement.class_id)
    pupils = await protected_pupils(tx, roster)
    content.check_content(text, pupils, ctx.policy.for_school(roster.school).public_contacts)


def _delivered(d: Delivery) -> bool:
    """A copy the pupil (or their household) has, or will have without our doing: sent, or on
    a printed letter the office is to post."""
    return d.status == DeliveryStatus.SENT or (
        d.channel == Channel.POST and d.letter_key is not None
    )


def is_revised(announcement: Announcement) -> bool:
    return announcement.withdrawn or announcement.revision > 0


async def revised_announcements(tx: Repositories, ids: Iterable[int]) -> dict[int, Announcement]:
    """The withdrawn or corrected ones among these announcements, each held until the
    transaction ends (shared with other recorders, exclusive of `withdraw`/`correct`): call it
    before recording copies of them as sent, then `follow_up_delivered` for those copies."""
    revised = {}
    for announcement_id in sorted(set(ids)):
        found = await tx.announcements.lock(announcement_id, shared=True)
        if found is not None and is_revised(found):
            revised[announcement_id] = found
    return revised


async def follow_up_delivered(
    tx: Repositories,
    ctx: Context,
    announcement: Announcement,
    delivered: Sequence[Delivery],
    *,
    message_id: str | None = None,
) -> tuple[int, int]:
    """Queue what a withdrawn or corrected announcement owes the copies already delivered: one
    edit per group post, one withdrawal or correction per e-mail or letter copy. Idempotent (a
    follow-up that exists is not added again). `message_id` is the group post's id when the
    copies were just posted (their rows do not carry it yet). Returns (group edits, e-mails and
    letters) added."""
    if not is_revised(announcement):
        return 0, 0
    revision = WITHDRAWN_REVISION if announcement.withdrawn else announcement.revision
    rows: list[NewDelivery] = []
    posts: set[tuple[int, str]] = set()
    for d in delivered:
        if d.channel == Channel.GROUP and d.group_id is not None:
            post_id = message_id or d.external_id
            if post_id:
                posts.add((d.group_id, post_id))
    for group_id, post_id in sorted(posts):
        rows.append(
            NewDelivery(
                person_id=announcement.author_id,
                channel=Channel.GROUP,
                reason=None,
                status=DeliveryStatus.PENDING,
                due_at=DUE_AT_ONCE,
                idempotency_key=notice_key("group-edit", announcement.id, group_id, revision),
                group_id=group_id,
                notice=GroupEditNotice(announcement.id, post_id, revision),
            )
        )
    copies = [d for d in delivered if d.channel in (Channel.EMAIL, Channel.POST) and d.recipients]
    if copies:
        names = await tx.roster.persons(
            {d.pupil_id for d in copies} | {r.person_id for d in copies for r in d.recipients}
        )
        found = await tx.roster.find_classes(announcement.class_id)
        class_code = found[0].code if found else announcement.class_id
        policy = await policy_of_school(
            tx.roster, ctx.policy, found[0].school_id if found else None
        )
        school_lang = policy.language
        held_until = policy.release_at(ctx.clock.now(), announcement.kind)
        school_name = await school_name_for(tx.roster, ctx.policy, announcement.class_id)
        for d in copies:
            pupil = names.get(d.pupil_id)
            to_pupil = pupil is not None and d.recipients[0].person_id == pupil.id
            pupil_name = pupil.given_name if pupil else ""
            recipient_name = d.recipients[0].name if len(d.recipients) == 1 else ""
            audience = "pupil" if to_pupil else "guardian"
            # In the language of whoever reads it (`bot.languages`), like the copy it follows.
            lang = shared_language(
                (person_language(names.get(r.person_id), school_lang) for r in d.recipients),
                school_lang,
            )
            kind_title = kinds.kind_title(announcement.kind, lang)
            notice: Notice
            if announcement.withdrawn:
                notice = WithdrawalNotice(
                    announcement_id=announcement.id,
                    class_code=class_code,
                    kind_title=kind_title,
                    summary=announcement.body,
                    reason=announcement.withdraw_reason or "",
                    signature=announcement.signature,
                    school_name=school_name,
                    pupil_name=pupil_name,
                    recipient_name=recipient_name,
                    audience=audience,
                )
                key = notice_key("withdrawal", d.id)
            else:
                notice = CorrectionNotice(
                    announcement_id=announcement.id,
                    revision=announcement.revision,
                    class_code=class_code,
                    kind_title=kind_title,
                    body=announcement.body,
                    signature=announcement.signature,
                    school_name=school_name,
                    pupil_name=pupil_name,
                    recipient_name=recipient_name,
                    audience=audience,
                )
                key = notice_key("correction", d.id, announcement.revision)
            rows.append(
                NewDelivery(
                    person_id=d.pupil_id,
                    channel=d.channel,
                    reason=d.reason,
                    # Rule 8 holds for what an announcement sends, its undoing included.
                    status=DeliveryStatus.HELD if held_until else DeliveryStatus.PENDING,
                    due_at=held_until or DUE_AT_ONCE,
                    idempotency_key=key,
                    recipients=d.recipients,
                    notice=notice,
                )
            )
    have = await tx.outbox.existing_keys(r.idempotency_key for r in rows)
    new = [r for r in rows if r.idempotency_key not in have]
    await tx.outbox.add(new)
    edits = sum(1 for r in new if r.channel == Channel.GROUP)
    return edits, len(new) - edits
