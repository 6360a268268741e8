"""Posting klasbot's own notices into a class group (`GroupPostNotice`: the closing post at the end
of the school year, `bot.usecases.sweep`): one outbox row per post, delivered like any group row —
retried when the platform is busy, never twice, and left to the process that runs the platform
when this one does not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.dispatch.group_edits import give_up
from bot.dispatch.retry import DispatchStats
from bot.domain import Delivery, GroupState
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.notices import GroupPostNotice
from bot.ports import GroupMessage

if TYPE_CHECKING:
    from bot.dispatch.dispatcher import Dispatcher

POSTABLE = (GroupState.ACTIVE, GroupState.ARCHIVED)
"""The closing post goes out after its group was archived (announcements stopped first)."""


async def post_notices(
    d: Dispatcher, rows: Sequence[Delivery], stats: DispatchStats, waiting: set[int]
) -> None:
    for row in rows:
        notice = row.notice
        assert isinstance(notice, GroupPostNotice)
        assert row.group_id is not None
        async with d.ctx.db.transaction() as tx:
            group = await tx.groups.get(row.group_id)
        if group is None or group.state not in POSTABLE:
            await _give_up(d, row, "the group is no longer bound", stats)
            continue
        platform = d.ctx.platforms.get(group.platform)
        if platform is None:
            # Another process (`klasbot run` with this platform configured) posts it.
            async with d.ctx.db.transaction() as tx:
                await tx.outbox.release([row.id], claim=row.claim)
            stats.waiting += 1
            waiting.add(row.id)
            continue
        message = GroupMessage(
            chat_id=group.chat_id, text=notice.text, idempotency_key=row.idempotency_key
        )
        try:
            external_id = await platform.post(
                message, silent=d.ctx.policy.silent(d.ctx.clock.now(), None)
            )
        except TransientDeliveryError as error:
            await d.retry_later([row], error, stats)
        except PermanentDeliveryError as error:
            await _give_up(d, row, str(error), stats)
        else:
            await d.sent([row], external_id, stats)


async def _give_up(d: Dispatcher, row: Delivery, error: str, stats: DispatchStats) -> None:
    """A post that cannot be made (the bot is no longer in the group): recorded as failed and
    audited (`give_up`); nobody else is owed anything for it."""
    notice = row.notice
    await give_up(
        d,
        row,
        error,
        stats,
        event="group-post-failed",
        persons=[],
        group=row.group_id,
        purpose=notice.purpose if isinstance(notice, GroupPostNotice) else None,
    )
