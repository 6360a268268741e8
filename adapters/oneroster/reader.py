"""Reading a OneRoster 1.1 / 1.2 CSV directory (plus klasbot's contacts.csv) into a RosterSnapshot.

The reader only validates and converts; it never touches a database. It collects every defect it
can find (not just the first) and raises one RosterError carrying all of them, so an admin can fix
an export in one go (`klasbot roster import` is all or nothing).

Decisions beyond the OneRoster text:
- Columns are matched by name; their order is not enforced (a re-ordered export loses nothing).
  Names are case-sensitive; an unknown column that is not `metadata.*` is an issue, because a
  misspelt or mis-cased column (`birthdate`) would otherwise silently lose its data.
- Values are kept exactly as written: no trimming, no evaluation of `=`, `+`, `-` or `@` cells.
  Only items of list cells (`"id1, id2"`) are trimmed.
- Only the values klasbot uses are checked beyond the header (ids, references, names, roles,
  dates, booleans, e-mail addresses, contacts); academicSessions, courses and the other files are
  not read at all.
- In a bulk file a `status` of `active` is tolerated (some exporters write it; it is harmless), but
  `tobedeleted` is an issue: in a bulk file a record is deleted by leaving it out.
- A delta file's `tobedeleted` records are dropped; references to them (an enrollment of a deleted
  user, a contacts row of a deleted user) are dropped with them, without an issue.
- enrollments' beginDate/endDate are checked for format but not applied: that needs a clock, and
  the reader has none.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from adapters.oneroster.classes import (
    check_enrollments,
    read_classes,
    read_enrollments,
    read_orgs,
)
from adapters.oneroster.columns import CONTACTS, TABLES
from adapters.oneroster.contacts import read_contacts
from adapters.oneroster.csvfile import ProgressFn
from adapters.oneroster.issues import RosterError, RosterIssue
from adapters.oneroster.manifest import read_manifest
from adapters.oneroster.people import (
    guardian_links,
    read_demographics,
    read_roles,
    read_users,
    register_users,
    report_users_without_role,
    resolve_roles,
)
from adapters.oneroster.side import Side, SideRead
from adapters.oneroster.snapshot import build_snapshot
from adapters.oneroster.state import RosterState
from bot.domain import RosterSnapshot
from bot.i18n import Msg

__all__ = ["RosterError", "RosterIssue", "RosterRead", "read_roster", "read_roster_details"]

logger = logging.getLogger(__name__)

M_NOT_A_DIRECTORY = Msg("not a directory")

# Issues are reported in the order an admin would walk through the files.
_FILE_ORDER = (
    "manifest.csv",
    "orgs.csv",
    "users.csv",
    "roles.csv",
    "classes.csv",
    "enrollments.csv",
    "demographics.csv",
    "contacts.csv",
)
# The OneRoster files, in reading order: each may refer to the ones before it. A file is read
# when manifest.csv put it in `RosterState.modes` (roles.csv only for 1.2).
_FILE_READERS = (
    ("orgs", read_orgs),
    ("users", read_users),
    ("classes", read_classes),
    ("roles", read_roles),
    ("enrollments", read_enrollments),
    ("demographics", read_demographics),
)
# The files no other file refers to, whose records name only orgs, users and classes: read after
# those (with contacts.csv), by a child process while this one reads the rest when the caller
# allows it (`side.py`).
_SIDE_FILES = frozenset(("enrollments", "demographics"))
_BEFORE_SIDE = frozenset(("orgs", "users", "classes"))


@dataclass(frozen=True, slots=True)
class RosterRead:
    """The full result of reading a roster directory.

    `file_modes` maps each OneRoster file that was read (stem, e.g. "users") to "bulk" or "delta";
    `deleted` maps a stem to the sourcedIds its delta file marked `tobedeleted`. A snapshot read
    from delta files holds only the records those files contain: an importer that syncs (removes
    what is missing) must not do so for a delta file."""

    snapshot: RosterSnapshot
    file_modes: dict[str, str]
    deleted: dict[str, frozenset[str]]


def read_roster(directory: Path, *, progress: ProgressFn | None = None) -> RosterSnapshot:
    """Validate the roster in `directory` and return it as a RosterSnapshot.

    `progress(file_name, rows_done, rows_total)` is called every 500 rows and once at the end of
    each data file (`rows_total` is an estimate until that last call). Raises RosterError with
    every issue found when anything is wrong; nothing is returned partially."""
    return read_roster_details(directory, progress=progress).snapshot


def read_roster_details(
    directory: Path, *, progress: ProgressFn | None = None, parallel: bool = False
) -> RosterRead:
    """Like read_roster, but also says which files were bulk or delta and what delta deleted.

    `parallel`: a big roster's enrollments.csv, demographics.csv and contacts.csv are read by a
    forked child process meanwhile (`side.py`); only for a caller that runs no event loop and
    no threads of its own, such as a command line."""
    with _collector_paused():
        return _read(RosterState(Path(directory), progress), parallel)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a roster is read. Reading makes millions of
    objects that all live on (nothing the reader makes is cyclic), and the collector would go
    through them again and again: for a board of 100,000 pupils that was 40% of the reading."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read(state: RosterState, parallel: bool = False) -> RosterRead:
    if not state.directory.is_dir():
        raise RosterError([RosterIssue(str(state.directory), None, None, M_NOT_A_DIRECTORY)])
    if not read_manifest(state):
        _raise(state)
    # The files in reading order; the side files last, as nothing else refers to them.
    files = [(stem, read) for stem, read in _FILE_READERS if stem in state.modes]
    main = [(stem, read) for stem, read in files if stem not in _SIDE_FILES]
    sides: list[Side] = [
        (stem, TABLES[(state.version, stem)].file, read)
        for stem, read in files
        if stem in _SIDE_FILES
    ]
    if state.has_contacts:
        sides.append(("contacts", CONTACTS.file, read_contacts))
    # The child reads the files the side files refer to as well (of users.csv, who the users
    # are), then the side files.
    first = [
        register_users if stem == "users" else read_file
        for stem, read_file in main
        if stem in _BEFORE_SIDE
    ]
    side = SideRead.start(state, first, sides) if parallel else None
    try:
        for _stem, read_file in main:
            read_file(state)
        report_users_without_role(state)
        # Users and their roles are all a guardian link needs.
        guardian_links(state)
        if side is not None:
            side.join(state)
            side = None
        else:
            for _stem, _name, read_side in sides:
                read_side(state)
    finally:
        if side is not None:
            side.cancel()
    resolve_roles(state)
    enrollments = check_enrollments(state)
    if state.issues:
        _raise(state)
    snapshot = build_snapshot(state, enrollments)
    logger.info(
        "read OneRoster %s roster from %s: %d schools, %d classes, %d persons, %d enrollments",
        state.version,
        state.directory,
        len(snapshot.schools),
        len(snapshot.classes),
        len(snapshot.persons),
        len(snapshot.enrollments),
    )
    return RosterRead(
        snapshot=snapshot,
        file_modes=dict(state.modes),
        deleted={stem: frozenset(ids) for stem, ids in state.deleted.items() if ids},
    )


def _raise(state: RosterState) -> NoReturn:
    def key(issue: RosterIssue) -> tuple[int, str, int]:
        rank = _FILE_ORDER.index(issue.file) if issue.file in _FILE_ORDER else len(_FILE_ORDER)
        return rank, issue.file, issue.line or 0

    # sorted() is stable: issues on one line keep the order in which they were found.
    issues = sorted(state.issues, key=key)
    logger.warning("roster %s has %d issue(s)", state.directory, len(issues))
    raise RosterError(issues)
