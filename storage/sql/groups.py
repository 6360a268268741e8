"""Groups and their members, platform accounts, invites and platform state over SQLAlchemy."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from bot.domain import Account, Group, GroupState, Invite, Membership, MemberState, Person
from storage.models import (
    AccountRow,
    GroupMemberRow,
    GroupRow,
    InviteRow,
    PlatformStateRow,
)
from storage.sql.mapping import to_group, to_invite
from storage.sql.roster import SqlRosterRepository


class SqlGroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, class_id: str, platform: str, chat_id: str, state: GroupState, now: datetime
    ) -> Group:
        row = GroupRow(
            class_id=class_id,
            platform=platform,
            chat_id=chat_id,
            state=GroupState(state).value,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return to_group(row)

    async def list(self, class_id: str | None = None, platform: str | None = None) -> list[Group]:
        q = sa.select(GroupRow).order_by(GroupRow.id)
        if class_id is not None:
            q = q.where(GroupRow.class_id == class_id)
        if platform is not None:
            q = q.where(GroupRow.platform == platform)
        return [to_group(r) for r in (await self.session.execute(q)).scalars()]

    async def get(self, group_id: int) -> Group | None:
        row = await self.session.get(GroupRow, group_id)
        return to_group(row) if row else None

    async def by_chat(self, platform: str, chat_id: str) -> Group | None:
        row = await self.session.scalar(
            sa.select(GroupRow).where(GroupRow.platform == platform, GroupRow.chat_id == chat_id)
        )
        return to_group(row) if row else None

    async def update(
        self, group_id: int, *, state: GroupState | None = None, chat_id: str | None = None
    ) -> None:
        row = await self.session.get(GroupRow, group_id)
        if row is None:
            raise KeyError(group_id)
        if state is not None:
            row.state = GroupState(state).value
        if chat_id is not None:
            row.chat_id = chat_id
        await self.session.flush()

    async def set_member(
        self, group_id: int, person_id: str, account_id: str, state: MemberState, now: datetime
    ) -> None:
        value = MemberState(state).value
        row = await self.session.get(GroupMemberRow, (group_id, person_id))
        if row is None:
            self.session.add(
                GroupMemberRow(
                    group_id=group_id,
                    person_id=person_id,
                    account_id=account_id,
                    state=value,
                    updated_at=now,
                )
            )
        else:
            row.account_id, row.state, row.updated_at = account_id, value, now
        await self.session.flush()

    async def members(self, group_id: int) -> dict[str, Membership]:
        rows = (
            await self.session.execute(
                sa.select(GroupMemberRow)
                .where(GroupMemberRow.group_id == group_id)
                .order_by(GroupMemberRow.person_id)
            )
        ).scalars()
        return {r.person_id: Membership(r.account_id, MemberState(r.state)) for r in rows}

    async def memberships_of(self, person_id: str) -> dict[int, Membership]:
        rows = (
            await self.session.execute(
                sa.select(GroupMemberRow)
                .where(GroupMemberRow.person_id == person_id)
                .order_by(GroupMemberRow.group_id)
            )
        ).scalars()
        return {r.group_id: Membership(r.account_id, MemberState(r.state)) for r in rows}


class SqlAccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def link(self, platform: str, account_id: str, person_id: str, now: datetime) -> None:
        row = await self.session.get(AccountRow, (platform, account_id))
        if row is None:
            self.session.add(
                AccountRow(
                    platform=platform, account_id=account_id, person_id=person_id, linked_at=now
                )
            )
        else:
            row.person_id, row.linked_at = person_id, now
        await self.session.flush()

    async def person_of(self, platform: str, account_id: str) -> Person | None:
        account = await self.session.get(AccountRow, (platform, account_id))
        if account is None:
            return None
        return await SqlRosterRepository(self.session).person(account.person_id)

    async def of_person(self, person_id: str) -> list[Account]:
        rows = (
            await self.session.execute(
                sa.select(AccountRow)
                .where(AccountRow.person_id == person_id)
                .order_by(AccountRow.platform, AccountRow.account_id)
            )
        ).scalars()
        return [Account(r.platform, r.account_id, r.person_id, r.linked_at) for r in rows]

    async def linked_persons(self, platform: str) -> frozenset[str]:
        ids = await self.session.scalars(
            sa.select(AccountRow.person_id).where(AccountRow.platform == platform)
        )
        return frozenset(ids)


class SqlInviteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, invite: Invite) -> None:
        self.session.add(
            InviteRow(
                code_hash=invite.code_hash,
                person_id=invite.person_id,
                created_at=invite.created_at,
                expires_at=invite.expires_at,
                used_at=invite.used_at,
            )
        )
        await self.session.flush()

    async def get(self, code_hash: str, *, for_update: bool = False) -> Invite | None:
        q = sa.select(InviteRow).where(InviteRow.code_hash == code_hash)
        if for_update:
            q = q.with_for_update()
        row = await self.session.scalar(q)
        return to_invite(row) if row else None

    async def use(self, code_hash: str, now: datetime) -> bool:
        result = await self.session.execute(
            sa.update(InviteRow)
            .where(InviteRow.code_hash == code_hash, InviteRow.used_at.is_(None))
            .values(used_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def of_person(self, person_id: str) -> list[Invite]:
        q = (
            sa.select(InviteRow)
            .where(InviteRow.person_id == person_id)
            .order_by(InviteRow.created_at, InviteRow.code_hash)
        )
        return [to_invite(row) for row in await self.session.scalars(q)]

    async def revoke_unused(self, person_id: str) -> list[str]:
        removed = await self.session.scalars(
            sa.delete(InviteRow)
            .where(InviteRow.person_id == person_id, InviteRow.used_at.is_(None))
            .returning(InviteRow.code_hash)
            .execution_options(synchronize_session=False)
        )
        return sorted(removed.all())


# The first key of the platform state's advisory locks (any int4 constant unique in the app).
STATE_LOCK = 0x6B737461  # "ksta"


class SqlPlatformStateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, platform: str, key: str) -> str | None:
        row = await self.session.get(PlatformStateRow, (platform, key))
        return row.value if row else None

    async def lock(self, platform: str, key: str) -> None:
        """PostgreSQL: a transaction advisory lock in its own two-key space; SQLite: the
        transaction already holds the write lock (`storage.store`)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                sa.select(
                    sa.func.pg_advisory_xact_lock(STATE_LOCK, sa.func.hashtext(f"{platform}|{key}"))
                )
            )

    async def set(self, platform: str, key: str, value: str) -> None:
        """One statement that inserts or updates: two processes setting a key no one set yet
        (two `klasbot run` starting at once) both succeed, the later value kept, where reading
        first and inserting then made the second fail on the primary key."""
        insert = (
            postgresql.insert
            if self.session.get_bind().dialect.name == "postgresql"
            else sqlite.insert
        )
        await self.session.execute(
            insert(PlatformStateRow)
            .values(platform=platform, key=key, value=value)
            .on_conflict_do_update(index_elements=["platform", "key"], set_={"value": value})
        )
        # A row this transaction read before says the new value too (`get` may answer from it).
        known = self.session.identity_map.get(identity_key(PlatformStateRow, (platform, key)))
        if known is not None:
            set_committed_value(known, "value", value)
