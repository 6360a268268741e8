"""What is wrong with a roster: located issues and the error that carries them.

Every issue is a `Msg` with its parameters, so that it can be said in the reader's language:
`render(lang)` gives it with its location ("users.csv, regel 3, kolom email: ..."). `str()` gives
the English text, for logs and code (which are English)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import Msg

# The location in front of an issue's text: the file, then the line and the column when known.
M_AT_FILE = Msg("{file}: {message}")
M_AT_LINE = Msg("{file}, line {line}: {message}")
M_AT_COLUMN = Msg("{file}, column {column}: {message}")
M_AT_LINE_COLUMN = Msg("{file}, line {line}, column {column}: {message}")

ENGLISH = "en"
"""The language of `str()` of an issue or error (logs and code are English)."""


@dataclass(frozen=True, slots=True)
class RosterIssue:
    """One defect in a roster directory.

    `line` is the 1-based physical line in `file` (the header is line 1) or None when the defect
    concerns the whole file; `column` is the CSV column concerned, or None. `msg` with `params`
    says what is wrong; `text(lang)` gives that alone, `render(lang)` with the location."""

    file: str
    line: int | None
    column: str | None
    msg: Msg
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    def text(self, lang: str) -> str:
        """What is wrong, in `lang`, without the location."""
        return self.msg(lang, **self.params)

    @property
    def message(self) -> str:
        """What is wrong, in English, without the location."""
        return self.text(ENGLISH)

    def render(self, lang: str) -> str:
        """The issue in `lang`, after its file, line and column."""
        message = self.text(lang)
        if self.line is not None and self.column is not None:
            return M_AT_LINE_COLUMN(
                lang, file=self.file, line=self.line, column=self.column, message=message
            )
        if self.line is not None:
            return M_AT_LINE(lang, file=self.file, line=self.line, message=message)
        if self.column is not None:
            return M_AT_COLUMN(lang, file=self.file, column=self.column, message=message)
        return M_AT_FILE(lang, file=self.file, message=message)

    def __str__(self) -> str:
        return self.render(ENGLISH)


class RosterError(Exception):
    """The roster cannot be imported; `issues` lists every defect found (never just the first).

    `render(lang)` gives all issues in `lang`, one per line; `str()` the same in English."""

    def __init__(self, issues: Iterable[RosterIssue]) -> None:
        self.issues: list[RosterIssue] = list(issues)
        super().__init__(self.render(ENGLISH))

    def render(self, lang: str) -> str:
        return "\n".join(issue.render(lang) for issue in self.issues)
