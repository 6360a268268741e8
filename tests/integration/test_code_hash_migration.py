"""Migration 0003 on SQLite and PostgreSQL: a database with a readable link code comes out of the
upgrade with only the code's hash, and the code still links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.codes import hash_code
from storage.migrate import upgrade
from storage.store import Database

CODE = "ABCDEFGHJK"
T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)


async def test_upgrading_hashes_stored_codes_and_keeps_no_plain_code(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db.engine, "0002")
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO persons (id, role, given_name, family_name, middle_name, "
                    "preference) VALUES ('p-1', 'student', 'Zoë', 'Berg', 'van den', 'default')"
                )
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO invites (code, person_id, created_at, expires_at) "
                    "VALUES (:code, 'p-1', :created, :expires)"
                ),
                {"code": CODE, "created": T0, "expires": T0 + timedelta(days=14)},
            )

        await upgrade(db.engine, "head")

        async with db.engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT * FROM invites"))).mappings().all()
        [row] = rows
        assert row["code_hash"] == hash_code(CODE)
        assert row["person_id"] == "p-1"
        assert "code" not in row
        assert CODE not in repr(dict(row))
        async with db.transaction() as store:
            invite = await store.invites.get(hash_code("abcd efgh jk"))
        assert invite is not None
        assert invite.person_id == "p-1"
        assert invite.used_at is None
    finally:
        await db.dispose()
