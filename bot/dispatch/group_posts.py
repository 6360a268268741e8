"""Posting into class groups, several posts at once (`PostPipeline`), and klasbot's own notices
in a group (`GroupPostNotice`: the closing post at the end of the school year,
`bot.usecases.sweep`): one outbox row per post, delivered like any group row — retried when the
platform is busy, never twice, and left to the process that runs the platform when this one does
not.

How several posts go out at once without losing or repeating one:
- each group's posts go out one after the other, in the batch's order (a chat shows them in the
  order they were announced); different groups' posts overlap;
- at most `PlatformCapabilities.posts_in_flight` posts per platform are out whose outcome is not
  recorded yet: a post takes a place before it is sent and gives it back only once its outcome is
  committed. A crash therefore repeats at most that many posts (with their idempotency keys), as
  a crash between sending and recording repeated the one post in flight before; a platform that
  declares 1 sends and records one post at a time;
- the adapter's rate limiter decides when each post really goes (Telegram: `chats.limits`);
- accepted posts are recorded by one writer, each in the order it came back, while the others
  are being sent; when a send fails unexpectedly the others stop, and what was accepted is still
  recorded before the error goes up.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.dispatch.group_edits import give_up
from bot.dispatch.retry import DispatchStats
from bot.domain import Delivery, GroupState
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.notices import GroupPostNotice
from bot.ports import ChatPlatform, GroupMessage

if TYPE_CHECKING:
    from bot.dispatch.dispatcher import Dispatcher

POSTABLE = (GroupState.ACTIVE, GroupState.ARCHIVED)
"""The closing post goes out after its group was archived (announcements stopped first)."""


RECORD_AT_MOST = 64
"""Accepted posts recorded in one transaction at most."""


@dataclass(frozen=True)
class Post:
    """One post to make: the rows it delivers, where it goes and what it says."""

    rows: Sequence[Delivery]
    platform: ChatPlatform
    message: GroupMessage
    silent: Callable[[], bool]
    """Whether it goes without a notification, decided when it goes out (A.1)."""
    failed: Callable[[PermanentDeliveryError], Awaitable[None]]
    """Records a post that cannot be made."""


class PostPipeline:
    """Sends a batch's posts, several at once (see the module docstring)."""

    def __init__(self, d: Dispatcher, stats: DispatchStats) -> None:
        self.d = d
        self.stats = stats
        self._out: Counter[str] = Counter()
        self._accepted: list[tuple[Post, str]] = []
        self._changed = asyncio.Condition()
        self._writer: asyncio.Task[None] | None = None
        self._broken = False

    async def send(self, posts: Sequence[Post]) -> None:
        chains: dict[tuple[str, str], list[Post]] = {}
        for post in posts:
            chains.setdefault((post.platform.name, post.message.chat_id), []).append(post)
        tasks = [asyncio.create_task(self._chain(chain)) for chain in chains.values()]
        try:
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        finally:
            # Every post the platform accepted is recorded, also when another one failed.
            if self._writer is not None:
                await self._writer  # its error (the database) stops the batch
            await self._write()

    async def _chain(self, chain: list[Post]) -> None:
        for post in chain:
            await self._take(post.platform)
            try:
                external_id = await post.platform.post(post.message, silent=post.silent())
            except TransientDeliveryError as error:
                await self.d.retry_later(post.rows, error, self.stats)
                await self._give_back(post.platform.name)
            except PermanentDeliveryError as error:
                await post.failed(error)
                await self._give_back(post.platform.name)
            except BaseException:
                await self._give_back(post.platform.name)
                raise
            else:
                self._accepted.append((post, external_id))
                if self._writer is None or (self._writer.done() and not self._broken):
                    self._writer = asyncio.create_task(self._write())

    async def _take(self, platform: ChatPlatform) -> None:
        limit = max(1, platform.capabilities.posts_in_flight)
        async with self._changed:
            await self._changed.wait_for(lambda: self._broken or self._out[platform.name] < limit)
            if self._broken:
                raise RuntimeError("recording the posts' outcomes failed; no more posts now")
            self._out[platform.name] += 1

    async def _give_back(self, name: str, count: int = 1) -> None:
        async with self._changed:
            self._out[name] -= count
            self._changed.notify_all()

    async def _write(self) -> None:
        """Record the accepted posts until none is left, all that came back since the last
        transaction in the next one (one writer at a time)."""
        try:
            while self._accepted:
                taken = self._accepted[:RECORD_AT_MOST]
                await self.d.sent_each(
                    [(post.rows, external_id) for post, external_id in taken], self.stats
                )
                del self._accepted[: len(taken)]
                for post, _ in taken:
                    await self._give_back(post.platform.name)
        except BaseException:
            async with self._changed:
                self._broken = True  # nothing more goes out: it could not be recorded
                self._changed.notify_all()
            raise


async def post_notices(
    d: Dispatcher, rows: Sequence[Delivery], stats: DispatchStats, waiting: set[int]
) -> None:
    posts: list[Post] = []
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

        async def failed(error: PermanentDeliveryError, row: Delivery = row) -> None:
            await _give_up(d, row, str(error), stats)

        posts.append(
            Post(
                [row],
                platform,
                message,
                silent=lambda: d.ctx.policy.silent(d.ctx.clock.now(), None),
                failed=failed,
            )
        )
    await PostPipeline(d, stats).send(posts)


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
