"""The CSV reader's two ways through a file give the same rows, lines and issues: straight from a
text file (every line UTF-8, ending in LF or CRLF) and line by line (anything else)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.oneroster.csvfile import CsvTable
from adapters.oneroster.issues import RosterIssue

KNOWN = ("sourcedId", "givenName", "email")

_cell = st.text(
    alphabet=st.sampled_from(list('ab, "\n\r\té€ü') + ["\u2028", "x"]), min_size=0, max_size=6
)


def _quoted(value: str) -> str:
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def _files(draw: Any) -> bytes:
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    header = draw(st.sampled_from([KNOWN, ("sourcedId", "email"), ("givenName",)]))
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 6))):
        width = draw(st.integers(1, len(header) + 1))
        lines.append(",".join(_quoted(draw(_cell)) for _ in range(width)))
    text = ending.join(lines) + draw(st.sampled_from(["", ending, ending + ending]))
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.booleans()) and data:
        # A raw defect: a Latin-1 byte or a stray quote somewhere.
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xe9", b'"', b"\r"])) + data[at:]
    return data


def _read(path: Path, slow: bool) -> tuple[list[tuple[int, bool, list[str]]], list[RosterIssue]]:
    issues: list[RosterIssue] = []
    table = CsvTable(path, issues, known=KNOWN, required=frozenset({"sourcedId"}))
    if slow:
        scan = table._scan

        def line_by_line() -> tuple[bool, int]:
            return False, scan()[1]

        table._scan = line_by_line  # type: ignore[method-assign]
    table.header()
    at = [table.column(c) for c in KNOWN]
    rows = [(table.line, table.damaged, [row[i] for i in at]) for row in table]
    return rows, issues


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_files())
def test_both_ways_read_alike(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "users.csv"
        path.write_bytes(data)
        assert _read(path, slow=False) == _read(path, slow=True)


def test_plain_files_take_the_text_way(tmp_path: Path) -> None:
    for name, data, plain in (
        ("lf.csv", b"sourcedId\nu1\n", True),
        ("crlf.csv", b"sourcedId\r\nu1\r\n", True),
        ("bom.csv", b"\xef\xbb\xbfsourcedId\nu1", True),
        ("cr.csv", b"sourcedId\ru1\r", False),
        ("latin1.csv", b"sourcedId,givenName\nu1,Ren\xe9\n", False),
        ("cut.csv", b"sourcedId,givenName\nu1,Ren\xc3", False),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        table = CsvTable(path, [], known=KNOWN, required=frozenset({"sourcedId"}))
        assert table._scan()[0] is plain, name


def test_a_crlf_split_between_chunks_is_plain(tmp_path: Path) -> None:
    # The scan reads 1 MiB at a time: a CR at the end of one chunk, its LF at the start of the
    # next, is still a CRLF.
    line = b"u" * 98 + b"\r\n"
    data = b"sourcedId\r\n" + line * ((1 << 20) // len(line))
    pad = (1 << 20) - 1 - len(data)
    data += b"x" * pad + b"\r\n" + line
    assert data[(1 << 20) - 1 : (1 << 20) + 1] == b"\r\n"
    path = tmp_path / "users.csv"
    path.write_bytes(data)
    table = CsvTable(path, [], known=KNOWN, required=frozenset({"sourcedId"}))
    assert table._scan()[0] is True


def test_a_file_that_changes_while_it_is_read_is_an_issue_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes(b"sourcedId,givenName\nu1,Anna\n")
    issues: list[RosterIssue] = []
    table = CsvTable(path, issues, known=KNOWN, required=frozenset({"sourcedId"}))
    assert table.header()
    # Saved again as Latin-1 after the scan found it plain UTF-8.
    path.write_bytes(b"sourcedId,givenName\nu1,Anna\nu2,Ren\xe9\n" + b"u3,Bo\n" * 5000)
    rows = list(table)
    assert table.complete is False
    assert [row[0] for row in rows] == ["u1"][: len(rows)]
    assert [issue.message for issue in issues] == [
        "bad encoding: not UTF-8 (invalid continuation byte); the file changed while it was read"
    ]


def test_a_missing_column_reads_empty_when_asked_for_before_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes(b"sourcedId\nu1\nu2\n")
    table = CsvTable(path, [], known=KNOWN, required=frozenset({"sourcedId"}))
    assert table.header()
    sid_at, email_at = table.column("sourcedId"), table.column("email")
    rows = iter(table)
    assert [row[sid_at] for row in [next(rows)]] == ["u1"]
    with pytest.raises(RuntimeError, match="'givenName' of users.csv asked for after"):
        table.column("givenName")
    assert [(row[sid_at], row[email_at]) for row in rows] == [("u2", "")]
