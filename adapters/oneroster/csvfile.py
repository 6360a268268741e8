"""Streaming one OneRoster CSV file: encoding, BOM, RFC 4180 parsing, header checks, line numbers.

Values are handed on exactly as written. A cell such as `=HYPERLINK("http://x")` or `+31 6…` is
plain text here; nothing is evaluated, trimmed or re-interpreted (CSV injection is a concern of
whoever exports to a spreadsheet later, not of the reader).
"""

from __future__ import annotations

import codecs
import csv
import logging
from collections.abc import Callable, Generator, Iterator, Mapping
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
M_BAD_ENCODING_CHANGED = Msg(
    "bad encoding: not UTF-8 ({error}); the file changed while it was read"
)
M_DUPLICATE_COLUMN = Msg("duplicate column")
M_UNKNOWN_COLUMN_CASE = Msg(
    "unknown column (column names are case-sensitive: did you mean '{suggestion}'?)"
)
M_UNKNOWN_COLUMN = Msg("unknown column (extension columns must start with 'metadata.')")
M_MISSING_COLUMN = Msg("missing required column")

Hint = tuple[Msg, dict[str, Any]]
"""The issue for a column that is not known but explainable: a message and its parameters."""


class CsvTable:
    """The data rows of one CSV file, appending every defect it sees to `issues`.

    `header()` reads and checks the header row; then `column()` gives each column's position in
    the rows that iterating the table yields (lists of values, one per column of the header). A
    column the file lacks reads as "" (ask for every column before iterating: rows are filled out
    for the columns asked for by then). While a row is handled, `line` is the
    physical line it starts on (header = line 1) and `damaged` says that its field count does not
    match the header: its values may be shifted, so callers should only register its `sourcedId`
    (to avoid follow-up "unknown id" issues) and skip every other check.

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
        self.line = 0
        self.damaged = False
        self.header_line: int | None = None
        self.columns: frozenset[str] = frozenset()
        self._index: dict[str, int] = {}
        self._started = False
        self._width = 0
        self._padded = False
        self._total = 0
        self._bad_lines: set[int] = set()
        self._reader: Any = None
        self._close: Callable[[], None] = _nothing
        self._header_ok: bool | None = None

    def issue(self, line: int | None, column: str | None, msg: Msg, /, **params: Any) -> None:
        self.issues.append(RosterIssue(self.name, line, column, msg, params))

    def column(self, name: str) -> int:
        """The position of column `name` in a row; a column the file lacks reads as ""."""
        position = self._index.get(name)
        if position is None:
            if self._started:
                raise RuntimeError(f"column {name!r} of {self.name} asked for after the first row")
            self._padded = True
            return self._width
        return position

    def header(self) -> bool:
        """Read and check the header row; False when the file's rows cannot be read (a missing
        required column, an empty or unreadable file)."""
        if self._header_ok is not None:
            return self._header_ok
        self._open()
        ok = False
        for fields in self._records():
            self.header_line = self.line
            self._width = len(fields)
            self._index = {column: position for position, column in enumerate(fields)}
            ok = self._check_header(fields, self.line)
            break
        else:
            if not self._bad_lines:
                self.issue(None, None, M_EMPTY_FILE)
        self._header_ok = ok
        if not ok:
            self.complete = False
            self._finish(0)
        return ok

    def __iter__(self) -> Iterator[list[str]]:
        if not self.header():
            return iter(())
        self._started = True
        return self._records(rows=True)

    def _finish(self, rows_read: int) -> None:
        self._close()
        self._close = _nothing
        self.rows_read = rows_read
        bad = len(self._bad_lines)
        if bad > MAX_ENCODING_ISSUES:
            self.issue(None, None, M_BAD_ENCODING_SUMMARY, count=bad)

    def _open(self) -> None:
        """The csv reader over the file: straight from a text file when every line is UTF-8 and
        ends in LF or CRLF (nearly every export, and the fast way), else line by line, so that a
        decoding error names its line."""
        plain, self._total = self._scan()
        if plain:
            fh = self.path.open(encoding="utf-8-sig", newline="")
            self._close = fh.close
            self._reader = csv.reader(fh, strict=True)
        else:
            lines = self._decoded_lines()
            self._close = lines.close
            self._reader = csv.reader(lines, strict=True)

    def _records(self, rows: bool = False) -> Iterator[list[str]]:
        """The records of the file that could be read, with `line` set to each one's first line;
        blank lines are skipped, and every record the csv module cannot read is an issue.

        With `rows`, the data rows after the header (one generator for the whole path from the
        csv module to the caller: a board's export has a million rows): each has the header's
        width (`damaged` says whether it had), progress is reported, and the file is closed at
        the end."""
        reader = self._reader
        bad_lines = self._bad_lines
        previous_end = reader.line_num
        width, padded = self._width, self._padded
        progress, total = (self.progress, self._total) if rows else (None, 0)
        rows_read = 0
        while True:
            try:
                for fields in reader:
                    start, previous_end = previous_end + 1, reader.line_num
                    if not fields:  # a blank line, e.g. at the end of the file
                        continue
                    if bad_lines and any(n in bad_lines for n in range(start, previous_end + 1)):
                        self.complete = False  # already reported as bad encoding
                        if self.header_line is None:
                            return  # no header: the file's rows cannot be interpreted
                        continue
                    self.line = start
                    if rows:
                        size = len(fields)
                        self.damaged = damaged = size != width
                        if damaged:
                            self.issue(start, None, M_FIELD_COUNT, fields=size, columns=width)
                            fields = fields[:width] + [""] * (width - size)
                        if padded:
                            fields.append("")
                        rows_read += 1
                        if progress is not None and rows_read % PROGRESS_EVERY == 0:
                            self.rows_read = rows_read
                            progress(self.name, rows_read, max(total, rows_read))
                    yield fields
                break
            except csv.Error as exc:
                # The csv module resets its state on the next call, so reading goes on and the
                # rest of the file is still checked.
                self.issue(reader.line_num, None, M_NOT_CSV, error=str(exc))
                self.complete = False
                previous_end = reader.line_num
            except UnicodeDecodeError as exc:  # the file changed since it was scanned
                self.issue(reader.line_num + 1, None, M_BAD_ENCODING_CHANGED, error=exc.reason)
                self.complete = False
                break
        if rows:
            self._finish(rows_read)
            if progress is not None:
                progress(self.name, rows_read, rows_read)

    def _scan(self) -> tuple[bool, int]:
        """Whether the file is plain (all UTF-8, every line ending in LF or CRLF), and an
        estimate of its data rows for the progress bar, in one pass over its bytes."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        plain, lines, carry, last = True, 0, b"", b""
        with self.path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                lines += chunk.count(b"\n")
                last = chunk
                if not plain:
                    continue
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    plain = False
                    continue
                data = carry + chunk if carry else chunk
                if b"\r" in data:
                    lone = data.count(b"\r") - data.count(b"\r\n")
                    carry = b"\r" if data.endswith(b"\r") else b""
                    if lone - len(carry):
                        plain = False
        if plain:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                plain = False
            if carry:
                plain = False
        if last and not last.endswith(b"\n"):
            lines += 1
        return plain, max(lines - 1, 0)

    def _decoded_lines(self) -> Generator[str, None, None]:
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


def _nothing() -> None:
    pass
