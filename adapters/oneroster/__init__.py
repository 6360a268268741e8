"""OneRoster 1.1 / 1.2 CSV import: validates a roster directory into a bot.domain.RosterSnapshot."""

from __future__ import annotations

from adapters.oneroster.reader import (
    RosterError,
    RosterIssue,
    RosterRead,
    read_roster,
    read_roster_details,
)

__all__ = ["RosterError", "RosterIssue", "RosterRead", "read_roster", "read_roster_details"]
