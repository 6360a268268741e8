"""The outbox (deliveries waiting to go out) over SQLAlchemy."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Channel, Delivery, DeliveryStatus, NewDelivery, Reason, Recipient
from bot.notices import Notice
from storage.models import DeliveryRow
from storage.sql.inserts import insert_ids
from storage.sql.mapping import new_delivery_values, recipient_to_json, to_delivery

# The PostgreSQL advisory lock that outbox claims take in turn (any constant unique in the app).
CLAIM_LOCK = 0x6B6C6173626F74  # "klasbot"


_DELIVERIES = DeliveryRow.__table__
_MARK_SENT = (
    sa.update(_DELIVERIES)
    .where(
        _DELIVERIES.c.id.in_(sa.bindparam("ids", expanding=True)),
        _DELIVERIES.c.claim_token == sa.bindparam("claim"),
    )
    .values(
        status=DeliveryStatus.SENT.value,
        sent_at=sa.bindparam("now", type_=_DELIVERIES.c.sent_at.type),
        claimed_until=None,
        external_id=sa.bindparam("external_id", type_=_DELIVERIES.c.external_id.type),
        attempts=_DELIVERIES.c.attempts + 1,
        last_error=None,
    )
    .returning(_DELIVERIES.c.id)
)
"""`mark_sent` of rows held by a claim, counting the attempt (what `_change` would build)."""


class _Claimed:
    """A row as read, with the claim's changes: what `to_delivery` reads of a `DeliveryRow`."""

    def __init__(self, row: Any, claim: str | None, status: str) -> None:
        self.__dict__.update(row._mapping)
        self.claim_token = claim
        self.status = status


class SqlOutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, rows: Sequence[NewDelivery]) -> list[int]:
        if not rows:
            return []
        return await insert_ids(self.session, DeliveryRow, [new_delivery_values(r) for r in rows])

    async def for_announcement(self, announcement_id: int) -> list[Delivery]:
        rows = (
            await self.session.execute(
                sa.select(DeliveryRow)
                .where(DeliveryRow.announcement_id == announcement_id)
                .order_by(DeliveryRow.pupil_id)
            )
        ).scalars()
        return [to_delivery(r) for r in rows]

    async def for_person(self, person_id: str) -> list[Delivery]:
        # The recipients are a JSON list: its text narrows the rows down in the database (the id
        # as a JSON string, as the column's serializer wrote it), the exact test is made here.
        needle = json.dumps(person_id)
        rows = (
            await self.session.execute(
                sa.select(DeliveryRow)
                .where(
                    sa.or_(
                        DeliveryRow.pupil_id == person_id,
                        sa.cast(DeliveryRow.recipients, sa.Text).contains(needle, autoescape=True),
                    )
                )
                .order_by(DeliveryRow.id)
            )
        ).scalars()
        found = [to_delivery(r) for r in rows]
        return [
            d
            for d in found
            if d.pupil_id == person_id or any(r.person_id == person_id for r in d.recipients)
        ]

    async def get(self, ids: Sequence[int]) -> list[Delivery]:
        if not ids:
            return []
        rows = (
            await self.session.execute(
                sa.select(DeliveryRow)
                .where(DeliveryRow.id.in_(ids))
                .order_by(DeliveryRow.id)
                # What is stored now, not what this session read before an UPDATE statement
                # (the outbox's writes bypass the ORM; `bot.outbox._extend` reads again).
                .execution_options(populate_existing=True)
            )
        ).scalars()
        return [to_delivery(r) for r in rows]

    async def claim_due(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        *,
        exclude: Iterable[int] = (),
        claim: str | None = None,
    ) -> list[Delivery]:
        """On SQLite the transaction holds the write lock from its start (`storage.store`), so
        claims in several processes take turns; on PostgreSQL they take turns on an advisory
        lock and skip rows locked by others."""
        postgres = self.session.get_bind().dialect.name == "postgresql"
        if postgres:
            # Claims (not the sending) take turns: two claims running at once could each take
            # part of one group post, and both would post it.
            await self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(CLAIM_LOCK)))
        excluded = list(exclude)
        claimable = [
            DeliveryRow.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.HELD.value]),
            DeliveryRow.channel != Channel.UNREACHABLE.value,
            DeliveryRow.letter_key.is_(None),
            sa.or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until <= now),
        ]
        if excluded:
            claimable.append(DeliveryRow.id.not_in(excluded))
        # Plain rows, not ORM objects: what is claimed is changed by one UPDATE below, and the
        # session has nothing to track.
        table = DeliveryRow.__table__
        q = (
            sa.select(table)
            .where(DeliveryRow.due_at <= now, *claimable)
            .order_by(DeliveryRow.due_at, DeliveryRow.id)
            .limit(limit)
        )
        if postgres:
            q = q.with_for_update(skip_locked=True)
        rows: list[Any] = list((await self.session.execute(q)).all())
        # One post reaches every member of a group: its rows are claimed together, whatever
        # their due times (retries are jittered per row), or a batch boundary or a retry would
        # post the same announcement in the group once per part.
        units = {
            (r.announcement_id, r.group_id)
            for r in rows
            if r.channel == Channel.GROUP.value
            and r.group_id is not None
            and r.announcement_id is not None
        }
        if units:
            have = {r.id for r in rows}
            siblings = sa.select(table).where(
                DeliveryRow.channel == Channel.GROUP.value,
                sa.or_(
                    *(
                        sa.and_(DeliveryRow.announcement_id == a, DeliveryRow.group_id == g)
                        for a, g in sorted(units)
                    )
                ),
                *claimable,
            )
            if postgres:
                siblings = siblings.with_for_update(skip_locked=True)
            more = (await self.session.execute(siblings)).all()
            rows += [r for r in more if r.id not in have]
        if not rows:
            return []
        pending = DeliveryStatus.PENDING.value
        await self.session.execute(
            sa.update(DeliveryRow)
            .where(DeliveryRow.id.in_([r.id for r in rows]))
            .values(claimed_until=lease_until, claim_token=claim, status=pending)
            .execution_options(synchronize_session=False)
        )
        # A held row wakes up: every claimable row is pending now.
        return [to_delivery(_Claimed(r, claim, pending)) for r in rows]

    async def _change(
        self,
        ids: Sequence[int],
        claim: str | None,
        values: dict[str, Any],
        *,
        withdrawn_too: bool = False,
    ) -> list[int]:
        """Update the rows that are still held by `claim` (any row when it is None); the ids
        changed, in order. A withdrawn row is changed only when `withdrawn_too` (it was sent)."""
        if not ids:
            return []
        where = [DeliveryRow.id.in_(list(ids))]
        if claim is not None:
            where.append(DeliveryRow.claim_token == claim)
        if not withdrawn_too:
            where.append(DeliveryRow.status != DeliveryStatus.WITHDRAWN.value)
        changed = await self.session.scalars(
            sa.update(DeliveryRow)
            .where(*where)
            .values(**values)
            .returning(DeliveryRow.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(changed.all())

    async def hold(
        self, ids: Sequence[int], until: datetime, *, claim: str | None = None
    ) -> list[int]:
        return await self._change(
            ids,
            claim,
            {"status": DeliveryStatus.HELD.value, "due_at": until, "claimed_until": None},
        )

    async def mark_sent(
        self,
        ids: Sequence[int],
        now: datetime,
        external_id: str | None,
        *,
        count_attempt: bool = True,
        claim: str | None = None,
    ) -> list[int]:
        if ids and count_attempt and claim is not None:
            # The dispatcher's recording of what was sent, many times a second: one statement
            # made once, run on the connection (the session tracks no delivery rows).
            connection = await self.session.connection()
            changed = await connection.execute(
                _MARK_SENT,
                {"ids": list(ids), "claim": claim, "now": now, "external_id": external_id},
            )
            return sorted(changed.scalars().all())
        values: dict[str, Any] = {
            "status": DeliveryStatus.SENT.value,
            "sent_at": now,
            "claimed_until": None,
        }
        if count_attempt:
            values.update(
                external_id=external_id, attempts=DeliveryRow.attempts + 1, last_error=None
            )
        return await self._change(ids, claim, values, withdrawn_too=True)

    async def mark_retry(
        self, delivery_id: int, error: str, due_at: datetime, *, claim: str | None = None
    ) -> bool:
        values = {
            "status": DeliveryStatus.PENDING.value,
            "due_at": due_at,
            "claimed_until": None,
            "attempts": DeliveryRow.attempts + 1,
            "channel_attempts": DeliveryRow.channel_attempts + 1,
            "last_error": error,
        }
        return bool(await self._change([delivery_id], claim, values))

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
        status = DeliveryStatus.FAILED if to == Channel.UNREACHABLE else DeliveryStatus.PENDING
        values = {
            "channel": to.value,
            "reason": Reason(reason).value if reason else None,
            "recipients": [recipient_to_json(r) for r in recipients],
            "status": status.value,
            "group_id": None,
            "due_at": now,
            "claimed_until": None,
            "attempts": DeliveryRow.attempts + 1,
            # The new channel gets its own retries (a greylisting 451 after a lost group).
            "channel_attempts": 0,
            "last_error": error,
        }
        return bool(await self._change([delivery_id], claim, values))

    async def replace_notice(self, delivery_id: int, notice: Notice) -> None:
        await self.session.execute(
            sa.update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id)
            .values(notice=notice.to_json())
            .execution_options(synchronize_session=False)
        )

    async def release(self, ids: Sequence[int], *, claim: str | None = None) -> list[int]:
        return await self._change(ids, claim, {"claimed_until": None})

    async def cancel(self, announcement_id: int, now: datetime) -> list[int]:
        changed = await self.session.scalars(
            sa.update(DeliveryRow)
            .where(
                DeliveryRow.announcement_id == announcement_id,
                DeliveryRow.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.HELD.value]),
                DeliveryRow.letter_key.is_(None),
                sa.or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until <= now),
            )
            .values(status=DeliveryStatus.WITHDRAWN.value, claimed_until=None)
            .returning(DeliveryRow.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(changed.all())

    async def existing_keys(self, keys: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return set()
        found = await self.session.scalars(
            sa.select(DeliveryRow.idempotency_key).where(DeliveryRow.idempotency_key.in_(wanted))
        )
        return set(found.all())

    async def cancel_notices(
        self, person_id: str, template: str, now: datetime, *, key: str | None = None
    ) -> list[int]:
        waiting = [
            DeliveryRow.pupil_id == person_id,
            *([DeliveryRow.idempotency_key == key] if key is not None else []),
            DeliveryRow.announcement_id.is_(None),
            DeliveryRow.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.HELD.value]),
            DeliveryRow.letter_key.is_(None),
            sa.or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until <= now),
        ]
        rows = await self.session.execute(
            sa.select(DeliveryRow.id, DeliveryRow.notice).where(*waiting)
        )
        ids = [i for i, notice in rows if notice and notice.get("type") == template]
        if not ids:
            return []
        # The conditions again: on PostgreSQL a dispatcher may have claimed a row since.
        changed = await self.session.scalars(
            sa.update(DeliveryRow)
            .where(DeliveryRow.id.in_(ids), *waiting)
            .values(status=DeliveryStatus.WITHDRAWN.value, claimed_until=None)
            .returning(DeliveryRow.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(changed.all())
