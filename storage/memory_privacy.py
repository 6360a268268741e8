"""GDPR erasure and the retention period over plain dicts (`storage.memory`), as
`storage.sql.privacy` does them over SQL."""

from __future__ import annotations

import builtins
import json
from collections.abc import Hashable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from bot.domain import AuditEvent, DeliveryStatus, Person, ReportState
from bot.outbox import DUE_AT_ONCE
from bot.repositories import Erased, Purged
from storage.memory_tables import (
    ACCOUNTS,
    ANNOUNCEMENTS,
    AUDIT,
    CLASSES,
    ENROLLMENTS,
    FIRINGS,
    GROUPS,
    GUARDIANSHIPS,
    HOLIDAYS,
    INVITES,
    LETTER_ITEMS,
    LETTERS,
    LINKED_AT,
    MEMBERS,
    OUTBOX,
    OUTBOX_KEYS,
    OUTBOX_PAIRS,
    PERSONS,
    REPORTS,
    SCHEDULES,
    SCHOOLS,
    STATE,
    OutboxRow,
    Table,
    Tx,
)
from storage.scrub import Scrubber

K = TypeVar("K", bound=Hashable)

_UNSENT = (DeliveryStatus.PENDING, DeliveryStatus.HELD)
_DONE = (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.WITHDRAWN)
_SCRUBBED: tuple[Table[Any, Any], ...] = (
    SCHOOLS,
    CLASSES,
    GROUPS,
    MEMBERS,
    ACCOUNTS,
    INVITES,
    ANNOUNCEMENTS,
    OUTBOX,
    LETTERS,
    AUDIT,
    STATE,
    SCHEDULES,
    FIRINGS,
    HOLIDAYS,
    REPORTS,
)
"""Every table holding texts, but the persons (the counterpart of every SQL table but
`persons`)."""


class InMemoryPrivacyRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def namesakes(
        self,
        person_id: str,
        *,
        family_names: Sequence[str],
        given_names: Sequence[str] = (),
        emails: Sequence[str],
        streets: Sequence[str],
        postal_codes: Sequence[str],
    ) -> builtins.list[Person]:
        def norm(values: Sequence[str | None], *, compact: bool = False) -> set[str]:
            out = set()
            for v in values:
                if v and v.strip():
                    out.add("".join(v.split()).lower() if compact else v.strip().lower())
            return out

        families, givens, mails = norm(family_names), norm(given_names), norm(emails)
        street_set, codes = norm(streets), norm(postal_codes, compact=True)
        found = []
        for pid, p in sorted(self.tx.read(PERSONS).items()):
            address = p.address
            if pid != person_id and (
                norm([p.family_name]) & families
                or norm([p.given_name, p.preferred_given_name]) & givens
                or norm([p.email]) & mails
                or (address is not None and norm([address.street]) & street_set)
                or (address is not None and norm([address.postal_code], compact=True) & codes)
            ):
                found.append(replace(p, guardian_ids=()))
        return found

    async def erase(
        self,
        person_id: str,
        pseudonym: str,
        *,
        everywhere: Sequence[str],
        tied: Sequence[str],
        keep: Sequence[str] = (),
    ) -> Erased:
        tx = self.tx
        counts: dict[str, int] = {}
        scrub = Scrubber(person_id, pseudonym, everywhere, tied, keep)

        theirs = [
            row
            for row in tx.read(OUTBOX).values()
            if row.delivery.pupil_id == person_id
            or person_id in {r.person_id for r in row.delivery.recipients}
        ]
        touched = sorted(row.delivery.id for row in theirs)
        counts["cancelled"] = self._cancel_unsent(person_id, theirs)
        letter_files, removed = self._letters(set(touched))
        counts["letters_removed"] = removed

        counts["platform_state"] = self._forget_accounts(person_id)
        accounts = [k for k, v in tx.read(ACCOUNTS).items() if v == person_id]
        for key in accounts:
            del tx.write(ACCOUNTS)[key]
            tx.write(LINKED_AT).pop(key, None)
        counts["accounts"] = len(accounts)
        invites = [k for k, v in tx.read(INVITES).items() if v.person_id == person_id]
        for code_hash in invites:
            del tx.write(INVITES)[code_hash]
        counts["invites"] = len(invites)
        memberships = [k for k in tx.read(MEMBERS) if k[1] == person_id]
        for member in memberships:
            del tx.write(MEMBERS)[member]
        counts["memberships"] = len(memberships)
        for link in [k for k in tx.read(GUARDIANSHIPS) if person_id in k]:
            del tx.write(GUARDIANSHIPS)[link]
        for enrollment in [k for k in tx.read(ENROLLMENTS) if k[1] == person_id]:
            del tx.write(ENROLLMENTS)[enrollment]
        counts["persons"] = 0
        if person_id in tx.read(PERSONS):
            del tx.write(PERSONS)[person_id]
            counts["persons"] = 1

        events = {
            k
            for k, e in tx.read(AUDIT).items()
            if person_id in e.person_ids or e.actor_id == person_id
        }
        counts["audit_events"] = len(events)
        counts["deliveries"] = len(touched)
        announcements = {
            k
            for k, a in tx.read(ANNOUNCEMENTS).items()
            if person_id in (a.author_id, a.withdrawn_by)
        }
        counts["announcements"] = len(announcements)
        schedules = {
            k for k, s in tx.read(SCHEDULES).items() if person_id in (s.author_id, s.cancelled_by)
        }
        counts["schedules"] = len(schedules)
        reports = {k for k, r in tx.read(REPORTS).items() if r.reporter_id == person_id}
        counts["reports"] = len(reports)
        for report_id in reports:
            tx.write(REPORTS)[report_id] = replace(tx.read(REPORTS)[report_id], reporter_id=None)
        letters = {key for key, delivery_id in tx.read(LETTER_ITEMS) if delivery_id in touched}
        tied_keys: dict[str, set[Any]] = {
            AUDIT.name: events,
            OUTBOX.name: set(touched),
            ANNOUNCEMENTS.name: announcements,
            SCHEDULES.name: schedules,
            FIRINGS.name: {k for k in tx.read(FIRINGS) if k[0] in schedules},
            REPORTS.name: reports,
            LETTERS.name: letters,
        }
        scrubbed = 0
        for table in _SCRUBBED:
            tied_here = tied_keys.get(table.name, set())
            for key, value in list(tx.read(table).items()):
                new = scrub.any(value, tied=key in tied_here)
                if isinstance(new, AuditEvent):
                    new = replace(new, person_ids=tuple(sorted(new.person_ids)))
                if new is not value and new != value:
                    tx.write(table)[key] = new
                    scrubbed += 1
        counts["scrubbed"] = scrubbed
        for aid, pupil in [k for k in tx.read(OUTBOX_PAIRS) if k[1] == person_id]:
            pairs = tx.write(OUTBOX_PAIRS)
            pairs[(aid, pseudonym)] = pairs.pop((aid, pupil))
        return Erased(counts, tuple(sorted(set(letter_files))))

    def _cancel_unsent(self, person_id: str, theirs: Sequence[OutboxRow]) -> int:
        cancelled = 0
        for row in theirs:
            d = row.delivery
            if d.status not in _UNSENT:
                continue
            left = tuple(r for r in d.recipients if r.person_id != person_id)
            own = d.pupil_id == person_id and (
                d.announcement_id is not None
                or (d.notice is not None and d.notice.template == "invite")
            )
            if own or (d.recipients and not left):
                delivery = replace(d, status=DeliveryStatus.WITHDRAWN)
                cancelled += 1
            elif len(left) != len(d.recipients):
                delivery = replace(d, recipients=left)
            else:
                continue
            self.tx.write(OUTBOX)[d.id] = replace(row, delivery=delivery)
        return cancelled

    def _letters(self, touched: set[int]) -> tuple[builtins.list[str], int]:
        tx = self.tx
        items = tx.read(LETTER_ITEMS)
        letters = tx.read(LETTERS)
        keys = {key for key, delivery_id in items if delivery_id in touched and key in letters}
        files = [letters[k].path for k in keys if letters[k].path]
        unposted = {k for k in keys if letters[k].posted_at is None}
        frontier = set(unposted)
        while frontier:
            carried = {delivery_id for key, delivery_id in items if key in frontier}
            more = {
                key
                for key, delivery_id in items
                if delivery_id in carried
                and key in letters
                and letters[key].posted_at is None
                and key not in unposted
            }
            files += [letters[k].path for k in more if letters[k].path]
            unposted |= more
            frontier = more
        for item in [k for k in items if k[0] in unposted]:
            del tx.write(LETTER_ITEMS)[item]
        for delivery_id, row in list(tx.read(OUTBOX).items()):
            if row.letter_key in unposted or row.delivery.letter_key in unposted:
                tx.write(OUTBOX)[delivery_id] = replace(
                    row,
                    letter_key=None,
                    claimed_until=None,
                    delivery=replace(row.delivery, letter_key=None),
                )
        for key in unposted:
            del tx.write(LETTERS)[key]
        return files, len(unposted)

    def _forget_accounts(self, person_id: str) -> int:
        tx = self.tx
        accounts = [k for k, v in tx.read(ACCOUNTS).items() if v == person_id]
        deleted = 0
        for platform, account_id in accounts:
            for key, value in list(tx.read(STATE).items()):
                if key[0] != platform:
                    continue
                if key[1].endswith(f":{account_id}") or _names_account(value, account_id):
                    del tx.write(STATE)[key]
                    deleted += 1
        return deleted

    async def purge(self, before: datetime, *, dry_run: bool) -> Purged:
        tx = self.tx
        outbox = tx.read(OUTBOX)
        busy = {
            row.delivery.announcement_id
            for row in outbox.values()
            if row.delivery.announcement_id is not None and row.delivery.status in _UNSENT
        }
        announcements = sorted(
            k for k, a in tx.read(ANNOUNCEMENTS).items() if a.created_at < before and k not in busy
        )
        chosen = set(announcements)
        copies = sorted(k for k, r in outbox.items() if r.delivery.announcement_id in chosen)
        notices = sorted(
            k
            for k, r in outbox.items()
            if r.delivery.announcement_id is None
            and r.delivery.status in _DONE
            and _before(r.delivery.sent_at or r.delivery.due_at, before)
            and (r.delivery.sent_at is not None or _before(DUE_AT_ONCE, r.delivery.due_at))
        )
        gone = set(copies) | set(notices)
        items = tx.read(LETTER_ITEMS)
        letters = sorted(
            key
            for key, row in tx.read(LETTERS).items()
            if row.posted_at is not None
            and row.created_at < before
            and {d for k, d in items if k == key} <= gone
        )
        events = sorted(k for k, e in tx.read(AUDIT).items() if e.at < before)
        reports = sorted(
            k
            for k, r in tx.read(REPORTS).items()
            if r.state == ReportState.CLOSED and r.closed_at is not None and r.closed_at < before
        )
        invites = sorted(
            k for k, i in tx.read(INVITES).items() if (i.used_at or i.expires_at) < before
        )
        last_fired: dict[int, datetime] = {}
        for (schedule_id, _occurrence), f in tx.read(FIRINGS).items():
            last_fired[schedule_id] = max(f.recorded_at, last_fired.get(schedule_id, f.recorded_at))
        schedules = sorted(
            k
            for k, s in tx.read(SCHEDULES).items()
            if (s.cancelled_at is not None or s.next_run is None)
            and s.created_at < before
            and max(t for t in (s.created_at, s.cancelled_at, last_fired.get(k)) if t) < before
        )
        doomed = set(schedules)
        firings = sorted(
            (k for k, f in tx.read(FIRINGS).items() if f.recorded_at < before or k[0] in doomed),
        )
        counts = {
            "announcements": len(announcements),
            "deliveries": len(copies),
            "notices": len(notices),
            "letters": len(letters),
            "audit_events": len(events),
            "reports": len(reports),
            "invites": len(invites),
            "schedules": len(schedules),
            "firings": len(firings),
        }
        files = tuple(sorted(p for k in letters if (p := tx.read(LETTERS)[k].path)))
        if dry_run:
            return Purged(counts, files)
        dropped = set(letters)
        for item in [k for k in items if k[0] in dropped or k[1] in gone]:
            del tx.write(LETTER_ITEMS)[item]
        for key in letters:
            del tx.write(LETTERS)[key]
        for delivery_id in sorted(gone):
            row = tx.read(OUTBOX)[delivery_id]
            del tx.write(OUTBOX)[delivery_id]
            tx.write(OUTBOX_KEYS).pop(row.delivery.idempotency_key, None)
            if row.delivery.announcement_id is not None:
                tx.write(OUTBOX_PAIRS).pop(
                    (row.delivery.announcement_id, row.delivery.pupil_id), None
                )
        _drop(tx, ANNOUNCEMENTS, announcements)
        _drop(tx, AUDIT, events)
        _drop(tx, REPORTS, reports)
        _drop(tx, INVITES, invites)
        _drop(tx, FIRINGS, firings)
        _drop(tx, SCHEDULES, schedules)
        return Purged(counts, files)


def _drop(tx: Tx, table: Table[K, Any], keys: Sequence[K]) -> None:
    for key in keys:
        del tx.write(table)[key]


def _before(instant: datetime | None, before: datetime) -> bool:
    return instant is not None and instant < before


def _names_account(value: str, account_id: str) -> bool:
    """Whether a stored value is a JSON object made for this account (a chat draft)."""
    try:
        data = json.loads(value)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("account") == account_id
