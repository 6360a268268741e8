"""Rule 5's view of a text: Unicode-normalised, format and zero-width characters removed,
look-alike letters folded, with a map back to the original positions (`bot.rules.content`)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

_Candidate = tuple[str, int, int, bool]
"""A possible finding in the normalised text: category, span, and whether it is allowed."""


# --- normalisation ------------------------------------------------------------------------------

# Letters of other scripts that look like Latin ones, as word processors and evaders paste them.
_CONFUSABLES = str.maketrans(
    {
        **dict(zip("аеорсухѕіјԁһԛԝӏɑɡ", "aeopcyxsijdhqwlag", strict=True)),
        **dict(zip("АВЕКМНОРСТХЅІЈҮԚԜ", "ABEKMHOPCTXSIJYQW", strict=True)),
        **dict(zip("αονικρτυχ", "aovikptux", strict=True)),
        **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX", strict=True)),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63", "-"),
        **dict.fromkeys("\u2018\u2019\u201b\u0060\u00b4\u02bc\u2032", "'"),
        "\t": " ",
        "\r": "\n",
    }
)


@dataclass(frozen=True)
class _Normalised:
    """`text` normalised, with each character's index in the original and the positions where a
    zero-width space or another format character that may stand between words was removed (a
    soft hyphen never does)."""

    text: str
    index: list[int]
    breaks: frozenset[int]

    def span(self, original: str, start: int, end: int) -> tuple[int, int]:
        first, last = self.index[start], self.index[end - 1] + 1
        while last < len(original) and unicodedata.combining(original[last]):
            last += 1  # a decomposed diacritic belongs to the letter before it
        return first, last


def _normalise(text: str) -> _Normalised:
    if text.isascii() and not any(ch in text for ch in "`\t\r"):
        return _Normalised(text, list(range(len(text))), frozenset())
    chars: list[str] = []
    index: list[int] = []
    breaks: set[int] = set()
    for i, ch in enumerate(text):
        if ch.isascii() and ch != "`" and ch != "\t" and ch != "\r":
            chars.append(ch)
            index.append(i)
            continue
        category = unicodedata.category(ch)
        if category == "Cf":
            if ch != "\u00ad":
                breaks.add(len(chars))
            continue
        if category == "Zs":
            ch = " "
        for part in unicodedata.normalize("NFKD", ch).translate(_CONFUSABLES):
            if not unicodedata.combining(part):
                chars.append(part)
                index.append(i)
    return _Normalised("".join(chars), index, frozenset(breaks))
