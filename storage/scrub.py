"""Taking an erased person out of stored texts (`bot.repositories.PrivacyRepository.erase`): the
same replacements for the SQL tables and the in-memory ones.

The core says which texts to replace: `everywhere` (the person's full names, e-mail address and
address), replaced in every record; `tied` (their given or family name alone), replaced only in
the records tied to them; and `keep` (other people's names), never cut into. A `Scrubber`
replaces each, as a whole word and whatever its case, with the person's pseudonym. A text that
is exactly the person's id becomes the pseudonym, and so does the id as a JSON string inside a
text (`"p-2b-01"`); in a record tied to them the id as a word too. Texts stored as JSON inside a
text column carry non-ASCII letters escaped (`Zo\\u00eb`): those forms are replaced as well."""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any


def _json_forms(text: str) -> list[str]:
    """`text` as it is written inside a JSON string, and inside a JSON string in JSON."""
    once = json.dumps(text)[1:-1]
    twice = json.dumps(once)[1:-1]
    return list(dict.fromkeys((text, once, twice)))


def _word_pattern(text: str) -> str:
    parts = [re.escape(part) for part in text.split()]
    return r"\s+".join(parts)


def _alternatives(texts: Iterable[str]) -> list[str]:
    return [form for text in texts if text.strip() for form in _json_forms(text.strip())]


def _compile(replace: Iterable[str], keep: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for the texts to replace (group `hit`) and those to leave (`keep`), longest
    first at every position: a full name is replaced whole, not its given name alone, and a
    name kept (`Peter de Jong`) is not cut into (`de Jong`)."""
    hits = set(_alternatives(replace))
    if not hits:
        return None
    kept = set(_alternatives(keep)) - hits
    tagged = sorted(
        [(f, "hit") for f in hits] + [(f, "keep") for f in kept], key=lambda t: (-len(t[0]), t)
    )
    body = "|".join(f"(?P<{tag}{n}>{_word_pattern(f)})" for n, (f, tag) in enumerate(tagged))
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


class Scrubber:
    """The replacements for one erased person; `keep`: other people's names, left whole where
    a part of them (a shared family name) would be replaced."""

    def __init__(
        self,
        person_id: str,
        pseudonym: str,
        everywhere: Sequence[str],
        tied: Sequence[str],
        keep: Sequence[str] = (),
    ) -> None:
        self.person_id = person_id
        self.pseudonym = pseudonym
        self.everywhere = tuple(t for t in everywhere if t.strip())
        self._everywhere = _compile(self.everywhere, keep)
        self._tied = _compile([*self.everywhere, *tied], keep)
        self._quoted = (json.dumps(person_id), json.dumps(pseudonym))
        self._bare = re.compile(rf"(?<![\w-]){re.escape(person_id)}(?![\w-])")

    def _replace(self, match: re.Match[str]) -> str:
        tag = match.lastgroup or ""
        return match.group(0) if tag.startswith("keep") else self.pseudonym

    def text(self, value: str, *, tied: bool) -> str:
        if value == self.person_id:
            return self.pseudonym
        out = value.replace(*self._quoted)
        if tied:
            out = self._bare.sub(self.pseudonym, out)
        pattern = self._tied if tied else self._everywhere
        if pattern is not None:
            out = pattern.sub(self._replace, out)
        return out

    def json(self, value: Any, *, tied: bool) -> Any:
        """A JSON value with every string in it scrubbed (keys are field names: left)."""
        if isinstance(value, str):
            return self.text(value, tied=tied)
        if isinstance(value, list):
            return [self.json(v, tied=tied) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v, tied=tied) for k, v in value.items()}
        return value

    def any(self, value: Any, *, tied: bool) -> Any:
        """A stored value of the in-memory tables (domain objects, tuples, dicts, texts) with
        every text in it scrubbed; enums, numbers and dates are left as they are. The same
        object comes back when nothing changed."""
        if isinstance(value, enum.Enum):
            return value
        if isinstance(value, str):
            return self.text(value, tied=tied)
        if isinstance(value, tuple):
            items = tuple(self.any(v, tied=tied) for v in value)
            return value if items == value else items
        if isinstance(value, list):
            return [self.any(v, tied=tied) for v in value]
        if isinstance(value, dict):
            return {k: self.any(v, tied=tied) for k, v in value.items()}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {}
            for f in dataclasses.fields(value):
                old = getattr(value, f.name)
                new = self.any(old, tied=tied)
                if new is not old and new != old:
                    changes[f.name] = new
            return dataclasses.replace(value, **changes) if changes else value
        return value

    def like_patterns(self) -> list[str]:
        """LIKE patterns (escape character `\\`) that every text `text(…, tied=False)` changes
        matches, in the case forms a database's case-insensitive LIKE may miss (SQLite folds
        ASCII only): a first, cheap filter before the replacements."""
        patterns: set[str] = {f"%{_like_escape(json.dumps(self.person_id))}%"}
        for text in self.everywhere:
            for form in _json_forms(text.strip()):
                for cased in (form, form.lower(), form.upper()):
                    # The words of a name may be separated by other white space.
                    words = "%".join(_like_escape(word) for word in cased.split())
                    patterns.add(f"%{words}%")
        return sorted(patterns)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
