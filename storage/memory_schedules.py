"""Schedules, their firings and the school's holidays over plain dicts (`storage.memory`)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.domain import Firing, Holiday, Schedule
from storage.memory_tables import FIRINGS, HOLIDAYS, SCHEDULES, Tx


class InMemoryScheduleRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, schedule: Schedule) -> int:
        new_id = self.tx.store.next_id(SCHEDULES)
        self.tx.insert(SCHEDULES, new_id, replace(schedule, id=new_id))
        return new_id

    async def get(self, schedule_id: int) -> Schedule | None:
        return self.tx.read(SCHEDULES).get(schedule_id)

    async def lock(self, schedule_id: int) -> Schedule | None:
        return await self.get(schedule_id)

    async def list(
        self, class_id: str | None = None, *, active_only: bool = False
    ) -> builtins.list[Schedule]:
        return [
            s
            for _, s in sorted(self.tx.read(SCHEDULES).items())
            if (class_id is None or s.class_id == class_id) and (s.active or not active_only)
        ]

    async def count_active(self, class_id: str) -> int:
        return len(await self.list(class_id, active_only=True))

    async def due(self, now: datetime, limit: int) -> builtins.list[Schedule]:
        due = [
            s
            for s in self.tx.read(SCHEDULES).values()
            if s.active and s.next_run is not None and s.next_run <= now
        ]
        return sorted(due, key=lambda s: (s.next_run, s.id))[:limit]

    async def next_due(self) -> datetime | None:
        runs = [s.next_run for s in self.tx.read(SCHEDULES).values() if s.active and s.next_run]
        return min(runs) if runs else None

    async def set_next_run(self, schedule_id: int, next_run: datetime | None) -> None:
        rows = self.tx.write(SCHEDULES)
        if schedule_id in rows:
            rows[schedule_id] = replace(rows[schedule_id], next_run=next_run)

    async def cancel(self, schedule_id: int, by: str | None, now: datetime) -> bool:
        rows = self.tx.write(SCHEDULES)
        found = rows.get(schedule_id)
        if found is None or found.cancelled_at is not None:
            return False
        rows[schedule_id] = replace(found, cancelled_at=now, cancelled_by=by)
        return True

    async def record_firing(self, firing: Firing) -> bool:
        key = (firing.schedule_id, firing.occurrence)
        if key in self.tx.read(FIRINGS):
            return False
        self.tx.insert(FIRINGS, key, firing)
        return True

    async def firings(self, schedule_id: int) -> builtins.list[Firing]:
        return sorted(
            (f for f in self.tx.read(FIRINGS).values() if f.schedule_id == schedule_id),
            key=lambda f: f.occurrence,
        )


class InMemoryHolidayRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, holidays: Sequence[Holiday]) -> int:
        added = 0
        for h in holidays:
            key = (h.start, h.end, h.name)
            if key not in self.tx.read(HOLIDAYS):
                self.tx.insert(HOLIDAYS, key, h)
                added += 1
        return added

    async def list(self) -> builtins.list[Holiday]:
        return [h for _, h in sorted(self.tx.read(HOLIDAYS).items())]
