"""What is wrong with a roster: located issues and the error that carries them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RosterIssue:
    """One defect in a roster directory.

    `line` is the 1-based physical line in `file` (the header is line 1) or None when the defect
    concerns the whole file; `column` is the CSV column concerned, or None."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}"


class RosterError(Exception):
    """The roster cannot be imported; `issues` lists every defect found (never just the first).

    `str()` gives all issues, one per line."""

    def __init__(self, issues: Iterable[RosterIssue]) -> None:
        self.issues: list[RosterIssue] = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))
