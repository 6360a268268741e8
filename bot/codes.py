"""Link codes are stored only as hashes (the code itself goes out once, in its e-mail or letter).

A code has about 49 bits (ten characters from 31); a plain SHA-256 of every possible code can be
computed on a graphics card in days, so the hash is scrypt (memory-hard, ~8 ms per code): a stolen
backup gives away no usable code. The salt is fixed, so the hash of a code is the same on every
lookup and can be the table's key.
"""

from __future__ import annotations

import hashlib

_SALT = b"klasbot link code v1"


def normalize_code(code: str) -> str:
    """What a person types: spaces, dashes and lower case do not matter."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_code(code: str) -> str:
    """The stored form of a link code (64 hex digits)."""
    digest = hashlib.scrypt(normalize_code(code).encode(), salt=_SALT, n=2**11, r=8, p=1, dklen=32)
    return digest.hex()
