"""The roster's names and addresses as the log filter knows them (issue 12: no personal data in
logs). A log line is cut into words with `WORD`, and a word is redacted when its lower-case form
is one of these tokens; so the tokens are made from the roster with that same pattern.

A token is a word of at least `MIN_LETTERS` letters: given, preferred, middle and family names
without their tussenvoegsels (`van`, `de`, `der`, … — ordinary words in any Dutch line), and the
street names of postal addresses; a postal code is kept as its digits and letters (`3512pe`).
Each word is kept case-folded and, when it has accents, also without them (`zoë`, `zoe`), so that
`ZOË`, `Zoë` and `Zoe` are all found. Only the set of distinct tokens is kept: for a school board
of 255,000 persons a few hundred thousand short strings at most.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import attrgetter, itemgetter

from bot.domain import Person
from bot.person_records import PERSON_FIELDS, records_of
from bot.rules.names import TUSSENVOEGSELS

MIN_LETTERS = 3
WORD = re.compile(rf"[^\W\d_]{{{MIN_LETTERS},}}")
"""A run of at least three letters (any script): what a log line is cut into."""

_NOT_ALNUM = re.compile(r"[\W_]+")
"""What is not a letter or digit (`str.isalnum`; `\\w` is those and `_`)."""

MARKERS = frozenset({"name", "address", "mail", "redacted"})
"""The words of the filter's own replacements (`[name]`, `[e-mail]`, …): never a token, so that a
line that passes the filter twice stays as it is."""

_UNDECOMPOSED = str.maketrans(
    {"ı": "i", "ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "ð": "d", "þ": "th", "ß": "ss"}
)


def forms(word: str) -> set[str]:
    """The lower-case forms a log line may carry `word` in: as it is, and without accents."""
    folded = word.casefold()
    if folded.isascii():
        return {folded}
    plain = "".join(
        ch
        for ch in unicodedata.normalize("NFKD", folded.translate(_UNDECOMPOSED))
        if not unicodedata.combining(ch)
    )
    return {unicodedata.normalize("NFC", folded), plain}


def name_tokens(names: Iterable[str | None]) -> set[str]:
    """The tokens of some names (any mix of given, middle and family names)."""
    words: set[str] = set()
    for name in names:
        if name:
            words.update(
                WORD.findall(name if name.isascii() else unicodedata.normalize("NFC", name))
            )
    tokens: set[str] = set()
    for word in words:  # each distinct word once: a roster repeats its names and streets
        if word.casefold() not in TUSSENVOEGSELS:
            tokens |= forms(word)
    return tokens - MARKERS


def postal_token(postal_code: str | None) -> str | None:
    """A postal code as the filter compares it: its letters and digits, lower case (`3512pe`)."""
    if not postal_code:
        return None
    return _NOT_ALNUM.sub("", postal_code).casefold() or None


def address_tokens(addresses: Iterable[tuple[str | None, str | None]]) -> set[str]:
    """The tokens of (street line, postal code) pairs: the street's words and the postal code."""
    streets: set[str | None] = set()
    postal_codes: set[str | None] = set()
    for street, postal_code in addresses:
        streets.add(street)
        postal_codes.add(postal_code)
    # Each distinct postal code once.
    codes = {token for code in postal_codes if (token := postal_token(code)) is not None}
    return name_tokens(streets) | codes


def persons_tokens(persons: Sequence[Person]) -> tuple[set[str], set[str]]:
    """(name tokens, address tokens) of `persons`. Each distinct name and address is split
    once: a board's roster repeats its given names, family names and households many times."""
    records = records_of(persons)
    names = set(chain.from_iterable(map(_NAMES, records)))
    addresses = set(map(_STREET_AND_CODE, filter(None, map(_ADDRESS, records))))
    return name_tokens(names), address_tokens(addresses)


_NAMES = itemgetter(
    *(
        PERSON_FIELDS.index(name)
        for name in ("given_name", "preferred_given_name", "middle_name", "family_name")
    )
)
_ADDRESS = itemgetter(PERSON_FIELDS.index("address"))
_STREET_AND_CODE = attrgetter("street", "postal_code")
