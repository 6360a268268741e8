"""The tables and transactions behind `storage.memory` (plain dicts; no SQLAlchemy).

A transaction reads the committed tables until it first writes one; it then works on its own copy
of that table. Committing installs the copies; when another transaction committed the same table
in between, the rows this one changed are merged into the newer table row by row (a row both
added raises `DuplicateKeyError`). Committed tables are never changed in place, only replaced.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar, cast

from bot.domain import (
    Announcement,
    AuditEvent,
    Delivery,
    Firing,
    Group,
    Holiday,
    Invite,
    Membership,
    Person,
    Report,
    Schedule,
    School,
    SchoolClass,
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class DuplicateKeyError(Exception):
    """A primary or unique key added twice: the in-memory counterpart of an IntegrityError."""


@dataclass(frozen=True, slots=True)
class Table(Generic[K, V]):
    name: str


@dataclass(frozen=True, slots=True)
class OutboxRow:
    delivery: Delivery  # its `claim` is the claim that holds the row
    claimed_until: datetime | None = None
    letter_key: str | None = None


@dataclass(frozen=True, slots=True)
class LetterRow:
    key: str
    recipient_name: str
    address: str
    path: str
    created_at: datetime
    posted_at: datetime | None = None


SCHOOLS: Table[str, School] = Table("schools")
PERSONS: Table[str, Person] = Table("persons")  # guardian_ids kept in GUARDIANSHIPS
GUARDIANSHIPS: Table[tuple[str, str], None] = Table("guardianships")  # (pupil, guardian)
CLASSES: Table[str, SchoolClass] = Table("classes")
ENROLLMENTS: Table[tuple[str, str, str], bool] = Table("enrollments")  # → primary
GROUPS: Table[int, Group] = Table("groups")
MEMBERS: Table[tuple[int, str], Membership] = Table("members")  # (group, person)
ACCOUNTS: Table[tuple[str, str], str] = Table("accounts")  # (platform, account) → person
LINKED_AT: Table[tuple[str, str], datetime] = Table("linked_at")  # (platform, account) → when
INVITES: Table[str, Invite] = Table("invites")  # by code hash
ANNOUNCEMENTS: Table[int, Announcement] = Table("announcements")
OUTBOX: Table[int, OutboxRow] = Table("outbox")
OUTBOX_KEYS: Table[str, int] = Table("outbox_keys")  # unique idempotency key → id
OUTBOX_PAIRS: Table[tuple[int, str], int] = Table("outbox_pairs")  # (announcement, pupil) → id
LETTERS: Table[str, LetterRow] = Table("letters")
LETTER_ITEMS: Table[tuple[str, int], None] = Table("letter_items")  # (letter, delivery)
AUDIT: Table[int, AuditEvent] = Table("audit")
STATE: Table[tuple[str, str], str] = Table("state")
SCHEDULES: Table[int, Schedule] = Table("schedules")
FIRINGS: Table[tuple[int, datetime], Firing] = Table("firings")  # (schedule, occurrence)
HOLIDAYS: Table[tuple[date, date, str], Holiday] = Table("holidays")  # (start, end, name)
REPORTS: Table[int, Report] = Table("reports")

_MISSING: Any = object()


@dataclass
class Store:
    """The committed tables and the id sequences (which, as in a database, never go back)."""

    tables: dict[str, dict[Any, Any]] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)

    def next_id(self, table: Table[int, Any]) -> int:
        n = self.sequences.get(table.name, 0) + 1
        self.sequences[table.name] = n
        return n


class Tx:
    """One transaction's view of the store."""

    __slots__ = ("_base", "_done", "_work", "store")

    def __init__(self, store: Store) -> None:
        self.store = store
        self._base: dict[str, dict[Any, Any]] = {}
        self._work: dict[str, dict[Any, Any]] = {}
        self._done = False

    def read(self, table: Table[K, V]) -> dict[K, V]:
        """The table as this transaction sees it (do not change the dict)."""
        if self._done:
            raise RuntimeError("the transaction has ended")
        work = self._work.get(table.name)
        if work is None:
            work = self.store.tables.get(table.name)
            if work is None:
                work = self.store.tables[table.name] = {}
        return cast(dict[K, V], work)

    def write(self, table: Table[K, V]) -> dict[K, V]:
        """This transaction's own copy of the table, to change."""
        if self._done:
            raise RuntimeError("the transaction has ended")
        work = self._work.get(table.name)
        if work is None:
            base = self.store.tables.setdefault(table.name, {})
            self._base[table.name] = base
            work = self._work[table.name] = dict(base)
        return cast(dict[K, V], work)

    def insert(self, table: Table[K, V], key: K, value: V) -> None:
        rows = self.write(table)
        if key in rows:
            raise DuplicateKeyError(f"{table.name}: {key!r} exists")
        rows[key] = value

    def commit(self) -> None:
        tables = self.store.tables
        merged: dict[str, dict[Any, Any]] = {}
        for name, work in self._work.items():
            base, current = self._base[name], tables[name]
            if current is base:
                merged[name] = work
                continue
            # Someone committed this table since we copied it: apply our changes to theirs.
            new = dict(current)
            for key, value in work.items():
                old = base.get(key, _MISSING)
                if old is _MISSING:
                    if key in current:
                        raise DuplicateKeyError(f"{name}: {key!r} added concurrently")
                    new[key] = value
                elif old is not value:
                    new[key] = value
            for key in base.keys() - work.keys():
                new.pop(key, None)
            merged[name] = new
        tables.update(merged)
        self._done = True

    def rollback(self) -> None:
        self._work.clear()
        self._done = True
