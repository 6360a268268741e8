"""The OneRoster CSV reader: valid 1.1 / 1.2 rosters, the demo roster and every defect it finds."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from adapters.oneroster import RosterError, RosterIssue, read_roster
from adapters.oneroster.columns import TABLES
from adapters.oneroster.csvfile import M_FIELD_COUNT
from adapters.oneroster.manifest import M_NO_MANIFEST
from adapters.oneroster.reader import read_roster_details
from adapters.oneroster.values import M_NOT_A_DATE
from bot.domain import (
    Address,
    ContactPreference,
    Enrollment,
    EnrollmentRole,
    Role,
    School,
    SchoolClass,
)

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo" / "roster"

CONTACTS_HEADER = "sourcedId,email,street,postalCode,city,fallback".split(",")

# -- building rosters -----------------------------------------------------------------------------


def header(version: str, stem: str) -> list[str]:
    if stem == "contacts":
        return list(CONTACTS_HEADER)
    if stem == "users" and version == "1.2":
        # 1.2.1's header (without 1.2.0's resourceSourcedIds).
        return [c for c in TABLES[("1.2", "users")].columns if c != "resourceSourcedIds"]
    return list(TABLES[(version, stem)].columns)


def row(columns: list[str], **values: str) -> list[str]:
    unknown = set(values) - set(columns)
    assert not unknown, unknown
    return [values.get(c, "") for c in columns]


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def manifest(version: str, files: dict[str, str]) -> list[list[str]]:
    rows = [["propertyName", "value"], ["manifest.version", "1.0"], ["oneroster.version", version]]
    rows += [[f"file.{stem}", mode] for stem, mode in files.items()]
    return rows


USERS = [
    # sourcedId, 1.1 role, givenName, familyName, middleName, email, agentSourcedIds
    ("t-1", "teacher", "Jan", "Vries", "de", "j.devries@school.example", ""),
    ("a-1", "administrator", "Anne", "Visser", "", "a.visser@school.example", ""),
    ("p-1", "student", "Zoë", "Berg", "van den", "", "g-1"),
    ("p-2", "student", "Daan", "Jong", "de", "daan@leerling.example", ""),
    ("g-1", "parent", "Marieke", "Berg", "van den", "marieke@mail.example", ""),
    ("g-2", "guardian", "Peter", "Jong", "de", "", "p-2"),
]
# 1-based physical lines of the users above in users.csv (header = line 1).
LINE = {sid: n for n, (sid, *_rest) in enumerate(USERS, start=2)}


def make_roster(tmp_path: Path, version: str = "1.1") -> Path:
    """Write a minimal, valid roster: one school, one class (t-1 mentor, p-1 and p-2 pupils)."""
    d = tmp_path / f"roster-{version}"
    d.mkdir()
    stems = ["orgs", "users", "classes", "enrollments", "demographics"]
    if version == "1.2":
        stems.append("roles")
    files = {stem: "bulk" for stem in stems} | {"courses": "absent", "results": "absent"}
    write_csv(d / "manifest.csv", manifest(version, files))

    h = header(version, "orgs")
    write_csv(
        d / "orgs.csv",
        [
            h,
            row(h, sourcedId="org-1", name="Testschool", type="school", parentSourcedId="dist-1"),
            row(h, sourcedId="dist-1", name="Stichting", type="district"),
        ],
    )
    h = header(version, "users")
    users = [h]
    for sid, role, given, family, middle, email, agents in USERS:
        values = dict(
            sourcedId=sid,
            enabledUser="true",
            username=sid,
            givenName=given,
            familyName=family,
            middleName=middle,
            email=email,
            agentSourcedIds=agents,
        )
        if version == "1.1":
            values |= dict(orgSourcedIds="org-1", role=role)
        users.append(row(h, **values))
    write_csv(d / "users.csv", users)
    if version == "1.2":
        h = header(version, "roles")
        roles = [h]
        for n, (sid, role, *_rest) in enumerate(USERS, start=1):
            role = {"administrator": "principal"}.get(role, role)
            roles.append(
                row(h, sourcedId=f"r-{n}", userSourcedId=sid, roleType="primary", role=role,
                    orgSourcedId="org-1")
            )  # fmt: skip
        write_csv(d / "roles.csv", roles)
    h = header(version, "classes")
    write_csv(
        d / "classes.csv",
        [
            h,
            row(h, sourcedId="c-1", title="Klas 1A", courseSourcedId="crs-1", classCode="1A",
                classType="homeroom", schoolSourcedId="org-1", termSourcedIds="term-1"),
        ],
    )  # fmt: skip
    h = header(version, "enrollments")
    enrollment = dict(classSourcedId="c-1", schoolSourcedId="org-1")
    write_csv(
        d / "enrollments.csv",
        [
            h,
            row(h, sourcedId="e-1", userSourcedId="t-1", role="teacher", primary="true",
                **enrollment),
            row(h, sourcedId="e-2", userSourcedId="p-1", role="student", **enrollment),
            row(h, sourcedId="e-3", userSourcedId="p-2", role="student", primary="false",
                beginDate="2026-08-17", **enrollment),
        ],
    )  # fmt: skip
    h = header(version, "demographics")
    write_csv(
        d / "demographics.csv",
        [
            h,
            row(h, sourcedId="p-1", birthDate="2012-05-01", sex="female"),
            row(h, sourcedId="p-2", birthDate="2010-02-28", sex="male"),
        ],
    )
    h = header(version, "contacts")
    write_csv(
        d / "contacts.csv",
        [
            h,
            row(h, sourcedId="g-2", street="Oudegracht 1", postalCode="3511 AA", city="Utrecht",
                fallback="post"),
        ],
    )  # fmt: skip
    return d


def set_cell(d: Path, file: str, line: int, column: str, value: str) -> None:
    rows = read_csv(d / file)
    rows[line - 1][rows[0].index(column)] = value
    write_csv(d / file, rows)


def add_row(d: Path, file: str, **values: str) -> int:
    """Append a row; returns its line number."""
    rows = read_csv(d / file)
    rows.append(row(rows[0], **values))
    write_csv(d / file, rows)
    return len(rows)


def drop_column(d: Path, file: str, column: str) -> None:
    rows = read_csv(d / file)
    i = rows[0].index(column)
    write_csv(d / file, [r[:i] + r[i + 1 :] for r in rows])


def rename_column(d: Path, file: str, old: str, new: str) -> None:
    rows = read_csv(d / file)
    rows[0][rows[0].index(old)] = new
    write_csv(d / file, rows)


def set_manifest(d: Path, prop: str, value: str) -> int:
    """Set (or add) a manifest property; returns its line."""
    rows = read_csv(d / "manifest.csv")
    for n, r in enumerate(rows, start=1):
        if r[0] == prop:
            r[1] = value
            write_csv(d / "manifest.csv", rows)
            return n
    rows.append([prop, value])
    write_csv(d / "manifest.csv", rows)
    return len(rows)


def issues_of(d: Path) -> list[RosterIssue]:
    with pytest.raises(RosterError) as info:
        read_roster(d)
    return info.value.issues


def persons(d: Path) -> dict:
    return {p.id: p for p in read_roster(d).persons}


# -- valid rosters --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_valid_roster(tmp_path: Path, version: str) -> None:
    snapshot = read_roster(make_roster(tmp_path, version))

    assert snapshot.version == version
    assert snapshot.schools == (School("org-1", "Testschool"),)  # the district org is no school
    assert snapshot.classes == (SchoolClass("c-1", "1A", "Klas 1A", "org-1"),)
    assert snapshot.enrollments == (
        Enrollment("c-1", "t-1", EnrollmentRole.TEACHER, primary=True),
        Enrollment("c-1", "p-1", EnrollmentRole.STUDENT),
        Enrollment("c-1", "p-2", EnrollmentRole.STUDENT),
    )
    by_id = {p.id: p for p in snapshot.persons}
    assert {pid: p.role for pid, p in by_id.items()} == {
        "t-1": Role.TEACHER,
        "a-1": Role.LEADERSHIP,
        "p-1": Role.PUPIL,
        "p-2": Role.PUPIL,
        "g-1": Role.GUARDIAN,
        "g-2": Role.GUARDIAN,
    }
    zoe = by_id["p-1"]
    assert (zoe.given_name, zoe.middle_name, zoe.family_name) == ("Zoë", "van den", "Berg")
    assert zoe.birth_date == date(2012, 5, 1)
    assert zoe.email is None
    assert zoe.guardian_ids == ("g-1",)  # listed by the pupil
    assert by_id["p-2"].guardian_ids == ("g-2",)  # listed by the guardian
    assert by_id["t-1"].signature_name == "J. de Vries"
    assert by_id["g-2"].address == Address("Oudegracht 1", "3511 AA", "Utrecht")
    assert by_id["g-2"].preference is ContactPreference.POST
    assert by_id["g-1"].preference is ContactPreference.DEFAULT


def test_demo_roster_imports() -> None:
    snapshot = read_roster(DEMO)
    by_id = {p.id: p for p in snapshot.persons}

    assert snapshot.schools == (School("org-passie-utrecht", "De Passie Utrecht", "99ZZ"),)
    assert [(c.id, c.code) for c in snapshot.classes] == [("cls-2b", "2B"), ("cls-4c", "4C")]
    mentors = {(e.class_id, e.person_id) for e in snapshot.enrollments if e.primary}
    assert mentors == {("cls-2b", "t-devries"), ("cls-4c", "t-jansen")}
    bakker = {e.class_id for e in snapshot.enrollments if e.person_id == "t-bakker"}
    assert bakker == {"cls-2b", "cls-4c"}
    assert by_id["l-visser"].role is Role.LEADERSHIP
    assert by_id["t-devries"].email == "j.devries@passie-utrecht.example"
    assert by_id["t-devries"].signature_name == "J. de Vries"
    pupils = [p for p in snapshot.persons if p.role is Role.PUPIL]
    assert all(p.birth_date is not None and p.guardian_ids for p in pupils)
    assert by_id["p-2b-05"].birth_date == date(2014, 1, 15)  # turns 13 on 2027-01-15
    assert by_id["p-2b-01"].guardian_ids == by_id["p-4c-01"].guardian_ids == ("g-01",)
    assert by_id["g-01"].email == "marieke@vandenberg.example"  # contacts.csv wins
    unreachable = by_id["g-07"]
    assert unreachable.email is None
    assert unreachable.address is None
    assert by_id["g-05"].preference is ContactPreference.POST
    assert by_id["g-12"].preference is ContactPreference.NONE
    assert all(p.email is None or p.email.endswith(".example") for p in snapshot.persons), (
        "demo e-mail addresses must use the .example TLD"
    )


def test_bom_is_tolerated(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    for name in ("manifest.csv", "users.csv", "contacts.csv"):
        (d / name).write_bytes(b"\xef\xbb\xbf" + (d / name).read_bytes())
    assert len(read_roster(d).persons) == len(USERS)


def test_users_12_0_header_with_resource_sourced_ids(tmp_path: Path) -> None:
    d = make_roster(tmp_path, "1.2")
    rows = read_csv(d / "users.csv")
    i = rows[0].index("preferredGivenName")
    rows = [
        r[:i] + (["resourceSourcedIds"] if n == 0 else [""]) + r[i:] for n, r in enumerate(rows)
    ]
    write_csv(d / "users.csv", rows)
    set_manifest(d, "oneroster.version", "1.2.1")
    assert read_roster(d).version == "1.2"


def test_metadata_columns_and_enabled_false_are_accepted(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    rows = read_csv(d / "users.csv")
    rows = [r + (["metadata.klas"] if n == 0 else ["x"]) for n, r in enumerate(rows)]
    write_csv(d / "users.csv", rows)
    set_cell(d, "users.csv", LINE["p-2"], "enabledUser", "false")
    assert persons(d)["p-2"].role is Role.PUPIL


def test_formula_like_values_are_kept_as_plain_text(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    values = {
        "t-1": '=HYPERLINK("http://x")',
        "p-1": "+31 6 12345678",
        "p-2": "-2+3",
        "g-1": "@SUM(A1)",
    }
    for sid, value in values.items():
        set_cell(d, "users.csv", LINE[sid], "givenName", value)
    by_id = persons(d)
    assert {sid: by_id[sid].given_name for sid in values} == values


def test_guardian_links_union_of_both_sides_only_pupil_guardian_pairs(tmp_path: Path) -> None:
    # 1.2: roles.csv says who is a guardian. (In 1.1 a linked teacher is one: test_roles.py.)
    d = make_roster(tmp_path, "1.2")
    set_cell(d, "users.csv", LINE["g-1"], "agentSourcedIds", "p-1, p-2")  # p-1 also lists g-1
    set_cell(d, "users.csv", LINE["p-2"], "agentSourcedIds", "g-2,p-1,t-1")  # sibling, teacher
    set_cell(d, "users.csv", LINE["t-1"], "agentSourcedIds", "p-1")
    by_id = persons(d)
    assert by_id["p-1"].guardian_ids == ("g-1",)
    assert by_id["p-2"].guardian_ids == ("g-1", "g-2")
    assert by_id["t-1"].guardian_ids == ()
    assert by_id["g-1"].guardian_ids == ()


def test_contacts_override_users_email(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    add_row(d, "contacts.csv", sourcedId="g-1", email="nieuw@mail.example")
    add_row(d, "contacts.csv", sourcedId="t-1", fallback="email")  # empty e-mail keeps users.csv's
    add_row(d, "contacts.csv", sourcedId="p-1", email="zoe@mail.example", fallback="none")
    by_id = persons(d)
    assert by_id["g-1"].email == "nieuw@mail.example"
    assert by_id["g-1"].address is None
    assert by_id["t-1"].email == "j.devries@school.example"
    assert by_id["p-1"].email == "zoe@mail.example"
    assert by_id["p-1"].preference is ContactPreference.NONE
    assert by_id["g-2"].email is None


def test_delta_tobedeleted_rows_are_dropped(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    set_manifest(d, "file.users", "delta")
    rows = read_csv(d / "users.csv")
    for r in rows[1:]:
        r[1:3] = ["active", "2026-11-20T08:00:00.000Z"]
    rows[LINE["p-2"] - 1][1] = "tobedeleted"
    write_csv(d / "users.csv", rows)

    result = read_roster_details(d)
    ids = {p.id for p in result.snapshot.persons}
    assert "p-2" not in ids
    assert "g-2" in ids
    # p-2's enrollment and g-2's link to p-2 go with p-2, without an issue.
    assert all(e.person_id != "p-2" for e in result.snapshot.enrollments)
    assert result.file_modes["users"] == "delta"
    assert result.file_modes["orgs"] == "bulk"
    assert result.deleted == {"users": frozenset({"p-2"})}


def test_12_role_prefers_teacher_when_enrolled_as_teacher(tmp_path: Path) -> None:
    d = make_roster(tmp_path, "1.2")
    set_cell(d, "roles.csv", 2, "roleType", "secondary")  # t-1: teacher (secondary) ...
    add_row(d, "roles.csv", sourcedId="r-x", userSourcedId="t-1", roleType="primary",
            role="principal", orgSourcedId="org-1")  # fmt: skip
    add_row(d, "roles.csv", sourcedId="r-y", userSourcedId="a-1", roleType="secondary",
            role="teacher", orgSourcedId="org-1")  # fmt: skip
    by_id = persons(d)
    assert by_id["t-1"].role is Role.TEACHER  # ... and principal, but teaches c-1
    assert by_id["a-1"].role is Role.LEADERSHIP  # primary principal, teaches nothing


def test_ext_role_is_other_and_admin_enrollments_are_skipped(tmp_path: Path) -> None:
    d = make_roster(tmp_path, "1.2")
    set_cell(d, "roles.csv", LINE["g-1"], "role", "ext:grootouder")
    add_row(d, "enrollments.csv", sourcedId="e-9", classSourcedId="c-1", schoolSourcedId="org-1",
            userSourcedId="a-1", role="administrator")  # fmt: skip
    snapshot = read_roster(d)
    assert {p.id: p.role for p in snapshot.persons}["g-1"] is Role.OTHER
    assert {e.person_id for e in snapshot.enrollments} == {"t-1", "p-1", "p-2"}
    assert {p.id: p for p in snapshot.persons}["p-1"].guardian_ids == ()  # g-1 is no guardian now


def test_two_primary_teachers_and_class_code_fallback(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    add_row(d, "enrollments.csv", sourcedId="e-9", classSourcedId="c-1", schoolSourcedId="org-1",
            userSourcedId="a-1", role="teacher", primary="true")  # fmt: skip
    set_cell(d, "classes.csv", 2, "classCode", "")
    snapshot = read_roster(d)
    assert {e.person_id for e in snapshot.enrollments if e.primary} == {"t-1", "a-1"}
    assert snapshot.classes[0].code == "Klas 1A"


def test_class_in_non_school_org_makes_that_org_a_school(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    set_cell(d, "orgs.csv", 3, "type", "department")
    set_cell(d, "classes.csv", 2, "schoolSourcedId", "dist-1")
    schools = read_roster(d).schools
    assert [s.id for s in schools] == ["org-1", "dist-1"]


def test_progress_is_reported_per_file(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    read_roster(make_roster(tmp_path), progress=lambda *a: calls.append(a))
    assert ("users.csv", len(USERS), len(USERS)) in calls
    assert ("enrollments.csv", 3, 3) in calls


# -- defects --------------------------------------------------------------------------------------

Mutation = Callable[[Path], None]


def _bad_encoding(d: Path) -> None:
    data = (d / "users.csv").read_bytes().replace("Zoë".encode(), "Zoë".encode("latin-1"))
    (d / "users.csv").write_bytes(data)


def _empty_enrollments(d: Path) -> None:
    write_csv(d / "enrollments.csv", [header("1.1", "enrollments")])


def _wrong_field_count(d: Path) -> None:
    text = (d / "classes.csv").read_text(encoding="utf-8")
    (d / "classes.csv").write_text(text.replace("Klas 1A", "Klas 1A, Utrecht"), encoding="utf-8")


def _broken_quotes(d: Path) -> None:
    text = (d / "users.csv").read_text(encoding="utf-8")
    (d / "users.csv").write_text(text.replace(",Daan,", ',"Daan"x,'), encoding="utf-8")


def _cell(file: str, line: int, column: str, value: str) -> Mutation:
    return lambda d: set_cell(d, file, line, column, value)


DEFECTS: list[tuple[str, Mutation, tuple[str, int | None, str | None], str]] = [
    ("missing column", lambda d: drop_column(d, "users.csv", "familyName"),
     ("users.csv", 1, "familyName"), "missing required column"),
    ("mis-cased column", lambda d: rename_column(d, "demographics.csv", "birthDate", "birthdate"),
     ("demographics.csv", 1, "birthdate"), "case-sensitive"),
    ("unknown column", lambda d: rename_column(d, "users.csv", "sms", "mobiel"),
     ("users.csv", 1, "mobiel"), "metadata."),
    ("enrollment of unknown user", _cell("enrollments.csv", 3, "userSourcedId", "nobody"),
     ("enrollments.csv", 3, "userSourcedId"), "unknown user 'nobody'"),
    ("enrollment in unknown class", _cell("enrollments.csv", 4, "classSourcedId", "c-9"),
     ("enrollments.csv", 4, "classSourcedId"), "unknown class 'c-9'"),
    ("bad date", _cell("demographics.csv", 2, "birthDate", "12/05/2011"),
     ("demographics.csv", 2, "birthDate"), "not a date (YYYY-MM-DD): '12/05/2011'"),
    ("impossible date", _cell("demographics.csv", 3, "birthDate", "2011-02-29"),
     ("demographics.csv", 3, "birthDate"), "no such date"),
    ("bad enrollment date", _cell("enrollments.csv", 4, "beginDate", "2026-8-17"),
     ("enrollments.csv", 4, "beginDate"), "not a date"),
    ("duplicate id", _cell("users.csv", LINE["g-2"], "sourcedId", "p-1"),
     ("users.csv", LINE["g-2"], "sourcedId"),
     f"duplicate sourcedId 'p-1' (first on line {LINE['p-1']})"),
    ("bad encoding", _bad_encoding,
     ("users.csv", LINE["p-1"], None), "bad encoding: not UTF-8"),
    ("unknown role", _cell("users.csv", LINE["p-2"], "role", "pupil"),
     ("users.csv", LINE["p-2"], "role"), "unknown role 'pupil'"),
    ("mis-cased role", _cell("users.csv", LINE["p-2"], "role", "Student"),
     ("users.csv", LINE["p-2"], "role"), "did you mean 'student'"),
    ("unknown enrollment role", _cell("enrollments.csv", 3, "role", "mentor"),
     ("enrollments.csv", 3, "role"), "unknown enrollment role 'mentor'"),
    ("bad primary", _cell("enrollments.csv", 2, "primary", "yes"),
     ("enrollments.csv", 2, "primary"), "not a boolean (true or false): 'yes'"),
    ("bad enabledUser", _cell("users.csv", LINE["t-1"], "enabledUser", "TRUE"),
     ("users.csv", LINE["t-1"], "enabledUser"), "not a boolean"),
    ("unknown org of user", _cell("users.csv", LINE["g-1"], "orgSourcedIds", "org-1,org-9"),
     ("users.csv", LINE["g-1"], "orgSourcedIds"), "unknown org 'org-9'"),
    ("unknown agent", _cell("users.csv", LINE["p-2"], "agentSourcedIds", "g-9"),
     ("users.csv", LINE["p-2"], "agentSourcedIds"), "unknown user 'g-9'"),
    ("class in unknown school", _cell("classes.csv", 2, "schoolSourcedId", "org-9"),
     ("classes.csv", 2, "schoolSourcedId"), "unknown org 'org-9'"),
    ("empty family name", _cell("users.csv", LINE["g-1"], "familyName", ""),
     ("users.csv", LINE["g-1"], "familyName"), "required value is empty"),
    ("bad e-mail", _cell("users.csv", LINE["t-1"], "email", "Jan de Vries"),
     ("users.csv", LINE["t-1"], "email"), "not an e-mail address"),
    ("contacts for unknown user", _cell("contacts.csv", 2, "sourcedId", "g-9"),
     ("contacts.csv", 2, "sourcedId"), "unknown user 'g-9'"),
    ("bad fallback", _cell("contacts.csv", 2, "fallback", "letter"),
     ("contacts.csv", 2, "fallback"), "unknown fallback 'letter'"),
    ("incomplete address", _cell("contacts.csv", 2, "city", ""),
     ("contacts.csv", 2, "city"), "incomplete address"),
    ("demographics of unknown user", _cell("demographics.csv", 2, "sourcedId", "p-9"),
     ("demographics.csv", 2, "sourcedId"), "unknown user 'p-9'"),
    ("guardian enrolled as student", _cell("enrollments.csv", 3, "userSourcedId", "g-1"),
     ("enrollments.csv", 3, "role"), "enrolled as student but has role guardian"),
    ("pupil enrolled as teacher", _cell("enrollments.csv", 2, "userSourcedId", "p-2"),
     ("enrollments.csv", 2, "role"), "enrolled as teacher but has role pupil"),
    ("unknown org type", _cell("orgs.csv", 2, "type", "School"),
     ("orgs.csv", 2, "type"), "unknown org type 'School'"),
    ("tobedeleted in a bulk file", _cell("users.csv", LINE["g-1"], "status", "tobedeleted"),
     ("users.csv", LINE["g-1"], "status"), "not allowed in a bulk file"),
    ("wrong field count", _wrong_field_count,
     ("classes.csv", 2, None), "row has 15 fields but the header has 14"),
    ("broken quoting", _broken_quotes,
     ("users.csv", LINE["p-2"], None), "not valid CSV"),
    ("empty mandatory file", _empty_enrollments,
     ("enrollments.csv", None, None), "no data rows"),
    ("empty file", lambda d: (d / "orgs.csv").write_bytes(b""),
     ("orgs.csv", None, None), "empty file: no header row"),
    ("missing manifest", lambda d: (d / "manifest.csv").unlink(),
     ("manifest.csv", None, None), "missing"),
    ("unsupported version", lambda d: set_manifest(d, "oneroster.version", "1.0"),
     ("manifest.csv", 3, "value"), "unsupported oneroster.version '1.0'"),
    ("file listed bulk but missing", lambda d: (d / "demographics.csv").unlink(),
     ("manifest.csv", 8, "value"), "demographics.csv is declared bulk but does not exist"),
    ("file listed absent but present", lambda d: set_manifest(d, "file.demographics", "absent"),
     ("manifest.csv", 8, "value"), "demographics.csv is declared absent but exists"),
    ("bad file mode", lambda d: set_manifest(d, "file.demographics", "full"),
     ("manifest.csv", 8, "value"), "must be absent, bulk or delta"),
    ("needed file absent", lambda d: (set_manifest(d, "file.enrollments", "absent"),
                                      (d / "enrollments.csv").unlink()),
     ("manifest.csv", 7, "value"), "klasbot needs enrollments.csv"),
    ("file not in manifest", lambda d: write_csv(d / "courses.csv", [["sourcedId"], ["x"]]),
     ("manifest.csv", 9, "value"), "courses.csv is declared absent but exists"),
    ("unlisted file", lambda d: write_csv(d / "lineItems.csv", [["sourcedId"], ["x"]]),
     ("lineItems.csv", None, None), "not listed in manifest.csv"),
]  # fmt: skip


def test_manifest_line_numbers_used_in_defect_table(tmp_path: Path) -> None:
    """Guards the hard-coded manifest lines in DEFECTS against changes to make_roster."""
    rows = read_csv(make_roster(tmp_path) / "manifest.csv")
    assert rows[2] == ["oneroster.version", "1.1"]
    assert rows[6][0] == "file.enrollments"
    assert rows[7][0] == "file.demographics"
    assert rows[8][0] == "file.courses"


DEFECTS_12: list[tuple[str, Mutation, tuple[str, int | None, str | None], str]] = [
    ("user without role", _cell("roles.csv", LINE["g-2"], "userSourcedId", "g-1"),
     ("users.csv", LINE["g-2"], "sourcedId"), "no role"),
    ("role of unknown user", _cell("roles.csv", 2, "userSourcedId", "t-9"),
     ("roles.csv", 2, "userSourcedId"), "unknown user 't-9'"),
    ("unknown roleType", _cell("roles.csv", 2, "roleType", "main"),
     ("roles.csv", 2, "roleType"), "unknown roleType 'main'"),
    ("unknown role", _cell("roles.csv", 3, "role", "director"),
     ("roles.csv", 3, "role"), "unknown role 'director'"),
    ("role in unknown org", _cell("roles.csv", 3, "orgSourcedId", "org-9"),
     ("roles.csv", 3, "orgSourcedId"), "unknown org 'org-9'"),
    ("1.1 column in 1.2 users", lambda d: rename_column(d, "users.csv", "grades", "role"),
     ("users.csv", 1, "role"), "a OneRoster 1.1 column"),
    ("roles.csv missing", lambda d: (d / "roles.csv").unlink(),
     ("manifest.csv", 9, "value"), "roles.csv is declared bulk but does not exist"),
    ("roles.csv absent", lambda d: (set_manifest(d, "file.roles", "absent"),
                                    (d / "roles.csv").unlink()),
     ("manifest.csv", 9, "value"), "klasbot needs roles.csv"),
]  # fmt: skip


# Defects that legitimately cause a second issue; every other defect must cause exactly one
# (no cascades of follow-up "unknown id" issues).
SECOND_ISSUE = {
    "duplicate id": "contacts.csv names g-2, which fell out as the duplicate",
    "mis-cased column": "birthDate is then missing",
    "role of unknown user": "t-1 then has no role",
}


@pytest.mark.parametrize(
    ("version", "name", "mutate", "where", "message"),
    [pytest.param("1.1", name, m, w, msg, id=f"1.1-{name}") for name, m, w, msg in DEFECTS]
    + [pytest.param("1.2", name, m, w, msg, id=f"1.2-{name}") for name, m, w, msg in DEFECTS_12],
)
def test_defect_is_reported_with_file_line_and_column(
    tmp_path: Path,
    version: str,
    name: str,
    mutate: Mutation,
    where: tuple[str, int | None, str | None],
    message: str,
) -> None:
    d = make_roster(tmp_path, version)
    mutate(d)
    issues = issues_of(d)
    located = [i for i in issues if (i.file, i.line, i.column) == where]
    assert located, f"no issue at {where}; got: {[str(i) for i in issues]}"
    assert any(message in i.message for i in located), [str(i) for i in located]
    assert len(issues) == (2 if name in SECOND_ISSUE else 1), [str(i) for i in issues]
    # The same issue in Dutch: the location in Dutch words, the message from the catalogue.
    file, line, column = where
    prefix = file + (f", regel {line}" if line else "") + (f", kolom {column}" if column else "")
    for issue in located:
        assert issue.render("nl") == f"{prefix}: {issue.text('nl')}"
        assert issue.text("nl") != issue.message, issue.message


def test_delta_status_must_be_active_or_tobedeleted(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    set_manifest(d, "file.classes", "delta")
    set_cell(d, "classes.csv", 2, "status", "deleted")
    set_cell(d, "classes.csv", 2, "dateLastModified", "gisteren")
    located = {(i.file, i.line, i.column) for i in issues_of(d)}
    assert ("classes.csv", 2, "status") in located
    assert ("classes.csv", 2, "dateLastModified") in located


def test_all_defects_are_reported_at_once_in_file_order(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    set_cell(d, "enrollments.csv", 3, "userSourcedId", "nobody")
    set_cell(d, "demographics.csv", 2, "birthDate", "01-05-2012")
    set_cell(d, "users.csv", LINE["g-2"], "sourcedId", "p-1")
    set_cell(d, "contacts.csv", 2, "fallback", "brief")

    with pytest.raises(RosterError) as info:
        read_roster(d)
    where = [(i.file, i.line, i.column) for i in info.value.issues]
    assert where == [
        ("users.csv", LINE["g-2"], "sourcedId"),
        ("enrollments.csv", 3, "userSourcedId"),
        ("demographics.csv", 2, "birthDate"),
        ("contacts.csv", 2, "sourcedId"),  # g-2 fell out of users.csv as a duplicate
        ("contacts.csv", 2, "fallback"),
    ]
    assert str(info.value).splitlines() == [str(i) for i in info.value.issues]


def test_missing_file_does_not_cascade_into_unknown_id_issues(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    (d / "classes.csv").unlink()
    issues = issues_of(d)
    assert [(i.file, i.column) for i in issues] == [("manifest.csv", "value")]


def test_issue_text_in_english_and_dutch() -> None:
    issue = RosterIssue("users.csv", 7, "birthDate", M_NOT_A_DATE, {"value": "12/05/2011"})
    english = "users.csv, line 7, column birthDate: not a date (YYYY-MM-DD): '12/05/2011'"
    assert str(issue) == issue.render("en") == english  # str() is English, like the logs
    assert issue.message == "not a date (YYYY-MM-DD): '12/05/2011'"
    assert issue.render("nl") == (
        "users.csv, regel 7, kolom birthDate: geen datum (JJJJ-MM-DD): '12/05/2011'"
    )
    whole_file = RosterIssue("manifest.csv", None, None, M_NO_MANIFEST)
    assert str(whole_file) == (
        "manifest.csv: missing: a OneRoster directory must contain manifest.csv"
    )
    assert whole_file.render("nl") == (
        "manifest.csv: ontbreekt: een OneRoster-map moet manifest.csv bevatten"
    )
    row = RosterIssue("classes.csv", 2, None, M_FIELD_COUNT, {"fields": 15, "columns": 14})
    assert row.render("nl") == (
        "classes.csv, regel 2: rij heeft 15 velden maar de kopregel heeft er 14 (een komma in een "
        "waarde zonder aanhalingstekens?)"
    )
    error = RosterError([issue, whole_file])
    assert str(error) == error.render("en") == f"{english}\n{whole_file}"
    assert error.render("nl").splitlines() == [issue.render("nl"), whole_file.render("nl")]


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(RosterError) as info:
        read_roster(tmp_path / "nope")
    assert str(info.value) == f"{tmp_path / 'nope'}: not a directory"
    assert info.value.render("nl") == f"{tmp_path / 'nope'}: geen map"


def test_20000_users_are_read_with_progress(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    h = header("1.1", "users")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(read_csv(d / "users.csv"))
    for n in range(20_000):
        writer.writerow(row(h, sourcedId=f"x-{n}", enabledUser="true", orgSourcedIds="org-1",
                            role="student", username=f"x{n}", givenName="Lena",
                            familyName=f"Jansen{n}", email=f"x{n}@school.example",
                            agentSourcedIds="g-1"))  # fmt: skip
    (d / "users.csv").write_text(buffer.getvalue(), encoding="utf-8")
    calls: list[tuple[str, int, int]] = []

    # (How fast: bench/roster_import.py.)
    snapshot = read_roster(d, progress=lambda *a: calls.append(a))

    assert len(snapshot.persons) == len(USERS) + 20_000
    users_calls = [c for c in calls if c[0] == "users.csv"]
    assert len(users_calls) >= 40
    assert users_calls[-1] == ("users.csv", 20_006, 20_006)


def test_column_order_is_free_and_blank_lines_keep_physical_line_numbers(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    rows = read_csv(d / "users.csv")
    write_csv(d / "users.csv", [list(reversed(r)) for r in rows])
    assert len(read_roster(d).persons) == len(USERS)

    set_cell(d, "enrollments.csv", 4, "primary", "ja")
    data = (d / "enrollments.csv").read_bytes().replace(b"\r\ne-3,", b"\r\n\r\ne-3,")
    (d / "enrollments.csv").write_bytes(data)  # the bad row moves down to line 5
    [issue] = issues_of(d)
    assert (issue.file, issue.line, issue.column) == ("enrollments.csv", 5, "primary")


def test_a_file_in_windows_1252_is_summarised_after_ten_lines(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    for n in range(15):
        add_row(d, "contacts.csv", sourcedId="g-1", street=f"Coöperatiestraat {n}")
    data = (d / "contacts.csv").read_text(encoding="utf-8").encode("cp1252")
    (d / "contacts.csv").write_bytes(data)
    summary, *located = issues_of(d)
    assert summary.line is None  # whole-file issues come first
    assert "15 lines are not UTF-8" in summary.message
    assert [i.line for i in located] == list(range(3, 13))
    assert all(i.message.startswith("bad encoding: not UTF-8") for i in located)


def test_repeated_enrollments_are_merged_and_conflicts_reported(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    common = dict(classSourcedId="c-1", schoolSourcedId="org-1")
    add_row(d, "enrollments.csv", sourcedId="e-8", userSourcedId="p-1", role="student", **common)
    snapshot = read_roster(d)
    assert [e.person_id for e in snapshot.enrollments] == ["t-1", "p-1", "p-2"]

    line = add_row(d, "enrollments.csv", sourcedId="e-9", userSourcedId="a-1", role="teacher",
                   **common)  # fmt: skip
    add_row(d, "enrollments.csv", sourcedId="e-10", userSourcedId="a-1", role="student", **common)
    [issue] = issues_of(d)
    assert (issue.file, issue.line, issue.column) == ("enrollments.csv", line + 1, "role")


# -- share_with_guardians (rule 6: an adult pupil's consent) ------------------------------------


def with_consent_column(d: Path) -> None:
    rows = read_csv(d / "contacts.csv")
    write_csv(
        d / "contacts.csv",
        [[*rows[0], "share_with_guardians"], *([*r, ""] for r in rows[1:])],
    )


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@pytest.mark.parametrize(
    ("value", "consent"),
    [
        ("yes", True),
        ("Ja", True),
        ("TRUE", True),
        ("1", True),
        (" yes ", True),
        ("no", False),
        ("NEE", False),
        ("false", False),
        ("0", False),
        ("", False),
    ],
)
def test_the_consent_column_is_read(
    tmp_path: Path, version: str, value: str, consent: bool
) -> None:
    d = make_roster(tmp_path, version)
    with_consent_column(d)
    add_row(d, "contacts.csv", sourcedId="p-2", share_with_guardians=value)
    by_id = persons(d)
    assert by_id["p-2"].share_with_guardians is consent
    assert by_id["p-1"].share_with_guardians is False  # not in contacts.csv
    assert by_id["g-2"].share_with_guardians is False  # in it, the column empty


def test_a_roster_without_the_consent_column_shares_nothing(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    add_row(d, "contacts.csv", sourcedId="p-2", email="p2@mail.example")
    assert not any(p.share_with_guardians for p in read_roster(d).persons)


@pytest.mark.parametrize("value", ["y", "maybe", "ja graag", "2", "oui"])
def test_a_consent_that_is_neither_yes_nor_no_is_an_issue(tmp_path: Path, value: str) -> None:
    d = make_roster(tmp_path)
    with_consent_column(d)
    line = add_row(d, "contacts.csv", sourcedId="p-2", share_with_guardians=value)
    with pytest.raises(RosterError) as caught:
        read_roster(d)
    [issue] = caught.value.issues
    assert (issue.file, issue.line, issue.column) == ("contacts.csv", line, "share_with_guardians")
    rendered = issue.render("en")
    assert rendered.startswith(f"contacts.csv, line {line}, column share_with_guardians: ")
    assert f"'{value}' is neither yes nor no" in rendered
    assert "\n" not in rendered
    assert "ja of nee" in issue.render("nl")
