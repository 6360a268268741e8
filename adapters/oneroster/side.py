"""Reading enrollments.csv, demographics.csv and contacts.csv in a second process while this one
reads roles.csv.

A board's roster is read in one process at a few microseconds a row, and a machine has more
than one core. The files whose records no other file refers to, and which name only orgs, users
and classes, are read by a child process forked before anything is read: it reads orgs.csv and
classes.csv too, and who the users of users.csv are (`register_users`: their checks need every
org, user and class), then the side files, while this process reads orgs, users, classes and
roles.csv and links guardians. Forked early, the child shares little memory with this process
and copies little of it (forked once the users were read, it copied most of their pages: a
board's import took 60 MB more at its peak); reading only who the users are, it holds a tenth
of what they take here. The child reads with the same functions
and the same state as this process would, and hands back what the side files added to the
state: the issues (pickled), the enrollment rows, contact rows, birth dates, deleted ids and
complete files (marshalled: plain values, a fraction of a second for a board), a few thousand
records at a time, into a temporary file without a name.

Nothing depends on the child: if the platform cannot fork, or the child fails or is killed, or
its answer cannot be read, this process reads the files itself, as it does for a small roster.
The issues come out in the same order either way: only these files' readers report on their
lines, and they run in the same order in the child."""

from __future__ import annotations

import contextlib
import logging
import marshal
import os
import pickle
import signal
import tempfile
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, BinaryIO

from adapters.oneroster.state import EnrollmentRow, RosterState
from bot.domain import EnrollmentRole

logger = logging.getLogger(__name__)

Reader = Callable[[RosterState], None]
Side = tuple[str, str, Reader]
"""A side file: its stem (`RosterState.deleted`, `.complete`), its file name, its reader."""

MIN_BYTES = 1 << 20
"""The side files' size from which a child process is worth its start (a few milliseconds)."""


class SideRead:
    """The side files (`sides`, in their order) read in a forked child process."""

    def __init__(self, pid: int, answer: BinaryIO, done: int, sides: Sequence[Side]) -> None:
        self._pid: int | None = pid
        self._answer = answer
        self._done = done
        self._sides = sides

    @classmethod
    def start(
        cls, state: RosterState, first: Sequence[Reader], sides: Sequence[Side]
    ) -> SideRead | None:
        """The child reading `sides` (in their order) after the files they refer to (`first`,
        which this process reads too), or None when one process will do: the files are small,
        or the platform cannot fork."""
        if not sides or not hasattr(os, "fork"):
            return None
        size = 0
        for _stem, name, _read in sides:
            with contextlib.suppress(OSError):
                size += (state.directory / name).stat().st_size
        if size < MIN_BYTES:
            return None
        try:
            # The answer goes to a file no other process can open (it has no name), written as
            # each side file is read: the child need not wait for this process to take it, and
            # holds one file's records at a time, not all of them.
            answer = tempfile.TemporaryFile()
        except OSError as exc:
            logger.info("roster read in one process: no temporary file (%s)", type(exc).__name__)
            return None
        # The child says on a pipe that its answer is whole, then ends: this process takes the
        # answer without waiting for the child's memory to be given back.
        done, said = os.pipe()
        try:
            pid = os.fork()
        except OSError as exc:
            logger.info("roster read in one process: no second one (%s)", type(exc).__name__)
            answer.close()
            os.close(done)
            os.close(said)
            return None
        if pid == 0:  # the child: never returns
            os.close(done)
            _child(state, first, sides, answer, said)
        os.close(said)
        return cls(pid, answer, done, sides)

    def join(self, state: RosterState) -> None:
        """The child's additions to `state`; the files read here instead if the child failed."""
        parts = self._collect()
        if parts is None:
            logger.info("reading %d roster file(s) in this process instead", len(self._sides))
            for _stem, _name, read in self._sides:
                read(state)
            return
        logger.debug("%d roster file(s) read by a child process", len(self._sides))
        for kind, part in parts:
            _apply(state, kind, part)

    def cancel(self) -> None:
        """Stop the child (this process did not get to `join`)."""
        if self._pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
        self._collect()

    def _collect(self) -> list[tuple[str, Any]] | None:
        """The child's answer, part by part, once it says it is whole; None if the child ended
        without saying so or the answer cannot be read (nothing of it is taken then). The child
        is waited for last, while its memory is given back."""
        pid, self._pid = self._pid, None
        if pid is None:
            return None
        try:
            whole = os.read(self._done, 1) == b"1"  # nothing: the child ended without its answer
        except OSError:
            whole = False
        finally:
            os.close(self._done)
        try:
            return self._parts() if whole else None
        finally:
            self._answer.close()
            os.waitpid(pid, 0)

    def _parts(self) -> list[tuple[str, Any]] | None:
        parts: list[tuple[str, Any]] = []
        try:
            self._answer.seek(0)
            data = memoryview(self._answer.read())
            at = 0
            while at < len(data):  # each part: its length (8 bytes), then the part
                size = int.from_bytes(data[at : at + 8], "little")
                kind, part = marshal.loads(data[at + 8 : at + 8 + size])
                parts.append((kind, part))
                at += 8 + size
                if kind == "end":
                    return parts
        except (OSError, EOFError, ValueError, TypeError):
            pass
        return None


