"""Streaming one OneRoster CSV file: encoding, BOM, RFC 4180 parsing, header checks, line numbers.

Values are handed on exactly as written. A cell such as `=HYPERLINK("http://x")` or `+31 6…` is
plain text here; nothing is evaluated, trimmed or re-interpreted (CSV injection is a concern of
whoever exports to a spreadsheet later, not of the reader).
"""

from __future__ import annotations

import codecs
import csv
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from adapters.oneroster.issues import RosterIssue
from bot.i18n import Msg

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]

PROGRESS_EVERY = 500
# A file saved as Windows-1252 fails on nearly every line with a diacritic; a handful of located
# examples plus one summary tells the admin more than thousands of identical lines.
MAX_ENCODING_ISSUES = 10
METADATA_PREFIX = "metadata."

M_NOT_CSV = Msg("not valid CSV (RFC 4180): {error}")
M_FIELD_COUNT = Msg(
    "row has {fields} fields but the header has {columns} (a comma in an unquoted value?)"
)
M_EMPTY_FILE = Msg("empty file: no header row")
M_BAD_ENCODING_SUMMARY = Msg(
    "bad encoding: {count} lines are not UTF-8 (saved as Windows-1252/Latin-1?); "
    "save the file as UTF-8"
)
M_BAD_ENCODING = Msg("bad encoding: not UTF-8 (byte 0x{byte:02x} at position {position})")
M_DUPLICATE_COLUMN = Msg("duplicate column")
M_UNKNOWN_COLUMN_CASE = Msg(
    "unknown column (column names are case-sensitive: did you mean '{suggestion}'?)"
)
M_UNKNOWN_COLUMN = Msg("unknown column (extension columns must start with 'metadata.')")
M_MISSING_COLUMN = Msg("missing required column")

Hint = tuple[Msg, dict[str, Any]]
"""The issue for a column that is not known but explainable: a message and its parameters."""


class Row(dict[str, str]):
    """One data record: its values by column name; a column the file lacks reads as "".
    `line` is the physical line it starts on (header = line 1).

    `damaged` rows have a field count that does not match the header: their values may be shifted,
    so callers should only register the row's `sourcedId` (to avoid follow-up "unknown id" issues)
    and skip every other check. (A dict itself, not a dict in an object: a row is read once per
    value, hundreds of thousands of times in a big export.)"""

    __slots__ = ("line", "damaged", "size")

    line: int
    damaged: bool
    size: int
    """The length of all its values together."""

    def __missing__(self, column: str) -> str:
        return ""


class CsvTable:
    """Iterates the data rows of one CSV file, appending every defect it sees to `issues`.

    After iteration, `complete` is False when some record could not be read at all (bad encoding,
    broken quoting, a missing required column); cross-file "unknown id" checks against such a file
    are then unreliable and callers skip them. `rows_read` counts the data rows yielded."""

    def __init__(
        self,
        path: Path,
        issues: list[RosterIssue],
        *,
        known: tuple[str, ...],
        required: frozenset[str],
        hints: Mapping[str, Hint] | None = None,
        progress: ProgressFn | None = None,
    ) -> None:
        self.path = path
        self.name = path.name
        self.issues = issues
        self.known = known
        self.required = required
        self.hints = hints or {}
        self.progress = progress
        self.complete = True
        self.rows_read = 0
        self.header_line: int | None = None
        self.columns: frozenset[str] = frozenset()
        self._bad_lines: set[int] = set()

    def issue(self, line: int | None, column: str | None, msg: Msg, /, **params: Any) -> None:
        self.issues.append(RosterIssue(self.name, line, column, msg, params))

    def __iter__(self) -> Iterator[Row]:
        total = self._count_data_lines()
        reader = csv.reader(self._decoded_lines(), strict=True)
        header: list[str] | None = None
        width = 0
        previous_end = 0
        bad_lines = self._bad_lines
        progress = self.progress
        rows_read = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                # The csv module resets its state on the next call, so reading goes on and the
                # rest of the file is still checked.
                self.issue(reader.line_num, None, M_NOT_CSV, error=str(exc))
                self.complete = False
                previous_end = reader.line_num
                continue
            start, previous_end = previous_end + 1, reader.line_num
            if not fields:  # a blank line, e.g. at the end of the file
                continue
            if bad_lines and any(n in bad_lines for n in range(start, previous_end + 1)):
                self.complete = False  # already reported as bad encoding
                if header is None:
                    return
                continue
            if header is None:
                header = fields
                width = len(header)
                self.header_line = start
                if not self._check_header(header, start):
                    self.complete = False
                    return
                continue
            damaged = len(fields) != width
            if damaged:
                self.issue(start, None, M_FIELD_COUNT, fields=len(fields), columns=width)
            rows_read += 1
            self.rows_read = rows_read
            if progress is not None and rows_read % PROGRESS_EVERY == 0:
                progress(self.name, rows_read, max(total, rows_read))
            row = Row(zip(header, fields, strict=False))
            row.line, row.damaged, row.size = start, damaged, sum(map(len, fields))
            yield row
        if header is None and not bad_lines:
            self.issue(None, None, M_EMPTY_FILE)
            self.complete = False
        bad = len(bad_lines)
        if bad > MAX_ENCODING_ISSUES:
            self.issue(None, None, M_BAD_ENCODING_SUMMARY, count=bad)
        if progress is not None:
            progress(self.name, rows_read, rows_read)

    def _decoded_lines(self) -> Iterator[str]:
        """Physical lines as text. Splitting on b"\\n" before decoding is safe in UTF-8 (the byte
        never occurs inside a multi-byte sequence) and lets a decoding error name its line."""
        with self.path.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                if number == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    self._bad_lines.add(number)
                    if len(self._bad_lines) <= MAX_ENCODING_ISSUES:
                        self.issue(
                            number,
                            None,
                            M_BAD_ENCODING,
                            byte=raw[exc.start],
                            position=exc.start + 1,
                        )
                    # Keep the line count in step with the file; the row is skipped later.
                    yield raw.decode("utf-8", errors="replace")

    def _count_data_lines(self) -> int:
        """A cheap estimate of the number of data rows, for the progress bar only."""
        if self.progress is None:
            return 0
        count, last = 0, b""
        with self.path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                count += chunk.count(b"\n")
                last = chunk
        if last and not last.endswith(b"\n"):
            count += 1
        return max(count - 1, 0)

    def _check_header(self, header: list[str], line: int) -> bool:
        """Report header defects; return False when a required column is missing (then the file's
        rows cannot be interpreted and are not read)."""
        known = set(self.known)
        lower = {column.lower(): column for column in self.known}
        seen: set[str] = set()
        for column in header:
            if column in seen:
                self.issue(line, column, M_DUPLICATE_COLUMN)
                continue
            seen.add(column)
            if column in known or column.startswith(METADATA_PREFIX):
                continue
            if column in self.hints:
                msg, params = self.hints[column]
                self.issue(line, column, msg, **params)
            elif column.lower() in lower:
                self.issue(line, column, M_UNKNOWN_COLUMN_CASE, suggestion=lower[column.lower()])
            else:
                self.issue(line, column, M_UNKNOWN_COLUMN)
        self.columns = frozenset(seen)
        ok = True
        for column in self.known:  # spec order gives a stable issue order
            if column in self.required and column not in seen:
                self.issue(line, column, M_MISSING_COLUMN)
                ok = False
        for column in sorted(self.required - known):
            if column not in seen:
                self.issue(line, column, M_MISSING_COLUMN)
                ok = False
        return ok
