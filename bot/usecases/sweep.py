"""The daily sweep (stub: being written)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.usecases.context import Context


@dataclass
class SweepStats:
    ran: bool = False
    birthday_invites: int = 0
    expired_reports: int = 0
    archived_groups: int = 0
    ended_schedules: int = 0


async def run_due(ctx: Context, now: datetime | None = None) -> SweepStats:
    """Run the daily sweep when it is due (once per school day, from `policy.sweep_at`)."""
    return SweepStats()
