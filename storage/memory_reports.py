"""Reports and escalations over plain dicts (`storage.memory`)."""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import datetime

from bot.domain import Report, ReportState
from storage.memory_tables import REPORTS, Tx


class InMemoryReportRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, report: Report) -> int:
        new_id = self.tx.store.next_id(REPORTS)
        self.tx.insert(REPORTS, new_id, replace(report, id=new_id))
        return new_id

    async def get(self, report_id: int) -> Report | None:
        return self.tx.read(REPORTS).get(report_id)

    async def list(self, *, open_only: bool = False) -> builtins.list[Report]:
        return [
            r
            for _, r in sorted(self.tx.read(REPORTS).items())
            if not open_only or r.state == ReportState.OPEN
        ]

    async def close(self, report_id: int, by: str, note: str, now: datetime) -> bool:
        found = self.tx.read(REPORTS).get(report_id)
        if found is None or found.state == ReportState.CLOSED:
            return False
        self.tx.write(REPORTS)[report_id] = replace(
            found, state=ReportState.CLOSED, closed_at=now, closed_by=by, close_note=note
        )
        return True
