"""The reader's working state, and what every OneRoster file shares: sourcedIds, bulk or delta
`status`, and references from one file to another."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from adapters.oneroster.columns import MAX_LENGTHS, NEEDED, TABLES, V11, V12, TableSpec
from adapters.oneroster.csvfile import CsvTable, Hint, ProgressFn
from adapters.oneroster.issues import RosterIssue
from adapters.oneroster.values import check_datetime, required_value
from bot.domain import EnrollmentRole, Role, SchoolClass
from bot.i18n import Msg

T = TypeVar("T")

M_OTHER_VERSION_COLUMN = Msg(
    "unknown column (a OneRoster {other} column, but manifest.csv says {version})"
)
M_EMPTY_ID = Msg("empty sourcedId")
M_TOO_LONG = Msg("too long: {length} characters (at most {limit})")
M_DUPLICATE_ID = Msg("duplicate sourcedId '{id}' (first on line {first})")
M_NO_DATA_ROWS = Msg("no data rows (OneRoster does not allow an empty data file)")
M_DELTA_STATUS = Msg("must be active or tobedeleted in a delta file, is '{status}'")
M_DELTA_STATUS_EMPTY = Msg("must be active or tobedeleted in a delta file, is empty")
M_BULK_STATUS = Msg("'{status}' is not allowed in a bulk file (leave a deleted record out instead)")
# A reference to a record of another file (`{id}`) that is not there, per file referred to.
M_UNKNOWN_REF = {
    "orgs": Msg("unknown org '{id}' (not in orgs.csv)"),
    "users": Msg("unknown user '{id}' (not in users.csv)"),
    "classes": Msg("unknown class '{id}' (not in classes.csv)"),
}
REFERRED = frozenset(M_UNKNOWN_REF)
"""The files whose records others refer to by sourcedId."""
M_DELETED_REF = {
    "orgs": Msg("org '{id}' is marked tobedeleted"),
    "users": Msg("user '{id}' is marked tobedeleted"),
    "classes": Msg("class '{id}' is marked tobedeleted"),
}


@dataclass(slots=True)
class User:
    line: int
    given_name: str
    family_name: str
    middle_name: str
    email: str | None
    role: Role | None  # the main role; None until known (1.2: after resolve_roles)
    agents: tuple[str, ...]
    roles: frozenset[Role] = frozenset()  # every role, `role` among them (`shared`)
    preferred_given_name: str = ""  # 1.2 `preferredGivenName`
    org_ids: tuple[str, ...] = ()
    """The orgs (schools) the user belongs to, sorted (`shared`): 1.1 `orgSourcedIds`; 1.2
    `primaryOrgSourcedId` and the `orgSourcedId` of each of the user's roles.csv rows
    (`read_roles`)."""
    username: str | None = None
    """`username`: the school account's sign-in name (a platform that reports it, Teams, links
    the account without a code); None when empty."""
    first_role: Role | None = None
    """1.2: the role of the user's first valid roles.csv row, and of the first primary one."""
    primary_role: Role | None = None
    guardian_ids: list[str] | None = None
    """A pupil's guardians, in the order found (`guardian_links`); None: none."""
    contact: ContactRow | None = None
    birth_date: date | None = None
    """The user's row of contacts.csv and birth date, once the persons are built."""


@dataclass(slots=True)
class EnrollmentRow:
    line: int
    class_id: str
    user_id: str
    role: EnrollmentRole
    primary: bool


ContactRow = tuple[str | None, tuple[str, str, str] | None, str, str | None, bool]
"""A person's row of contacts.csv, checked, as plain values (`side.py` hands them from one process
to another): e-mail; address as (street, postal code, city), one tuple per household; fallback
(a ContactPreference's value); language (None: the column is empty, the person's own choice
stays); an adult pupil's consent to share with their guardians (rule 6)."""


@dataclass(slots=True)
class Org:
    name: str
    type: str
    identifier: str = ""


