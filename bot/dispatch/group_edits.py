"""Editing group posts of withdrawn and corrected announcements (`bot.usecases.undo`): each edit
is an outbox row (one per post) and goes out like any delivery — retried when the platform is
busy, never twice. The text is the announcement as it is when the edit goes out, so a late edit
shows the latest state."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from bot.dispatch.retry import DispatchStats
from bot.domain import Announcement, Delivery, GroupState
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.i18n import Msg
from bot.notice_texts import reason_line
from bot.notices import GroupEditNotice
from bot.ports import GroupMessage
from bot.usecases.groups import group_lost

if TYPE_CHECKING:
    from bot.dispatch.dispatcher import Dispatcher

M_WITHDRAWN_HEADER = Msg("WITHDRAWN: this announcement no longer applies.")
M_CORRECTED_HEADER = Msg("CORRECTED: this announcement was changed.")


def edited_text(announcement: Announcement, lang: str) -> tuple[str, str]:
    """(plain text, HTML) of a withdrawn or corrected announcement's group post."""
    if announcement.withdrawn:
        header = f"❌ {M_WITHDRAWN_HEADER(lang)}"
        reason = announcement.withdraw_reason
        lines = [header, reason_line(reason, lang)] if reason else [header]
        text = "\n".join(lines) + f"\n\n{announcement.signed_text}"
        html = (
            "<br>".join(f"<b>{escape(line)}</b>" for line in lines)
            + f"<br><br><s>{escape(announcement.body)}</s>".replace("\n", "<br>")
            + f"<br><br><i>{escape(announcement.signature)}</i>"
        )
        return text, html
    header = f"✏️ {M_CORRECTED_HEADER(lang)}"
    text = f"{header}\n\n{announcement.signed_text}"
    html = (
        f"<b>{escape(header)}</b><br><br>"
        + escape(announcement.body).replace("\n", "<br>")
        + f"<br><br><i>{escape(announcement.signature)}</i>"
    )
    return text, html


async def edit_groups(
    d: Dispatcher, rows: Sequence[Delivery], stats: DispatchStats, waiting: set[int]
) -> None:
    for row in rows:
        notice = row.notice
        assert isinstance(notice, GroupEditNotice)
        assert row.group_id is not None
        async with d.ctx.db.transaction() as tx:
            group = await tx.groups.get(row.group_id)
            announcement = await tx.announcements.get(notice.announcement_id)
        if group is None or announcement is None or group.state != GroupState.ACTIVE:
            await _give_up(d, row, "the group is no longer bound", stats)
            continue
        platform = d.ctx.platforms.get(group.platform)
        if platform is None:
            # Another process (`klasbot run` with this platform configured) edits it.
            async with d.ctx.db.transaction() as tx:
                await tx.outbox.release([row.id], claim=row.claim)
            stats.waiting += 1
            waiting.add(row.id)
            continue
        text, html = edited_text(announcement, d.ctx.policy.language)
        message = GroupMessage(
            chat_id=group.chat_id,
            text=text,
            html=html,
            idempotency_key=row.idempotency_key,
        )
        try:
            if platform.capabilities.can_edit_posts:
                await platform.edit(group.chat_id, notice.message_id, message)
                external_id = notice.message_id
            else:
                # The platform cannot change a post: the withdrawal or correction is a new one,
                # silent in lessons like the post it is about (A.1); it takes that post's kind,
                # so a cancelled lesson that goes on after all is heard at once.
                silent = d.ctx.policy.silent(d.ctx.clock.now(), announcement.kind)
                external_id = await platform.post(message, silent=silent)
        except TransientDeliveryError as error:
            await d.retry_later([row], error, stats)
        except PermanentDeliveryError as error:
            if error.reason == "group-lost":
                await group_lost(d.ctx, group.platform, group.chat_id)
            await _give_up(d, row, str(error), stats)
        else:
            await d.sent([row], external_id, stats)


async def _give_up(d: Dispatcher, row: Delivery, error: str, stats: DispatchStats) -> None:
    """An edit that cannot be made: recorded as failed (`give_up`)."""
    notice = row.notice
    await give_up(
        d,
        row,
        error,
        stats,
        event="group-edit-failed",
        persons=[row.pupil_id],
        announcement=notice.announcement_id if isinstance(notice, GroupEditNotice) else None,
    )


async def give_up(
    d: Dispatcher,
    row: Delivery,
    error: str,
    stats: DispatchStats,
    *,
    event: str,
    persons: Sequence[str],
    **details: object,
) -> None:
    """A group edit or notice that cannot be made (the bot is no longer in the group): recorded
    as failed and audited as `event`; the pupils' own copies and follow-ups are rows of their
    own and are not affected."""
    async with d.ctx.db.transaction() as tx:
        changed = await tx.outbox.reroute(
            row.id,
            channel="unreachable",
            reason="group-lost",
            recipients=(),
            error=error[:1000],
            now=d.ctx.clock.now(),
            claim=row.claim,
        )
        if changed:
            await d.ctx.audit(tx, event, None, persons, error=error[:500], **details)
    if changed:
        stats.failed += 1
    else:
        d.lost_claim([row])
