"""Announcements, the outbox, letters and the audit trail in memory (see `storage.memory`)."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from bot.domain import (
    Announcement,
    AuditEvent,
    Channel,
    Delivery,
    DeliveryStatus,
    Kind,
    LetterRecord,
    NewDelivery,
    Reason,
    Recipient,
)
from bot.notices import Notice
from storage.memory_tables import (
    ANNOUNCEMENTS,
    AUDIT,
    LETTER_ITEMS,
    LETTERS,
    OUTBOX,
    OUTBOX_KEYS,
    OUTBOX_PAIRS,
    DuplicateKeyError,
    LetterRow,
    OutboxRow,
    Tx,
)

_CLAIMABLE = (DeliveryStatus.PENDING, DeliveryStatus.HELD)


class InMemoryAnnouncementRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, announcement: Announcement) -> int:
        new_id = self.tx.store.next_id(ANNOUNCEMENTS)
        row = replace(announcement, id=new_id, kind=Kind(announcement.kind))
        self.tx.insert(ANNOUNCEMENTS, new_id, row)
        return new_id

    async def get(self, announcement_id: int) -> Announcement | None:
        return self.tx.read(ANNOUNCEMENTS).get(announcement_id)

    async def list(self, class_id: str | None = None) -> list[Announcement]:
        return [
            a
            for _, a in sorted(self.tx.read(ANNOUNCEMENTS).items())
            if class_id is None or a.class_id == class_id
        ]

    async def lock(self, announcement_id: int, *, shared: bool = False) -> Announcement | None:
        """Transactions in memory are serial: nothing to wait for."""
        return await self.get(announcement_id)

    async def revise(self, announcement: Announcement) -> None:
        stored = self.tx.read(ANNOUNCEMENTS).get(announcement.id)
        if stored is None:
            return
        self.tx.write(ANNOUNCEMENTS)[announcement.id] = replace(
            stored,
            body=announcement.body,
            text=announcement.text,
            subject=announcement.subject,
            withdrawn_at=announcement.withdrawn_at,
            withdrawn_by=announcement.withdrawn_by,
            withdraw_reason=announcement.withdraw_reason,
            corrected_at=announcement.corrected_at,
            revision=announcement.revision,
        )


class InMemoryOutboxRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    def _update(self, row: OutboxRow, **changes: object) -> None:
        delivery = replace(row.delivery, **changes)  # type: ignore[arg-type]
        self.tx.write(OUTBOX)[delivery.id] = replace(row, delivery=delivery, claimed_until=None)

    def _held(
        self, ids: Iterable[int], claim: str | None, *, withdrawn_too: bool = False
    ) -> builtins.list[OutboxRow]:
        """The rows still held by `claim` (every row when it is None); a withdrawn row only
        when `withdrawn_too` (see `storage.sql.outbox`)."""
        return [
            r
            for r in self._rows(ids)
            if (claim is None or r.delivery.claim == claim)
            and (withdrawn_too or r.delivery.status != DeliveryStatus.WITHDRAWN)
        ]

    async def add(self, rows: Sequence[NewDelivery]) -> list[int]:
        keys, pairs = self.tx.read(OUTBOX_KEYS), self.tx.read(OUTBOX_PAIRS)
        seen_keys: set[str] = set()
        seen_pairs: set[tuple[int, str]] = set()
        for r in rows:
            pair = (r.announcement_id, r.person_id) if r.announcement_id is not None else None
            if r.idempotency_key in keys or r.idempotency_key in seen_keys:
                raise DuplicateKeyError(f"deliveries: key {r.idempotency_key!r} exists")
            if pair is not None and (pair in pairs or pair in seen_pairs):
                raise DuplicateKeyError(f"deliveries: {pair!r} exists")
            seen_keys.add(r.idempotency_key)
            if pair is not None:
                seen_pairs.add(pair)
        ids = []
        for r in rows:
            new_id = self.tx.store.next_id(OUTBOX)
            delivery = Delivery(
                id=new_id,
                announcement_id=r.announcement_id,
                pupil_id=r.person_id,
                channel=Channel(r.channel),
                reason=Reason(r.reason) if r.reason else None,
                status=DeliveryStatus(r.status),
                recipients=tuple(r.recipients),
                group_id=r.group_id,
                idempotency_key=r.idempotency_key,
                due_at=r.due_at,
                notice=r.notice,
            )
            self.tx.insert(OUTBOX, new_id, OutboxRow(delivery))
            self.tx.insert(OUTBOX_KEYS, r.idempotency_key, new_id)
            if r.announcement_id is not None:
                self.tx.insert(OUTBOX_PAIRS, (r.announcement_id, r.person_id), new_id)
            ids.append(new_id)
        return ids

    async def for_announcement(self, announcement_id: int) -> list[Delivery]:
        found = [
            row.delivery
            for row in self.tx.read(OUTBOX).values()
            if row.delivery.announcement_id == announcement_id
        ]
        return sorted(found, key=lambda d: d.pupil_id)

    async def for_person(self, person_id: str) -> list[Delivery]:
        return [
            row.delivery
            for _, row in sorted(self.tx.read(OUTBOX).items())
            if row.delivery.pupil_id == person_id
            or any(r.person_id == person_id for r in row.delivery.recipients)
        ]

    async def get(self, ids: Sequence[int]) -> list[Delivery]:
        rows = self.tx.read(OUTBOX)
        return [rows[i].delivery for i in sorted(set(ids)) if i in rows]

    async def claim_due(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        *,
        exclude: Iterable[int] = (),
        claim: str | None = None,
    ) -> list[Delivery]:
        excluded = set(exclude)

        def claimable(row: OutboxRow) -> bool:
            d = row.delivery
            return (
                d.status in _CLAIMABLE
                and d.channel != Channel.UNREACHABLE
                and row.letter_key is None
                and (row.claimed_until is None or row.claimed_until <= now)
                and d.id not in excluded
            )

        rows = self.tx.read(OUTBOX)
        due = [r for r in rows.values() if claimable(r) and r.delivery.due_at <= now]  # type: ignore[operator]
        due.sort(key=lambda r: (r.delivery.due_at, r.delivery.id))
        chosen = due[: max(limit, 0)]
        # A group post is claimed whole (see `storage.sql.outbox`).
        units = {
            (r.delivery.announcement_id, r.delivery.group_id)
            for r in chosen
            if r.delivery.channel == Channel.GROUP
            and r.delivery.group_id is not None
            and r.delivery.announcement_id is not None
        }
        if units:
            have = {r.delivery.id for r in chosen}
            chosen += [
                r
                for r in rows.values()
                if r.delivery.id not in have
                and r.delivery.channel == Channel.GROUP
                and (r.delivery.announcement_id, r.delivery.group_id) in units
                and claimable(r)
            ]
        out = []
        table = self.tx.write(OUTBOX)
        for row in chosen:
            delivery = replace(row.delivery, claim=claim)
            if delivery.status == DeliveryStatus.HELD:
                delivery = replace(delivery, status=DeliveryStatus.PENDING)
            table[delivery.id] = replace(row, delivery=delivery, claimed_until=lease_until)
            out.append(delivery)
        return out

    def _rows(self, ids: Iterable[int]) -> builtins.list[OutboxRow]:
        rows = self.tx.read(OUTBOX)
        return [rows[i] for i in dict.fromkeys(ids) if i in rows]

    async def hold(
        self, ids: Sequence[int], until: datetime, *, claim: str | None = None
    ) -> builtins.list[int]:
        held = self._held(ids, claim)
        for row in held:
            self._update(row, status=DeliveryStatus.HELD, due_at=until)
        return sorted(r.delivery.id for r in held)

    async def mark_sent(
        self,
        ids: Sequence[int],
        now: datetime,
        external_id: str | None,
        *,
        count_attempt: bool = True,
        claim: str | None = None,
    ) -> builtins.list[int]:
        held = self._held(ids, claim, withdrawn_too=True)
        for row in held:
            if count_attempt:
                self._update(
                    row,
                    status=DeliveryStatus.SENT,
                    sent_at=now,
                    external_id=external_id,
                    attempts=row.delivery.attempts + 1,
                    last_error=None,
                )
            else:
                self._update(row, status=DeliveryStatus.SENT, sent_at=now)
        return sorted(r.delivery.id for r in held)

    async def mark_retry(
        self, delivery_id: int, error: str, due_at: datetime, *, claim: str | None = None
    ) -> bool:
        held = self._held([delivery_id], claim)
        for row in held:
            self._update(
                row,
                status=DeliveryStatus.PENDING,
                due_at=due_at,
                attempts=row.delivery.attempts + 1,
                channel_attempts=row.delivery.channel_attempts + 1,
                last_error=error,
            )
        return bool(held)

    async def reroute(
        self,
        delivery_id: int,
        *,
        channel: str,
        reason: str | None,
        recipients: Sequence[Recipient],
        error: str,
        now: datetime,
        claim: str | None = None,
    ) -> bool:
        to = Channel(channel)
        held = self._held([delivery_id], claim)
        for row in held:
            self._update(
                row,
                channel=to,
                reason=Reason(reason) if reason else None,
                recipients=tuple(recipients),
                status=DeliveryStatus.FAILED
                if to == Channel.UNREACHABLE
                else DeliveryStatus.PENDING,
                group_id=None,
                due_at=now,
                attempts=row.delivery.attempts + 1,
                channel_attempts=0,
                last_error=error,
            )
        return bool(held)

    async def replace_notice(self, delivery_id: int, notice: Notice) -> None:
        for row in self._rows([delivery_id]):
            delivery = replace(row.delivery, notice=notice)
            self.tx.write(OUTBOX)[delivery_id] = replace(row, delivery=delivery)

    async def release(self, ids: Sequence[int], *, claim: str | None = None) -> builtins.list[int]:
        held = self._held(ids, claim)
        for row in held:
            self.tx.write(OUTBOX)[row.delivery.id] = replace(row, claimed_until=None)
        return sorted(r.delivery.id for r in held)

    async def cancel(self, announcement_id: int, now: datetime) -> builtins.list[int]:
        cancelled = [
            row
            for row in self.tx.read(OUTBOX).values()
            if row.delivery.announcement_id == announcement_id
            and row.delivery.status in _CLAIMABLE
            and row.letter_key is None
            and (row.claimed_until is None or row.claimed_until <= now)
        ]
        for row in cancelled:
            self._update(row, status=DeliveryStatus.WITHDRAWN)
        return sorted(r.delivery.id for r in cancelled)

    async def existing_keys(self, keys: Iterable[str]) -> set[str]:
        have = self.tx.read(OUTBOX_KEYS)
        return {k for k in keys if k in have}

    async def cancel_notices(
        self, person_id: str, template: str, now: datetime, *, key: str | None = None
    ) -> builtins.list[int]:
        cancelled = [
            row
            for row in self.tx.read(OUTBOX).values()
            if row.delivery.pupil_id == person_id
            and (key is None or row.delivery.idempotency_key == key)
            and row.delivery.announcement_id is None
            and row.delivery.notice is not None
            and row.delivery.notice.template == template
            and row.delivery.status in _CLAIMABLE
            and row.letter_key is None
            and (row.claimed_until is None or row.claimed_until <= now)
        ]
        for row in cancelled:
            self._update(row, status=DeliveryStatus.WITHDRAWN)
        return sorted(r.delivery.id for r in cancelled)


class InMemoryLetterRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def open_key(self, base_key: str) -> str:
        letters = self.tx.read(LETTERS)
        n, key = 1, base_key
        while True:
            row = letters.get(key)
            if row is None or row.posted_at is None:
                return key
            n += 1
            key = f"{base_key}-{n}"

    async def lock(self, base_key: str) -> None:
        """Transactions in memory are serial: nothing to wait for."""

    async def add(
        self,
        key: str,
        recipient_name: str,
        address: str,
        path: str,
        now: datetime,
        delivery_ids: Sequence[int],
        *,
        claim: str | None = None,
    ) -> builtins.list[int]:
        outbox = self.tx.read(OUTBOX)
        ids = [
            i
            for i in dict.fromkeys(delivery_ids)
            if claim is None
            or (
                i in outbox
                and outbox[i].delivery.claim == claim
                and outbox[i].delivery.status != DeliveryStatus.WITHDRAWN
            )
        ]
        letter = self.tx.read(LETTERS).get(key)
        if letter is None:
            letter = LetterRow(key, recipient_name, address, path, now)
        else:
            letter = replace(letter, path=path)
        self.tx.write(LETTERS)[key] = letter
        items = self.tx.write(LETTER_ITEMS)
        for delivery_id in ids:
            items[(key, delivery_id)] = None
        for delivery_id in ids:
            row = outbox.get(delivery_id)
            if row is not None and row.letter_key is None:
                delivery = replace(row.delivery, attempts=row.delivery.attempts + 1, letter_key=key)
                self.tx.write(OUTBOX)[delivery_id] = OutboxRow(delivery, None, key)
        return ids

    def _carried(self) -> dict[str, builtins.list[Delivery]]:
        outbox = self.tx.read(OUTBOX)
        carried: dict[str, list[Delivery]] = {}
        for key, delivery_id in self.tx.read(LETTER_ITEMS):
            if delivery_id in outbox:
                carried.setdefault(key, []).append(outbox[delivery_id].delivery)
        return carried

    async def deliveries(self, key: str) -> list[Delivery]:
        return sorted(self._carried().get(key, []), key=lambda d: d.id)

    async def list(self, *, unposted_only: bool = False) -> builtins.list[LetterRecord]:
        letters = sorted(self.tx.read(LETTERS).values(), key=lambda r: (r.created_at, r.key))
        carried = self._carried()
        out = []
        for row in letters:
            if unposted_only and row.posted_at is not None:
                continue
            ds = carried.get(row.key, [])
            out.append(
                LetterRecord.carrying(
                    row.key,
                    row.recipient_name,
                    row.address,
                    row.path,
                    row.created_at,
                    row.posted_at,
                    ds,
                )
            )
        return out

    async def mark_posted(self, keys: Sequence[str], now: datetime) -> builtins.list[str]:
        done = []
        for key in keys:
            row = self.tx.read(LETTERS).get(key)
            if row is None or row.posted_at is not None:
                continue
            self.tx.write(LETTERS)[key] = replace(row, posted_at=now)
            done.append(key)
        return done

    async def unposted_letters_of(self, delivery_id: int) -> int:
        letters = self.tx.read(LETTERS)
        return sum(
            1
            for key, d in self.tx.read(LETTER_ITEMS)
            if d == delivery_id and key in letters and letters[key].posted_at is None
        )


class InMemoryAuditRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, events: Sequence[AuditEvent]) -> None:
        for e in events:
            persons = set(e.person_ids) | ({e.actor_id} if e.actor_id else set())
            # As stored in a JSON column: a value that is not JSON fails here too.
            details = json.loads(json.dumps(dict(e.details)))
            stored = replace(
                e,
                person_ids=tuple(sorted(persons)),
                details=details,
                class_ids=tuple(sorted(set(e.class_ids))),
            )
            self.tx.insert(AUDIT, self.tx.store.next_id(AUDIT), stored)

    async def events(
        self,
        person_id: str | None = None,
        kind: str | None = None,
        *,
        class_id: str | None = None,
    ) -> list[AuditEvent]:
        return [
            e
            for _, e in sorted(self.tx.read(AUDIT).items())
            if (person_id is None or person_id in e.person_ids)
            and (kind is None or e.kind == kind)
            and (class_id is None or class_id in e.class_ids)
        ]
