"""Pseudonyms (GDPR art. 4(5)): how a person appears where they may not be named.

A dossier export names its own person and shows every other pupil by a pseudonym that is the same
throughout the installation (so two exports can be compared) but cannot be turned back into the
person without the installation's key, which is kept in the database and never exported. An
erased person gets a random pseudonym instead: nothing, not even the key, leads back to them."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from bot.repositories import Repositories

_KEY = ("core", "pseudonym-key")
ERASED_PREFIX = "erased-"


async def pseudonym_key(tx: Repositories) -> bytes:
    """The installation's key for `pseudonym`, made on first use."""
    await tx.state.lock(*_KEY)
    stored = await tx.state.get(*_KEY)
    if stored is None:
        stored = secrets.token_hex(32)
        await tx.state.set(*_KEY, stored)
    return bytes.fromhex(stored)


def pseudonym(person_id: str, key: bytes) -> str:
    """`person-3f9a0c1b2d`: the same for the same person and key, and nothing else about them."""
    digest = hmac.new(key, person_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"person-{digest[:10]}"


def erased_pseudonym() -> str:
    """`erased-5b1e9d0a7c3f`: random, for a person erased under GDPR art. 17."""
    return ERASED_PREFIX + secrets.token_hex(6)
