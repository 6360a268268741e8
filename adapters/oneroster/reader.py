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

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import NoReturn

from adapters.oneroster.columns import (
    CONTACTS,
    ENROLLMENT_ROLES,
    EXT_PREFIX,
    MANIFEST,
    NEEDED,
    OPTIONAL,
    ORG_TYPES,
    ROLE_TYPES,
    TABLES,
    USER_ROLES,
    V11,
    V12,
    TableSpec,
)
from adapters.oneroster.csvfile import CsvTable, ProgressFn, Row
from adapters.oneroster.issues import RosterError, RosterIssue
from bot.domain import (
    Address,
    ContactPreference,
    Enrollment,
    EnrollmentRole,
    Person,
    Role,
    RosterSnapshot,
    School,
    SchoolClass,
)

__all__ = ["RosterError", "RosterIssue", "RosterRead", "read_roster", "read_roster_details"]

logger = logging.getLogger(__name__)

_VERSIONS = {"1.1": V11, "1.2": V12, "1.2.0": V12, "1.2.1": V12}
_FILE_MODES = ("absent", "bulk", "delta")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Deliberately loose: it catches values that are plainly not an address (a name, a phone number,
# a formula) without rejecting unusual but valid ones.
_EMAIL = re.compile(r"[^@\s,;:<>\"()\[\]]+@[^@\s,;:<>\"()\[\]]+\.[^@\s,;:<>\"()\[\]]+")
_FALLBACKS = {
    "": ContactPreference.DEFAULT,
    "email": ContactPreference.DEFAULT,
    "post": ContactPreference.POST,
    "none": ContactPreference.NONE,
}
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


def read_roster_details(directory: Path, *, progress: ProgressFn | None = None) -> RosterRead:
    """Like read_roster, but also says which files were bulk or delta and what delta deleted."""
    return _RosterReader(Path(directory), progress).read()


@dataclass(slots=True)
class _User:
    line: int
    given_name: str
    family_name: str
    middle_name: str
    email: str | None
    role: Role | None
    agents: tuple[str, ...]


@dataclass(slots=True)
class _RoleRow:
    line: int
    primary: bool
    role: Role


@dataclass(slots=True)
class _Enrollment:
    line: int
    class_id: str
    user_id: str
    role: EnrollmentRole
    primary: bool


@dataclass(slots=True)
class _Contact:
    email: str | None
    address: Address | None
    preference: ContactPreference


@dataclass(slots=True)
class _Org:
    name: str
    type: str


@dataclass
class _RosterReader:
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
    orgs: dict[str, _Org] = field(default_factory=dict)
    users: dict[str, _User] = field(default_factory=dict)
    user_roles: dict[str, list[_RoleRow]] = field(default_factory=lambda: defaultdict(list))
    classes: dict[str, SchoolClass] = field(default_factory=dict)
    enrollments: list[_Enrollment] = field(default_factory=list)
    birth_dates: dict[str, date] = field(default_factory=dict)
    contacts: dict[str, _Contact] = field(default_factory=dict)

    # -- driver ---------------------------------------------------------------------------------

    def read(self) -> RosterRead:
        if not self.directory.is_dir():
            raise RosterError([RosterIssue(str(self.directory), None, None, "not a directory")])
        if not self._read_manifest():
            self._raise()
        self._read_orgs()
        self._read_users()
        if self.version == V12:
            self._read_roles()
        self._read_classes()
        self._read_enrollments()
        if "demographics" in self.modes:
            self._read_demographics()
        if self.has_contacts:
            self._read_contacts()
        self._resolve_roles()
        enrollments = self._check_enrollments()
        guardians = self._guardian_links()
        if self.issues:
            self._raise()
        snapshot = RosterSnapshot(
            schools=self._schools(),
            classes=tuple(self.classes.values()),
            persons=self._persons(guardians),
            enrollments=enrollments,
            version=self.version,
        )
        logger.info(
            "read OneRoster %s roster from %s: %d schools, %d classes, %d persons, %d enrollments",
            self.version,
            self.directory,
            len(snapshot.schools),
            len(snapshot.classes),
            len(snapshot.persons),
            len(snapshot.enrollments),
        )
        return RosterRead(
            snapshot=snapshot,
            file_modes=dict(self.modes),
            deleted={stem: frozenset(ids) for stem, ids in self.deleted.items() if ids},
        )

    def _raise(self) -> NoReturn:
        def key(issue: RosterIssue) -> tuple[int, str, int]:
            rank = _FILE_ORDER.index(issue.file) if issue.file in _FILE_ORDER else len(_FILE_ORDER)
            return rank, issue.file, issue.line or 0

        # sorted() is stable: issues on one line keep the order in which they were found.
        issues = sorted(self.issues, key=key)
        logger.warning("roster %s has %d issue(s)", self.directory, len(issues))
        raise RosterError(issues)

    def _issue(self, file: str, line: int | None, column: str | None, message: str) -> None:
        self.issues.append(RosterIssue(file, line, column, message))

    # -- manifest -------------------------------------------------------------------------------

    def _read_manifest(self) -> bool:
        """Read manifest.csv and decide which files to read; False when nothing more can be done."""
        name = MANIFEST.file
        if not (self.directory / name).is_file():
            self._issue(
                name, None, None, "missing: a OneRoster directory must contain manifest.csv"
            )
            return False
        table = CsvTable(
            self.directory / name, self.issues, known=MANIFEST.columns, required=MANIFEST.required
        )
        props: dict[str, tuple[str, int]] = {}
        for row in table:
            if row.damaged:
                continue
            prop = row["propertyName"]
            if prop in props:
                table.issue(
                    row.line,
                    "propertyName",
                    f"duplicate property '{prop}' (first on line {props[prop][1]})",
                )
                continue
            props[prop] = (row["value"], row.line)
        if not table.complete:
            return False
        if "oneroster.version" not in props:
            self._issue(name, None, None, "no 'oneroster.version' row (1.1 or 1.2)")
            return False
        value, line = props["oneroster.version"]
        if value not in _VERSIONS:
            self._issue(
                name,
                line,
                "value",
                f"unsupported oneroster.version '{value}' (expected 1.1 or 1.2)",
            )
            return False
        self.version = _VERSIONS[value]

        declared: dict[str, tuple[str, int]] = {}
        listed: set[str] = set()
        for prop, (mode, line) in props.items():
            if not prop.startswith("file."):
                continue
            stem = prop.removeprefix("file.")
            listed.add(stem)
            if mode not in _FILE_MODES:
                self._issue(
                    name, line, "value", f"{prop} must be absent, bulk or delta, not '{mode}'"
                )
                continue
            declared[stem] = (mode, line)

        present = {
            p.name for p in self.directory.iterdir() if p.is_file() and p.suffix.lower() == ".csv"
        }
        for stem, (mode, line) in declared.items():
            file = f"{stem}.csv"
            if mode == "absent" and file in present:
                self._issue(name, line, "value", f"{file} is declared absent but exists")
            elif mode != "absent" and file not in present:
                self._issue(
                    name,
                    line,
                    "value",
                    f"{file} is declared {mode} but does not exist{_case_hint(file, present)}",
                )
        for file in sorted(present - {MANIFEST.file, CONTACTS.file}):
            stem = file.removesuffix(".csv")
            if stem not in listed:
                self._issue(
                    file, None, None, f"not listed in manifest.csv (add a 'file.{stem}' row)"
                )
        for stem in NEEDED[self.version]:
            mode, line = declared.get(stem, ("", 0))
            if mode == "absent":
                self._issue(
                    name, line, "value", f"klasbot needs {stem}.csv but file.{stem} is absent"
                )
            elif not mode and f"{stem}.csv" not in present:
                self._issue(
                    name,
                    None,
                    None,
                    f"klasbot needs {stem}.csv: add the file and a 'file.{stem}' row (bulk)",
                )
        # Read every file we use that exists, even when the manifest is wrong about it, so that
        # one run reports the defects inside the file too.
        for stem in NEEDED[self.version] + OPTIONAL:
            if f"{stem}.csv" in present:
                mode = declared.get(stem, ("bulk", 0))[0]
                self.modes[stem] = mode if mode in ("bulk", "delta") else "bulk"
        self.has_contacts = CONTACTS.file in present
        return True

    # -- generic record handling ----------------------------------------------------------------

    def _records(
        self, stem: str, spec: TableSpec | None = None
    ) -> Iterator[tuple[CsvTable, Row, str]]:
        """Yield (table, row, sourcedId) for each usable, active record of one file.

        Handles what every file shares: header, empty and duplicate sourcedIds, damaged rows and
        bulk/delta `status`. Records marked `tobedeleted` are collected in `self.deleted`."""
        if spec is None:
            spec = TABLES[(self.version, stem)]
        delta = self.modes.get(stem) == "delta"
        required = (spec.required | {"status", "dateLastModified"}) if delta else spec.required
        other = V11 if self.version == V12 else V12
        other_spec = TABLES.get((other, stem))
        hints = {}
        if other_spec is not None:
            for column in set(other_spec.columns) - set(spec.columns):
                hints[column] = f"a OneRoster {other} column, but manifest.csv says {self.version}"
        table = CsvTable(
            self.directory / spec.file,
            self.issues,
            known=spec.columns,
            required=frozenset(required),
            hints=hints,
            progress=self.progress,
        )
        first_line: dict[str, int] = {}
        known = self.known[stem]
        for row in table:
            sid = row["sourcedId"]
            if row.damaged:
                if sid:
                    known.add(sid)
                continue
            if not sid:
                table.issue(row.line, "sourcedId", "empty sourcedId")
                continue
            if sid in first_line:
                table.issue(
                    row.line,
                    "sourcedId",
                    f"duplicate sourcedId '{sid}' (first on line {first_line[sid]})",
                )
                continue
            first_line[sid] = row.line
            if self._is_deleted(table, row, delta):
                self.deleted[stem].add(sid)
                continue
            known.add(sid)
            yield table, row, sid
        if table.complete:
            self.complete.add(stem)
        # A file whose header failed was not read; "no data rows" would only add noise.
        if stem in NEEDED[self.version] and table.complete and not table.rows_read:
            table.issue(
                None,
                None,
                "no data rows (OneRoster does not allow an empty data file)",
            )

    def _is_deleted(self, table: CsvTable, row: Row, delta: bool) -> bool:
        status = row["status"]
        if delta:
            self._datetime(table, row, "dateLastModified")
            if status == "tobedeleted":
                return True
            if status != "active":
                shown = f"'{status}'" if status else "empty"
                table.issue(
                    row.line,
                    "status",
                    f"must be active or tobedeleted in a delta file, is {shown}",
                )
            return False
        if status not in ("", "active"):
            table.issue(
                row.line,
                "status",
                f"'{status}' is not allowed in a bulk file (leave a deleted record out instead)",
            )
        return False

    def _ref(
        self,
        table: CsvTable,
        row: Row,
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
                table.issue(row.line, column, f"{_NOUN[stem]} '{value}' is marked tobedeleted")
            return False
        if stem in self.complete:
            table.issue(row.line, column, f"unknown {_NOUN[stem]} '{value}' (not in {stem}.csv)")
        return False

    @staticmethod
    def _required(table: CsvTable, row: Row, column: str) -> str:
        value = row[column]
        if not value:
            table.issue(row.line, column, "required value is empty")
        return value

    @staticmethod
    def _date(table: CsvTable, row: Row, column: str) -> date | None:
        value = row[column]
        if not value:
            return None
        if not _DATE.fullmatch(value):
            table.issue(row.line, column, f"not a date (YYYY-MM-DD): '{value}'")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            table.issue(row.line, column, f"no such date: '{value}'")
            return None

    @staticmethod
    def _datetime(table: CsvTable, row: Row, column: str) -> None:
        value = row[column]
        if not value:
            return
        try:
            datetime.fromisoformat(value)
        except ValueError:
            table.issue(row.line, column, f"not a date-time (YYYY-MM-DDTHH:MM:SS.sssZ): '{value}'")

    @staticmethod
    def _bool(table: CsvTable, row: Row, column: str, *, required: bool = False) -> bool | None:
        value = row[column]
        if value == "true":
            return True
        if value == "false":
            return False
        if value:
            table.issue(row.line, column, f"not a boolean (true or false): '{value}'")
        elif required:
            table.issue(row.line, column, "required value is empty")
        return None

    @staticmethod
    def _email(table: CsvTable, row: Row, column: str) -> str | None:
        value = row[column]
        if not value:
            return None
        if not _EMAIL.fullmatch(value):
            table.issue(row.line, column, f"not an e-mail address: '{value}'")
            return None
        return value

    def _user_role(self, table: CsvTable, row: Row, column: str) -> Role | None:
        value = self._required(table, row, column)
        if value in USER_ROLES:
            return USER_ROLES[value]
        if _is_ext(value):
            return Role.OTHER
        if value:
            hint = _vocabulary_hint(value, USER_ROLES)
            table.issue(row.line, column, f"unknown role '{value}'{hint}")
        return None

    # -- the files ------------------------------------------------------------------------------

    def _read_orgs(self) -> None:
        if "orgs" not in self.modes:
            return
        for table, row, sid in self._records("orgs"):
            name = self._required(table, row, "name")
            org_type = self._required(table, row, "type")
            ext_ok = self.version == V12 and _is_ext(org_type)
            if org_type and org_type not in ORG_TYPES and not ext_ok:
                table.issue(
                    row.line,
                    "type",
                    f"unknown org type '{org_type}'{_vocabulary_hint(org_type, ORG_TYPES)}",
                )
            self.orgs[sid] = _Org(name, org_type)

    def _read_users(self) -> None:
        if "users" not in self.modes:
            return
        for table, row, sid in self._records("users"):
            # enabledUser=false users are imported all the same: a disabled login account does not
            # mean the person left the school, and klasbot reaches them through its own channels.
            self._bool(table, row, "enabledUser", required=True)
            given = self._required(table, row, "givenName")
            family = self._required(table, row, "familyName")
            email = self._email(table, row, "email")
            role: Role | None = None
            if self.version == V11:
                role = self._user_role(table, row, "role")
                org_ids = _split(row["orgSourcedIds"])
                if not org_ids:
                    table.issue(row.line, "orgSourcedIds", "required value is empty")
                for org_id in org_ids:
                    self._ref(table, row, "orgSourcedIds", "orgs", org_id)
            elif row["primaryOrgSourcedId"]:
                self._ref(table, row, "primaryOrgSourcedId", "orgs", row["primaryOrgSourcedId"])
            # 1.2's preferred*Name columns are not used yet: the school's legal names are what
            # staff and letters use.
            self.users[sid] = _User(
                line=row.line,
                given_name=given,
                family_name=family,
                middle_name=row["middleName"],
                email=email,
                role=role,
                agents=tuple(_split(row["agentSourcedIds"])),
            )

    def _read_roles(self) -> None:
        if "roles" not in self.modes:
            return
        for table, row, _sid in self._records("roles"):
            user_id = self._required(table, row, "userSourcedId")
            user_ok = bool(user_id) and self._ref(table, row, "userSourcedId", "users", user_id)
            role_type = self._required(table, row, "roleType")
            if role_type and role_type not in ROLE_TYPES:
                table.issue(
                    row.line,
                    "roleType",
                    f"unknown roleType '{role_type}'{_vocabulary_hint(role_type, ROLE_TYPES)}",
                )
            role = self._user_role(table, row, "role")
            org_id = self._required(table, row, "orgSourcedId")
            if org_id:
                self._ref(table, row, "orgSourcedId", "orgs", org_id)
            self._date(table, row, "beginDate")
            self._date(table, row, "endDate")
            if user_ok:
                # Registered even when the role is invalid: that row has its own issue, and a
                # second "no role" issue for the user would only repeat it.
                rows = self.user_roles[user_id]
                if role is not None:
                    rows.append(_RoleRow(row.line, role_type == "primary", role))

    def _read_classes(self) -> None:
        if "classes" not in self.modes:
            return
        for table, row, sid in self._records("classes"):
            title = self._required(table, row, "title")
            school_id = self._required(table, row, "schoolSourcedId")
            if school_id:
                self._ref(table, row, "schoolSourcedId", "orgs", school_id, deleted_ok=False)
            self.classes[sid] = SchoolClass(
                id=sid, code=row["classCode"] or title, title=title, school_id=school_id
            )

    def _read_enrollments(self) -> None:
        if "enrollments" not in self.modes:
            return
        for table, row, _sid in self._records("enrollments"):
            class_id = self._required(table, row, "classSourcedId")
            class_ok = bool(class_id) and self._ref(
                table, row, "classSourcedId", "classes", class_id
            )
            school_id = self._required(table, row, "schoolSourcedId")
            if school_id:
                self._ref(table, row, "schoolSourcedId", "orgs", school_id)
            user_id = self._required(table, row, "userSourcedId")
            user_ok = bool(user_id) and self._ref(table, row, "userSourcedId", "users", user_id)
            role = self._required(table, row, "role")
            ext_ok = self.version == V12 and _is_ext(role)
            if role and role not in ENROLLMENT_ROLES and not ext_ok:
                table.issue(
                    row.line,
                    "role",
                    f"unknown enrollment role '{role}'{_vocabulary_hint(role, ENROLLMENT_ROLES)}",
                )
            primary = self._bool(table, row, "primary")
            self._date(table, row, "beginDate")
            self._date(table, row, "endDate")
            if role not in ("student", "teacher"):
                continue  # administrator, proctor and ext: enrollments give no class membership
            if class_ok and user_ok and class_id in self.classes and user_id in self.users:
                self.enrollments.append(
                    _Enrollment(
                        line=row.line,
                        class_id=class_id,
                        user_id=user_id,
                        role=EnrollmentRole(role),
                        # `primary` applies only to teachers (the mentor); two primaries in a class
                        # (a duo mentorship) only break a "should" and are kept.
                        primary=role == "teacher" and primary is True,
                    )
                )

    def _read_demographics(self) -> None:
        for table, row, sid in self._records("demographics"):
            user_ok = self._ref(table, row, "sourcedId", "users", sid)
            birth_date = self._date(table, row, "birthDate")
            if user_ok and birth_date is not None:
                self.birth_dates[sid] = birth_date

    def _read_contacts(self) -> None:
        for table, row, sid in self._records("contacts", CONTACTS):
            user_ok = self._ref(table, row, "sourcedId", "users", sid)
            email = self._email(table, row, "email")
            parts = {column: row[column] for column in ("street", "postalCode", "city")}
            missing = [column for column, value in parts.items() if not value.strip()]
            address = None
            if not missing:
                address = Address(parts["street"], parts["postalCode"], parts["city"])
            elif len(missing) < len(parts):
                for column in missing:
                    table.issue(
                        row.line,
                        column,
                        "incomplete address: street, postalCode and city are all needed",
                    )
            fallback = row["fallback"]
            if fallback not in _FALLBACKS:
                table.issue(
                    row.line,
                    "fallback",
                    f"unknown fallback '{fallback}' (expected empty, email, post or none)",
                )
            if user_ok:
                self.contacts[sid] = _Contact(
                    email, address, _FALLBACKS.get(fallback, ContactPreference.DEFAULT)
                )

    # -- cross-file resolution ------------------------------------------------------------------

    def _resolve_roles(self) -> None:
        """1.2: choose each user's role from roles.csv (1.1 has it on users.csv already).

        A user with several roles gets the one their enrollments call for (a teacher who is also
        principal, and teaches a class, is a TEACHER: the class needs them as its staff); otherwise
        the primary role, else the first one listed."""
        if self.version != V12:
            return
        enrolled: dict[str, set[EnrollmentRole]] = defaultdict(set)
        for enrollment in self.enrollments:
            enrolled[enrollment.user_id].add(enrollment.role)
        for user_id, user in self.users.items():
            if user_id not in self.user_roles:
                if "roles" in self.complete:
                    self._issue(
                        "users.csv",
                        user.line,
                        "sourcedId",
                        "no role: roles.csv has no row for this user",
                    )
                continue
            rows = self.user_roles[user_id]
            if not rows:
                continue  # its only roles.csv rows had an invalid role (already reported)
            roles = {r.role for r in rows}
            if EnrollmentRole.TEACHER in enrolled[user_id] and Role.TEACHER in roles:
                user.role = Role.TEACHER
            elif EnrollmentRole.STUDENT in enrolled[user_id] and Role.PUPIL in roles:
                user.role = Role.PUPIL
            else:
                primary = [r for r in rows if r.primary]
                user.role = (primary or rows)[0].role

    def _check_enrollments(self) -> tuple[Enrollment, ...]:
        """Check each enrollment against its user's role and merge repeated user/class pairs."""
        result: dict[tuple[str, str], tuple[Enrollment, int]] = {}
        for e in self.enrollments:
            role = self.users[e.user_id].role
            if role is not None:
                if e.role is EnrollmentRole.STUDENT and role is not Role.PUPIL:
                    self._issue(
                        "enrollments.csv",
                        e.line,
                        "role",
                        f"user '{e.user_id}' is enrolled as student but has role {role}",
                    )
                    continue
                if e.role is EnrollmentRole.TEACHER and not role.is_staff:
                    self._issue(
                        "enrollments.csv",
                        e.line,
                        "role",
                        f"user '{e.user_id}' is enrolled as teacher but has role {role}",
                    )
                    continue
            key = (e.class_id, e.user_id)
            if key in result:
                first, line = result[key]
                if first.role is not e.role:
                    self._issue(
                        "enrollments.csv",
                        e.line,
                        "role",
                        f"user '{e.user_id}' is already enrolled in class '{e.class_id}' as "
                        f"{first.role} (line {line})",
                    )
                elif e.primary and not first.primary:
                    result[key] = (Enrollment(e.class_id, e.user_id, e.role, True), line)
                continue
            result[key] = (Enrollment(e.class_id, e.user_id, e.role, e.primary), e.line)
        return tuple(enrollment for enrollment, _line in result.values())

    def _guardian_links(self) -> dict[str, set[str]]:
        """Pupil id -> guardian ids, from `agentSourcedIds` on either side (their union).

        Other pairs (sibling to sibling, teacher to pupil) are not guardianships and are ignored."""
        links: dict[str, set[str]] = defaultdict(set)
        for user_id, user in self.users.items():
            for agent_id in user.agents:
                agent = self.users.get(agent_id)
                if agent is None:
                    unknown = (
                        agent_id not in self.known["users"]
                        and agent_id not in self.deleted["users"]
                    )
                    if unknown and "users" in self.complete:
                        self._issue(
                            "users.csv",
                            user.line,
                            "agentSourcedIds",
                            f"unknown user '{agent_id}' (not in users.csv)",
                        )
                    continue
                if user.role is Role.PUPIL and agent.role is Role.GUARDIAN:
                    links[user_id].add(agent_id)
                elif user.role is Role.GUARDIAN and agent.role is Role.PUPIL:
                    links[agent_id].add(user_id)
        return links

    # -- the snapshot ---------------------------------------------------------------------------

    def _schools(self) -> tuple[School, ...]:
        # A class may name a non-school org (a department) as its school; it then acts as one,
        # so it is included. Other non-school orgs (district, national …) stay out.
        used = {c.school_id for c in self.classes.values()}
        return tuple(
            School(id=org_id, name=org.name)
            for org_id, org in self.orgs.items()
            if org.type == "school" or org_id in used
        )

    def _persons(self, guardians: dict[str, set[str]]) -> tuple[Person, ...]:
        persons = []
        for user_id, user in self.users.items():
            if user.role is None:  # never reached: a missing role is an issue, raised before
                continue
            contact = self.contacts.get(user_id)
            email, address, preference = user.email, None, ContactPreference.DEFAULT
            if contact is not None:
                # contacts.csv is the source of contact data; an empty e-mail there keeps the one
                # from users.csv rather than erasing it.
                email = contact.email or user.email
                address, preference = contact.address, contact.preference
            persons.append(
                Person(
                    id=user_id,
                    role=user.role,
                    given_name=user.given_name,
                    family_name=user.family_name,
                    middle_name=user.middle_name,
                    birth_date=self.birth_dates.get(user_id),
                    email=email,
                    address=address,
                    preference=preference,
                    guardian_ids=tuple(sorted(guardians.get(user_id, ()))),
                )
            )
        return tuple(persons)


_NOUN = {"orgs": "org", "users": "user", "classes": "class"}


def _split(value: str) -> list[str]:
    """Items of a OneRoster list cell (`"id1,id2"`); spaces after commas are tolerated."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _is_ext(value: str) -> bool:
    return value.startswith(EXT_PREFIX) and len(value) > len(EXT_PREFIX)


def _vocabulary_hint(value: str, vocabulary: Iterable[str]) -> str:
    names = sorted(vocabulary)
    for name in names:
        if name.lower() == value.lower():
            return f" (values are case-sensitive: did you mean '{name}'?)"
    return f" (expected one of: {', '.join(names)})"


def _case_hint(file: str, present: set[str]) -> str:
    for name in present:
        if name.lower() == file.lower():
            return f" (found '{name}'; file names are case-sensitive)"
    return ""
