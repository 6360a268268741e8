"""Link codes are stored only as hashes and never logged: a database backup or a log file gives
nobody a code that links."""

from __future__ import annotations

import logging

import pytest

from bot.chat.front import ChatFrontEnd
from bot.codes import hash_code, normalize_code
from bot.messages import M_LINKED
from bot.outbox import notice_key
from bot.usecases import invites as invites_uc
from bot.usecases import linking
from bot.usecases.context import Context
from storage.memory_tables import INVITES, OUTBOX_KEYS, Tx
from tests.unit.usecases.conftest import notice_rows

CODE = "ABCDEFGHJK"


def only_code() -> str:
    return CODE


def test_a_code_is_normalised_before_it_is_hashed() -> None:
    assert normalize_code(" abcd-efgh jk ") == CODE
    assert hash_code("abcd efgh jk") == hash_code("ABCD-EFGH-JK") == hash_code(CODE)
    assert len(hash_code(CODE)) == 64
    assert hash_code(CODE) != hash_code("ABCDEFGHJM")


async def test_only_the_hash_of_a_new_code_is_stored(ctx: Context) -> None:
    [issued] = await invites_uc.create_invites(ctx, person_ref="p-2b-01", code_factory=only_code)
    assert issued.code == CODE  # for the command line
    async with ctx.db.transaction() as tx:
        invite = await tx.invites.get(hash_code(CODE))
        assert await tx.invites.get(CODE) is None
    assert invite is not None
    assert invite.code_hash == hash_code(CODE)
    assert not hasattr(invite, "code")
    raw: Tx = Tx(ctx.db._store)  # type: ignore[attr-defined]
    stored = repr(raw.read(INVITES)) + repr(raw.read(OUTBOX_KEYS))
    assert CODE not in stored
    assert hash_code(CODE) in stored
    # The outbox row's key (the mail's Message-ID) does not derive from the code either.
    [row] = await notice_rows(ctx, "invite")
    assert row.idempotency_key == notice_key(
        "invite", hash_code(CODE), *[(r.person_id, r.email) for r in row.recipients][0]
    )


@pytest.mark.parametrize("typed", ["abcd efgh jk", "ABCD-EFGH-JK", "abcdefghjk"])
async def test_a_code_works_however_it_is_typed(
    ctx: Context, front: ChatFrontEnd, typed: str
) -> None:
    await invites_uc.create_invites(ctx, person_ref="p-2b-01", code_factory=only_code)
    reply = await front.handle("console", "zoe-phone", f"/start {typed}")
    assert reply.texts[0] == M_LINKED("nl", name="Zoë")


async def test_no_code_is_logged_at_any_level(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await invites_uc.create_invites(ctx, person_ref="p-2b-01", code_factory=only_code)
    await linking.link_account(ctx, "console", "someone", "WRONGCODE1")
    await linking.link_account(ctx, "console", "zoe-phone", CODE)
    await linking.link_account(ctx, "console", "other", CODE)  # used
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert CODE not in text
    assert "WRONGCODE1" not in text