@dataclass
class RosterState:
    """Everything read so far from one roster directory, and every issue found in it."""

    directory: Path
    progress: ProgressFn | None
    issues: list[RosterIssue] = field(default_factory=list)
    version: str = V11
    modes: dict[str, str] = field(default_factory=dict)
    has_contacts: bool = False
    # Per file stem: the sourcedIds of usable records, including damaged rows, so that a reference
    # to a row with its own defect does not produce a second, misleading "unknown id" issue.
    known: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    deleted: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Stems whose ids are all known; "unknown id" checks run only against those.
    complete: set[str] = field(default_factory=set)
    orgs: dict[str, Org] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    classes: dict[str, SchoolClass] = field(default_factory=dict)
    enrollments: list[EnrollmentRow] = field(default_factory=list)
    birth_dates: dict[str, date] = field(default_factory=dict)
    contacts: dict[str, ContactRow] = field(default_factory=dict)
    with_agents: list[str] = field(default_factory=list)
    """The users whose `agentSourcedIds` name someone, in the order of users.csv."""
    role_users: set[str] = field(default_factory=set)
    """1.2: the users some roles.csv row names (valid or not)."""
    _shared: dict[Any, Any] = field(default_factory=dict)

    def shared(self, value: T) -> T:
        """`value`, or an equal one seen before: the roles and schools that thousands of persons
        share are kept once (a board's roster is big)."""
        return self._shared.setdefault(value, value)  # type: ignore[no-any-return]

    def issue(
        self, file: str, line: int | None, column: str | None, msg: Msg, /, **params: Any
    ) -> None:
        self.issues.append(RosterIssue(file, line, column, msg, params))

    def records(
        self, stem: str, spec: TableSpec | None = None
    ) -> tuple[CsvTable, Iterator[list[str]]]:
        """The table of one file, its header read, and its usable, active records: each a list
        of values by `table.column()`, with `table.line` set to its line.

        Handles what every file shares: header, empty and duplicate sourcedIds, values too long,
        damaged rows and bulk/delta `status`. Records marked `tobedeleted` are collected in
        `self.deleted`."""
        if spec is None:
            spec = TABLES[(self.version, stem)]
        delta = self.modes.get(stem) == "delta"
        required = (spec.required | {"status", "dateLastModified"}) if delta else spec.required
        other = V11 if self.version == V12 else V12
        other_spec = TABLES.get((other, stem))
        hints: dict[str, Hint] = {}
        if other_spec is not None:
            for column in set(other_spec.columns) - set(spec.columns):
                hints[column] = (M_OTHER_VERSION_COLUMN, {"other": other, "version": self.version})
        table = CsvTable(
            self.directory / spec.file,
            self.issues,
            known=spec.columns,
            required=frozenset(required),
            hints=hints,
            progress=self.progress,
        )
        table.header()
        return table, self._records(table, stem, delta)

    def _records(self, table: CsvTable, stem: str, delta: bool) -> Iterator[list[str]]:
        first_line: dict[str, int] = {}
        # Only orgs, users and classes are referred to; the ids of the other files are needed
        # for this file's duplicates only (`first_line`).
        known = self.known[stem] if stem in REFERRED else None
        lengths = [
            (table.column(column), column, limit)
            for column, limit in MAX_LENGTHS.get(stem, {}).items()
        ]
        # A row whose values are shorter together than the smallest limit has no value too long.
        shortest = min((limit for _at, _column, limit in lengths), default=0)
        sid_at, status_at = table.column("sourcedId"), table.column("status")
        date_at = table.column("dateLastModified")
        deleted = self.deleted[stem]
        first = first_line.setdefault  # one look-up: the line given back is this one's, or not
        for row in table:
            sid = row[sid_at]
            line = table.line
            if table.damaged:
                if sid and known is not None:
                    known.add(sid)
                continue
            if not sid:
                table.issue(line, "sourcedId", M_EMPTY_ID)
                continue
            if lengths and (size := len("".join(row))) > shortest:
                for at, column, limit in lengths:
                    if limit < size and len(row[at]) > limit:
                        table.issue(line, column, M_TOO_LONG, length=len(row[at]), limit=limit)
            if (first_seen := first(sid, line)) is not line:
                table.issue(line, "sourcedId", M_DUPLICATE_ID, id=sid, first=first_seen)
                continue
            status = row[status_at]
            if delta or status:
                if _is_deleted(table, line, status, row[date_at], delta):
                    deleted.add(sid)
                    continue
            yield row
        if known is not None:
            # The usable records' ids, known once the file is read (no file refers to its own):
            # every id but the ones marked tobedeleted, in one go.
            known.update(first_line.keys() - deleted if deleted else first_line)
        if table.complete:
            self.complete.add(stem)
        # A file whose header failed was not read; "no data rows" would only add noise.
        if stem in NEEDED[self.version] and table.complete and not table.rows_read:
            table.issue(None, None, M_NO_DATA_ROWS)

    def ref(
        self,
        file: str,
        line: int,
        column: str,
        stem: str,
        value: str,
        *,
        deleted_ok: bool = True,
    ) -> bool:
        """Whether `value` names a usable record of `stem`; reports an unknown id.

        A reference to a record the delta marks `tobedeleted` is not usable; it is reported only
        when `deleted_ok` is False (the referring record cannot exist without its target)."""
        if value in self.known[stem]:
            return True
        if value in self.deleted[stem]:
            if not deleted_ok:
                self.issue(file, line, column, M_DELETED_REF[stem], id=value)
            return False
        if stem in self.complete:
            self.issue(file, line, column, M_UNKNOWN_REF[stem], id=value)
        return False

    def required_ref(
        self,
        table: CsvTable,
        column: str,
        stem: str,
        value: str,
        *,
        deleted_ok: bool = True,
    ) -> bool:
        """Whether a required reference to `stem` (`value`, on the table's current line) names
        a usable record; reports an empty value or an unknown id. Callers check the usual case,
        `value in state.known[stem]`, themselves first (a big export has hundreds of thousands)."""
        if value in self.known[stem]:
            return True
        if not required_value(table, table.line, column, value):
            return False
        return self.ref(table.name, table.line, column, stem, value, deleted_ok=deleted_ok)


def _is_deleted(table: CsvTable, line: int, status: str, modified: str, delta: bool) -> bool:
    """Whether a record is marked `tobedeleted` (only a delta file may do so); checks `status`."""
    if delta:
        check_datetime(table, line, "dateLastModified", modified)
        if status == "tobedeleted":
            return True
        if status != "active":
            if status:
                table.issue(line, "status", M_DELTA_STATUS, status=status)
            else:
                table.issue(line, "status", M_DELTA_STATUS_EMPTY)
        return False
    if status not in ("", "active"):
        table.issue(line, "status", M_BULK_STATUS, status=status)
    return False
