"""Printed letters (one per household and day) and the deliveries they carry, over SQLAlchemy."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Delivery, DeliveryStatus, LetterRecord
from storage.models import DeliveryRow, LetterItemRow, LetterRow
from storage.sql.mapping import to_delivery

# The first key of the households' advisory locks (any int4 constant unique in the app).
LETTER_LOCK = 0x6B6C6574  # "klet"


class SqlLetterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, base_key: str) -> None:
        """Hold this household's letters until the transaction ends. PostgreSQL: a transaction
        advisory lock (two keys: its own space, apart from the outbox claim's single key);
        SQLite: the transaction already holds the write lock (`storage.store`)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                sa.select(sa.func.pg_advisory_xact_lock(LETTER_LOCK, sa.func.hashtext(base_key)))
            )

    async def open_key(self, base_key: str) -> str:
        n = 1
        key = base_key
        while True:
            row = await self.session.get(LetterRow, key)
            if row is None or row.posted_at is None:
                return key
            n += 1
            key = f"{base_key}-{n}"

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
        ids = builtins.list(dict.fromkeys(delivery_ids))
        if ids and claim is not None:
            held = set(
                (
                    await self.session.execute(
                        sa.select(DeliveryRow.id).where(
                            DeliveryRow.id.in_(ids),
                            DeliveryRow.claim_token == claim,
                            DeliveryRow.status != DeliveryStatus.WITHDRAWN.value,
                        )
                    )
                ).scalars()
            )
            ids = [i for i in ids if i in held]
        row = await self.session.get(LetterRow, key)
        if row is None:
            self.session.add(
                LetterRow(
                    key=key,
                    recipient_name=recipient_name,
                    address=address,
                    path=path,
                    created_at=now,
                )
            )
        else:
            row.path = path
        await self.session.flush()
        have = set(
            (
                await self.session.execute(
                    sa.select(LetterItemRow.delivery_id).where(LetterItemRow.letter_key == key)
                )
            ).scalars()
        )
        for delivery_id in ids:
            if delivery_id not in have:
                self.session.add(LetterItemRow(letter_key=key, delivery_id=delivery_id))
        if ids:
            await self.session.execute(
                sa.update(DeliveryRow)
                .where(DeliveryRow.id.in_(ids), DeliveryRow.letter_key.is_(None))
                .values(letter_key=key, claimed_until=None, attempts=DeliveryRow.attempts + 1)
            )
        await self.session.flush()
        return ids

    async def deliveries(self, key: str) -> list[Delivery]:
        rows = (
            await self.session.execute(
                sa.select(DeliveryRow)
                .join(LetterItemRow, LetterItemRow.delivery_id == DeliveryRow.id)
                .where(LetterItemRow.letter_key == key)
                .order_by(DeliveryRow.id)
            )
        ).scalars()
        return [to_delivery(r) for r in rows]

    async def list(self, *, unposted_only: bool = False) -> list[LetterRecord]:
        q = sa.select(LetterRow).order_by(LetterRow.created_at, LetterRow.key)
        if unposted_only:
            q = q.where(LetterRow.posted_at.is_(None))
        letters = list((await self.session.execute(q)).scalars())
        if not letters:
            return []
        carried: dict[str, list[Delivery]] = {}
        items = await self.session.execute(
            sa.select(LetterItemRow.letter_key, DeliveryRow)
            .join(DeliveryRow, LetterItemRow.delivery_id == DeliveryRow.id)
            .where(LetterItemRow.letter_key.in_(q.with_only_columns(LetterRow.key).order_by(None)))
        )
        for key, delivery in items:
            carried.setdefault(key, []).append(to_delivery(delivery))
        out = []
        for row in letters:
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
            row = await self.session.get(LetterRow, key)
            if row is None or row.posted_at is not None:
                continue
            row.posted_at = now
            done.append(key)
        await self.session.flush()
        return done

    async def unposted_letters_of(self, delivery_id: int) -> int:
        n = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(LetterItemRow)
            .join(LetterRow, LetterRow.key == LetterItemRow.letter_key)
            .where(LetterItemRow.delivery_id == delivery_id, LetterRow.posted_at.is_(None))
        )
        return int(n or 0)
