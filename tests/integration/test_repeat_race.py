"""The same announcement sent twice at the same instant, from two processes' worth of
connections, on SQLite and PostgreSQL: one goes out, the other is asked about (`AlreadySent`),
never both (`announcing.find_repeat` under the class's turn)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot import bootstrap
from bot.clock import FrozenClock
from bot.domain import AnnouncementDraft
from bot.usecases import announcing, queries
from storage.store import Database


async def test_two_identical_announcements_at_once_make_one(
    app: bootstrap.App, clock: FrozenClock
) -> None:
    draft = AnnouncementDraft("4C", "t-jansen", "reminder", text="Neem je gymspullen mee.")
    other = Database(app.settings.database_url)
    try:
        second = replace(app.ctx, db=other)
        outcomes = await asyncio.gather(
            *(announcing.announce(ctx, draft) for ctx in (app.ctx, second, app.ctx, second)),
            return_exceptions=True,
        )
    finally:
        await other.dispose()
    made = [o for o in outcomes if isinstance(o, announcing.AnnounceResult)]
    asked = [o for o in outcomes if isinstance(o, announcing.AlreadySent)]
    assert (len(made), len(asked)) == (1, 3), outcomes
    assert len(await queries.announcements(app.ctx, "4C")) == 1
