"""demographics.csv and contacts.csv read by a forked child process (`adapters.oneroster.side`):
the same roster, or the same issues in the same order, as when one process reads every file;
and a child that fails, dies or is not waited for loses nothing."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.oneroster import RosterError, side
from adapters.oneroster.classes import read_orgs
from adapters.oneroster.columns import CONTACTS
from adapters.oneroster.contacts import read_contacts
from adapters.oneroster.manifest import read_manifest
from adapters.oneroster.people import read_demographics, read_users
from adapters.oneroster.reader import read_roster_details
from adapters.oneroster.state import RosterState
from bench.roster_import import write_board

PUPILS = 200
FILES = ("users.csv", "roles.csv", "enrollments.csv", "demographics.csv", "contacts.csv")
VALUES = (
    "",
    "x",
    " ",
    "2010-02-30",
    "20100101",
    "2011-07-14",
    "not an e-mail",
    "a@b.example",
    "p-404",
    "s-000001",
    "g-000002",
    "tobedeleted",
    "active",
    "post",
    "none",
    "fr",
    "EN",
    "ja",
    "maybe",
    "Lange Nieuwstraat 5",
    "3512 PE",
    "a,b",
    "x" * 300,
)


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_board(tmp_path_factory.mktemp("board") / "roster", PUPILS)


@pytest.fixture
def forked() -> Iterator[None]:
    """A child process for side files of any size."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(side, "MIN_BYTES", 0)
        yield


def outcome(directory: Path, parallel: bool) -> tuple[Any, ...]:
    """Everything a read gives: the roster with its files' modes and deletions, or the issues."""
    try:
        read = read_roster_details(directory, parallel=parallel)
    except RosterError as exc:
        return ("issues", exc.issues)
    snapshot = read.snapshot
    return (
        "roster",
        snapshot.schools,
        snapshot.classes,
        list(snapshot.persons),
        snapshot.enrollments,
        read.file_modes,
        read.deleted,
    )


def rewrite(path: Path, change: Any) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    change(rows)
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def set_delta(directory: Path, stems: list[str]) -> None:
    def change(rows: list[list[str]]) -> None:
        for row in rows:
            if row[0].removeprefix("file.") in stems:
                row[1] = "delta"

    rewrite(directory / "manifest.csv", change)


def apply(rows: list[list[str]], line: int, column: int, value: str) -> None:
    """One edit of a file's rows: a cell set, or a line dropped, blanked or given a field more."""
    at = min(line, len(rows)) - 1
    if at < 1:
        return
    if value == "<drop>":
        del rows[at]
    elif value == "<blank>":
        rows.insert(at, [])
    elif value == "<extra>":
        rows[at].append("extra")
    elif rows[at]:
        rows[at][column % len(rows[at])] = value
    else:
        rows[at] = [value]


edit = st.tuples(
    st.sampled_from(FILES),
    st.integers(min_value=2, max_value=PUPILS),
    st.integers(min_value=0, max_value=22),
    st.one_of(st.sampled_from(VALUES), st.sampled_from(("<drop>", "<blank>", "<extra>"))),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(edit, max_size=6),
    delta=st.lists(st.sampled_from(("users", "demographics", "enrollments")), unique=True),
)
def test_a_child_reads_what_one_process_reads(
    board: Path, tmp_path_factory: pytest.TempPathFactory, edits: list[Any], delta: list[str]
) -> None:
    directory = tmp_path_factory.mktemp("edited") / "roster"
    shutil.copytree(board, directory)
    set_delta(directory, delta)
    for name, line, column, value in edits:
        rewrite(directory / name, lambda rows, e=(line, column, value): apply(rows, *e))
    serial = outcome(directory, parallel=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(side, "MIN_BYTES", 0)
        assert outcome(directory, parallel=True) == serial


def read_with_progress(board: Path, parallel: bool) -> tuple[Any, list[tuple[str, int, int]]]:
    calls: list[tuple[str, int, int]] = []
    read = read_roster_details(board, progress=lambda *call: calls.append(call), parallel=parallel)
    return read, calls


def test_a_valid_board_and_its_progress_are_the_same_with_a_child(
    board: Path, forked: None
) -> None:
    seen: dict[bool, list[tuple[str, int, int]]] = {}
    for parallel in (False, True):
        read, seen[parallel] = read_with_progress(board, parallel)
        assert len(read.snapshot.persons) == PUPILS * 5 // 2 + PUPILS // 20
    # The child's files end as complete as when they are read here.
    last = {parallel: {c[0]: c for c in calls} for parallel, calls in seen.items()}
    assert last[True] == last[False]
    assert last[True]["contacts.csv"][1] == last[True]["contacts.csv"][2] > 0


def test_small_files_are_read_in_this_process(board: Path) -> None:
    state = RosterState(board, None)
    sides = [("contacts", CONTACTS.file, read_contacts)]
    assert side.SideRead.start(state, [], sides) is None


def sides_of() -> list[side.Side]:
    return [
        ("demographics", "demographics.csv", read_demographics),
        ("contacts", CONTACTS.file, read_contacts),
    ]


def users_read(board: Path) -> RosterState:
    """The state as the child starts from: orgs.csv and users.csv read."""
    state = RosterState(board, None)
    assert read_manifest(state)
    read_orgs(state)
    read_users(state)
    return state


def test_a_child_that_fails_leaves_the_files_to_this_process(board: Path, forked: None) -> None:
    parent = os.getpid()

    def failing(state: RosterState) -> None:
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        read_contacts(state)

    expected = users_read(board)
    read_contacts(expected)
    state = users_read(board)
    started = side.SideRead.start(state, [], [("contacts", CONTACTS.file, failing)])
    assert started is not None
    started.join(state)
    assert state.contacts == expected.contacts
    assert len(state.contacts) == PUPILS * 3 // 2


def test_a_killed_child_leaves_the_files_to_this_process(board: Path, forked: None) -> None:
    expected = users_read(board)
    for _stem, _name, read in sides_of():
        read(expected)
    parent = os.getpid()

    def stalling(state: RosterState) -> None:
        if os.getpid() != parent:  # the child waits to be killed halfway
            time.sleep(60)
        read_contacts(state)

    state = users_read(board)
    started = side.SideRead.start(
        state, [], [*sides_of()[:1], ("contacts", "contacts.csv", stalling)]
    )
    assert started is not None
    os.kill(started._pid or 0, signal.SIGKILL)
    began = time.monotonic()
    started.join(state)
    assert time.monotonic() - began < 30  # not the child's minute
    assert state.contacts == expected.contacts
    assert state.birth_dates == expected.birth_dates
    assert state.issues == expected.issues


def test_a_child_not_waited_for_is_stopped_and_reaped(board: Path, forked: None) -> None:
    parent = os.getpid()

    def stalling(state: RosterState) -> None:
        if os.getpid() != parent:
            time.sleep(60)

    state = users_read(board)
    started = side.SideRead.start(state, [], [("contacts", "contacts.csv", stalling)])
    assert started is not None
    pid = started._pid
    began = time.monotonic()
    started.cancel()
    assert time.monotonic() - began < 30  # stopped, not waited for
    with pytest.raises(ChildProcessError):  # and reaped: no zombie is left
        os.waitpid(pid or 0, os.WNOHANG)