def _apply(state: RosterState, kind: str, part: Any) -> None:
    """One part of the child's answer (`_Spilled`, `_SpilledRows`, the end), added to `state`."""
    if kind == "enrollments":
        roles = {role.value: role for role in EnrollmentRole}
        state.enrollments.extend(
            EnrollmentRow(line, class_id, user_id, roles[role], primary)
            for line, class_id, user_id, role, primary in part
        )
    elif kind == "birth_dates":
        days: dict[int, date] = {}
        birth_dates = state.birth_dates
        for sid, day in part.items():
            birth_date = days.get(day)
            if birth_date is None:
                birth_date = days[day] = date.fromordinal(day)
            birth_dates[sid] = birth_date
    elif kind == "contacts":
        state.contacts.update(part)
    elif kind == "end":
        issues, deleted, complete, progress = part
        state.issues.extend(pickle.loads(issues))
        for stem, ids in deleted.items():
            state.deleted[stem].update(ids)
        state.complete.update(complete)
        if state.progress is not None:
            for name, done, total in progress:
                state.progress(name, done, total)


SPILL = 10_000
"""Records the child holds of a side file before it writes them to its answer and lets go."""


class _Spilled(dict[str, Any]):
    """The child's contact rows or birth dates (`kind`): written to the answer, as plain values
    (`encode`), every `SPILL` records and when `spill` is called, and let go. The child holds a
    few thousand records at a time, not a board's."""

    def __init__(self, kind: str, answer: BinaryIO, encode: Callable[[dict[str, Any]], Any]):
        super().__init__()
        self.kind, self.answer, self.encode = kind, answer, encode

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if len(self) >= SPILL:
            self.spill()

    def spill(self) -> None:
        if self:
            _write(self.answer, (self.kind, self.encode(self)))
            self.clear()


def _days(dates: dict[str, Any]) -> dict[str, int]:
    return {sid: day.toordinal() for sid, day in dates.items()}


class _SpilledRows(list[EnrollmentRow]):
    """The child's enrollment rows, written to the answer like `_Spilled`."""

    def __init__(self, answer: BinaryIO) -> None:
        super().__init__()
        self.answer = answer

    def append(self, row: EnrollmentRow) -> None:
        super().append(row)
        if len(self) >= SPILL:
            self.spill()

    def spill(self) -> None:
        if self:
            rows = [(e.line, e.class_id, e.user_id, e.role.value, e.primary) for e in self]
            _write(self.answer, ("enrollments", rows))
            self.clear()


def _write(answer: BinaryIO, part: tuple[str, Any]) -> None:
    """One part of the answer: its length, then the part (read back at once with
    `marshal.loads`; `marshal.load` from a file reads each string with a call of its own)."""
    data = marshal.dumps(part)
    answer.write(len(data).to_bytes(8, "little"))
    answer.write(data)
    del data


def _child(
    state: RosterState,
    first: Sequence[Reader],
    sides: Sequence[Side],
    answer: BinaryIO,
    said: int,
) -> None:
    """Read, write the answer, say so on `said`, and end without running anything of the
    parent's (`os._exit`: no atexit handler, no flush of buffers it inherited)."""
    code = 1
    try:
        # A default handler for SIGINT: Ctrl-C ends the child quietly (the parent reports it).
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        progress: dict[str, tuple[str, int, int]] = {}

        def note(name: str, done: int, total: int) -> None:
            progress[name] = (name, done, total)

        # The parent's progress display is not the child's to draw: the last figures go back.
        state.progress = note
        # What the side files refer to, read here as well: the parent reports its issues.
        for read_first in first:
            read_first(state)
        first_issue = len(state.issues)
        stems = [stem for stem, _name, _read in sides]
        progress.clear()  # only the side files' figures go back
        # Nothing the side files add is there yet (this process read none of them): what they
        # add goes to the answer as it comes.
        rows = state.enrollments = _SpilledRows(answer)
        births = state.birth_dates = _Spilled("birth_dates", answer, _days)
        contacts = state.contacts = _Spilled("contacts", answer, dict)
        for _stem, _name, read in sides:
            read(state)
            rows.spill()
            births.spill()
            contacts.spill()
        end = (
            pickle.dumps(state.issues[first_issue:], protocol=pickle.HIGHEST_PROTOCOL),
            {stem: state.deleted[stem] for stem in stems if state.deleted.get(stem)},
            [stem for stem in stems if stem in state.complete],
            list(progress.values()),
        )
        _write(answer, ("end", end))
        answer.flush()
        os.write(said, b"1")
        code = 0
    finally:
        os._exit(code)
