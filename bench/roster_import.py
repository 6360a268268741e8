"""`klasbot roster import` of a school board's roster against the bare `csv` + `executemany`.

Run: `.venv/bin/python bench/roster_import.py [--pupils N] [--quick]`. A school board of N pupils
(default 100,000), 1.5 guardians per pupil and one member of staff per 20 pupils (255,000 persons
for 100,000 pupils) is written as a OneRoster 1.2 CSV export. Both sides run as subprocesses on a
fresh SQLite database of klasbot's own schema (`klasbot db upgrade`), so their peak memory (the
child's max RSS from `os.wait4`) compares like with like. klasbot reads part of a big export in a
process of its own (`adapters/oneroster/side.py`): one more, untimed run samples the memory of both
processes together (their proportional set sizes, every 10 ms), and the memory goal is taken on
the larger of the two figures. The two sides:

- the bare side reads the same files with `csv`, joins users, roles, demographics and contacts by
  sourcedId in plain dicts and writes the same rows (schools, persons, guardianships, classes,
  enrollments) with `sqlite3.executemany` in one transaction;
- klasbot runs `klasbot roster import DIR`, then the same command again on the unchanged export
  (a re-import that changes nothing: klasbot recognises the export it imported last), then again
  after one pupil's given name changed in users.csv (the export is read and compared in full);
  both re-imports' times are compared with the bare import's.

The two sides take turns `REPEAT` times (once with `--quick`) on fresh databases; each figure is
its side's best run.

"doubled" is how klasbot's time grows from half the pupils to all of them.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.suite import Row  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GIVEN = (
    "Daan Zoë Sem Bas Lucas Sanne Fleur Julia Storm Yusuf Ayşe Thijs Noor Milan Noah Mila Emma "
    "Liam Tess Finn Sara Jesse Lotte Ruben Evi Levi Anna Luuk Lieke Mohammed Fatima Ilse Bram"
).split()
FAMILY = (
    "de Jong|Bakker|Hart|van den Berg|Bos|van der Meer|de Wit|Yılmaz|Demir|van Dijk|Smit|Visser|"
    "Janssen|de Vries|van Leeuwen|Mulder|Peters|Hendriks|Dekker|Brouwer|de Graaf|Kok|Jacobs"
).split("|")
CITIES = ("Utrecht", "Zeist", "Houten", "Nieuwegein", "IJsselstein", "Maarssen")

USERS = (
    "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,"
    "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,"
    "resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,"
    "primaryOrgSourcedId,pronouns"
).split(",")
ROLES = (
    "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
    "orgSourcedId,userProfileSourcedId"
).split(",")
CLASSES = (
    "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
    "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods"
).split(",")
ENROLLMENTS = (
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,"
    "beginDate,endDate"
).split(",")
DEMOGRAPHICS = "sourcedId,birthDate".split(",")
CONTACTS = "sourcedId,email,street,postalCode,city,fallback,language,share_with_guardians".split(
    ","
)
ORGS = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId".split(",")


def persons_of(pupils: int) -> int:
    """The persons of a board of `pupils` pupils: 1.5 guardians per pupil, 1 staff per 20."""
    return pupils + pupils * 3 // 2 + pupils // 20


def write_board(directory: Path, pupils: int) -> Path:
    """A OneRoster 1.2 export of a school board with `pupils` pupils (see the module text)."""
    directory.mkdir(parents=True, exist_ok=True)
    schools = max(1, pupils // 5000)
    classes = max(1, pupils // 25)
    staff = max(2, pupils // 20)

    def writer(name: str, header: list[str]) -> tuple[TextIO, Any]:
        fh = (directory / name).open("w", newline="", encoding="utf-8")
        w = csv.writer(fh)
        w.writerow(header)
        return fh, w

    def row(header: list[str], **values: str) -> list[str]:
        return [values.get(column, "") for column in header]

    with (directory / "manifest.csv").open("w", newline="", encoding="utf-8") as manifest:
        w = csv.writer(manifest)
        w.writerow(["propertyName", "value"])
        w.writerow(["manifest.version", "1.0"])
        w.writerow(["oneroster.version", "1.2"])
        for stem in ("orgs", "users", "roles", "classes", "enrollments", "demographics"):
            w.writerow([f"file.{stem}", "bulk"])
    org = [f"org-{k:03d}" for k in range(schools)]
    fh, w = writer("orgs.csv", ORGS)
    for k, org_id in enumerate(org):
        w.writerow(
            row(ORGS, sourcedId=org_id, name=f"School {k}", type="school", identifier=f"{k:02d}XX")
        )
    fh.close()
    fh, w = writer("classes.csv", CLASSES)
    for c in range(classes):
        w.writerow(
            row(
                CLASSES,
                sourcedId=f"cls-{c:05d}",
                title=f"Klas {c}",
                courseSourcedId="crs-1",
                classCode=f"{c % 6 + 1}{chr(65 + c % 26)}{c}",
                classType="homeroom",
                schoolSourcedId=org[c % schools],
                termSourcedIds="term-1",
            )
        )
    fh.close()
    users, w_users = writer("users.csv", USERS)
    roles, w_roles = writer("roles.csv", ROLES)
    enrollments, w_enr = writer("enrollments.csv", ENROLLMENTS)
    demographics, w_dem = writer("demographics.csv", DEMOGRAPHICS)
    contacts, w_con = writer("contacts.csv", CONTACTS)
    enrollment = 0

    def user(uid: str, role: str, school: str, given: str, family: str, **extra: str) -> None:
        w_users.writerow(
            row(
                USERS,
                sourcedId=uid,
                enabledUser="true",
                username=uid,
                givenName=given,
                familyName=family,
                primaryOrgSourcedId=school,
                **extra,
            )
        )
        w_roles.writerow(
            row(
                ROLES,
                sourcedId=f"r-{uid}",
                userSourcedId=uid,
                roleType="primary",
                role=role,
                orgSourcedId=school,
            )
        )

    def enroll(class_id: str, school: str, uid: str, role: str, primary: bool) -> None:
        nonlocal enrollment
        enrollment += 1
        w_enr.writerow(
            row(
                ENROLLMENTS,
                sourcedId=f"e-{enrollment}",
                classSourcedId=class_id,
                schoolSourcedId=school,
                userSourcedId=uid,
                role=role,
                primary="true" if primary else "false",
            )
        )

    for n in range(staff):
        c = n % classes
        school = org[c % schools]
        user(
            f"t-{n:05d}",
            "teacher",
            school,
            GIVEN[n % len(GIVEN)],
            f"{FAMILY[n % len(FAMILY)]}{n % 53}",
            email=f"t{n}@bestuur.example",
        )
        enroll(f"cls-{c:05d}", school, f"t-{n:05d}", "teacher", n < classes)
    for n in range(pupils):
        c = n % classes
        school = org[c % schools]
        pid = f"s-{n:06d}"
        guardians = [f"g-{n:06d}a"] + ([f"g-{n:06d}b"] if n % 2 == 0 else [])
        family = f"{FAMILY[n % len(FAMILY)]}{n % 97}"
        user(
            pid,
            "student",
            school,
            f"{GIVEN[n % len(GIVEN)]}{n % 89}",
            family,
            email=f"s{n}@leerling.example" if n % 3 == 0 else "",
            agentSourcedIds=",".join(guardians),
        )
        w_dem.writerow([pid, f"{2008 + n % 10}-{n % 12 + 1:02d}-{n % 28 + 1:02d}"])
        enroll(f"cls-{c:05d}", school, pid, "student", False)
        street = f"Dorpsstraat {n % 400 + 1}"
        postal = f"{3500 + n % 400} {chr(65 + n % 26)}{chr(65 + n // 26 % 26)}"
        for k, gid in enumerate(guardians):
            user(
                gid,
                "parent",
                school,
                f"{GIVEN[(n + 7 * k) % len(GIVEN)]}{n % 71}",
                family,
                email=f"{gid}@ouder.example" if n % 5 else "",
            )
            w_con.writerow(
                [
                    gid,
                    "",
                    street,
                    postal,
                    CITIES[n % len(CITIES)],
                    "post" if n % 5 == 0 else "",
                    "en" if n % 11 == 0 else "",
                    "",
                ]
            )
    for done in (users, roles, enrollments, demographics, contacts):
        done.close()
    return directory


def raw_import(directory: Path, database: Path) -> None:
    """The bare counterpart: the same rows, read with `csv` and written with `executemany`."""

    def rows(name: str) -> tuple[dict[str, int], Iterator[list[str]]]:
        reader = csv.reader((directory / name).open(newline="", encoding="utf-8"))
        return {c: i for i, c in enumerate(next(reader))}, reader

    h, r = rows("orgs.csv")
    schools = [(x[h["sourcedId"]], x[h["name"]], x[h["identifier"]]) for x in r]
    h, r = rows("classes.csv")
    classes = [
        (
            x[h["sourcedId"]],
            x[h["classCode"]] or x[h["title"]],
            x[h["title"]],
            x[h["schoolSourcedId"]],
        )
        for x in r
    ]
    h, r = rows("roles.csv")
    role_of = {x[h["userSourcedId"]]: x[h["role"]] for x in r}
    mapped = {"student": "pupil", "parent": "guardian", "teacher": "teacher"}
    h, r = rows("demographics.csv")
    birth = {x[h["sourcedId"]]: x[h["birthDate"]] for x in r}
    h, r = rows("contacts.csv")
    contact = {
        x[h["sourcedId"]]: (
            x[h["street"]],
            x[h["postalCode"]],
            x[h["city"]],
            x[h["fallback"]],
            x[h["language"]],
        )
        for x in r
    }
    h, r = rows("users.csv")
    persons = []
    links: list[tuple[str, str]] = []
    for x in r:
        uid = x[h["sourcedId"]]
        role = mapped[role_of[uid]]
        street, postal, city, fallback, language = contact.get(uid, (None, None, None, "", ""))
        persons.append(
            (
                uid,
                role,
                role,
                x[h["givenName"]],
                x[h["familyName"]],
                x[h["middleName"]],
                birth.get(uid),
                x[h["email"]] or None,
                street,
                postal,
                city,
                fallback or "email",
                language or None,
                "",
                x[h["primaryOrgSourcedId"]],
                False,
                x[h["username"]] or None,
            )
        )
        links.extend((uid, g) for g in x[h["agentSourcedIds"]].split(",") if g)
    h, r = rows("enrollments.csv")
    enrollments = [
        (x[h["classSourcedId"]], x[h["userSourcedId"]], x[h["role"]], x[h["primary"]] == "true")
        for x in r
    ]
    db = sqlite3.connect(database)
    with db:
        db.executemany("INSERT INTO schools (id, name, identifier) VALUES (?, ?, ?)", schools)
        db.executemany(
            "INSERT INTO persons (id, role, roles, given_name, family_name, middle_name, "
            "birth_date, email, street, postal_code, city, preference, language, "
            "preferred_given_name, school_ids, share_with_guardians, username) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            persons,
        )
        db.executemany("INSERT INTO guardianships (pupil_id, guardian_id) VALUES (?, ?)", links)
        db.executemany(
            "INSERT INTO classes (id, code, title, school_id) VALUES (?, ?, ?, ?)", classes
        )
        db.executemany(
            'INSERT INTO enrollments (class_id, person_id, role, "primary") VALUES (?, ?, ?, ?)',
            enrollments,
        )
    db.close()


def _env(work: Path, database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLASBOT_")}
    env.update(
        KLASBOT_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        KLASBOT_DATA_DIR=str(work / "data"),
        KLASBOT_MAIL__OUTBOX_DIR=str(work / "outbox"),
        KLASBOT_POST__LETTERS_DIR=str(work / "letters"),
        KLASBOT_SCHOOL__NAME="Bench",
    )
    return env


def _timed(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run `args` to its end: (wall seconds, the child's peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        error = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"{' '.join(args[:4])} failed: {error[-2000:]}")
    if proc.stderr:
        proc.stderr.close()
    return elapsed, usage.ru_maxrss / 1024


def _tree_peak(args: list[str], env: dict[str, str]) -> float:
    """Run `args` to its end: the peak of its processes' memory together, in MB (the sum of
    their proportional set sizes, a page two processes share counted half in each), sampled
    every 10 ms. klasbot reads part of a big export in a child process; the child's peak RSS
    alone, or the parent's, would leave the other out."""
    proc = subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(_pss(pid) for pid in (proc.pid, *_children(proc.pid))))
        time.sleep(0.01)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args[:4])} failed")
    return peak / 1024


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _pss(pid: int) -> int:
    """The proportional set size of process `pid` in kB (0 once it has ended)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


REPEAT = 3
"""Each side runs this many times, the two sides taking turns; each figure is its side's best (the
least disturbed by the rest of the machine: a shared machine's speed changes by tens of percent
from one minute to the next)."""


def run(pupils: int, work: Path, repeat: int = REPEAT) -> dict[str, float]:
    """Both imports of a board of `pupils` pupils, and klasbot's re-imports, `repeat` times in
    turn: each figure's best (least time; least peak memory)."""
    roster = write_board(work / f"roster-{pupils}", pupils)
    users = roster / "users.csv"
    original = users.read_text(encoding="utf-8")
    empty = work / "empty.db"
    if not empty.exists():
        env = _env(work, empty)
        subprocess.run(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    raw_db, klasbot_db = work / f"raw-{pupils}.db", work / f"klasbot-{pupils}.db"
    env = _env(work, klasbot_db)
    command = [sys.executable, "-m", "bot", "roster", "import", str(roster)]
    best: dict[str, float] = {}

    def keep(name: str, figures: tuple[float, float]) -> None:
        for key, value in zip((f"{name}_s", f"{name}_mb"), figures, strict=True):
            best[key] = min(best.get(key, value), value)

    def fresh(db: Path) -> None:
        shutil.copy(empty, db)
        for side in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            side.unlink(missing_ok=True)

    for _ in range(repeat):
        fresh(raw_db)
        fresh(klasbot_db)
        users.write_text(original, encoding="utf-8")
        keep("raw", _timed([sys.executable, __file__, "--raw", str(roster), str(raw_db)]))
        keep("klasbot", _timed(command, env))
        keep("again", _timed(command, env))
        users.write_text(_renamed(original), encoding="utf-8")
        keep("changed", _timed(command, env))
    # Once more, untimed (sampling the memory takes time of its own): both processes' memory.
    fresh(klasbot_db)
    users.write_text(original, encoding="utf-8")
    best["tree_mb"] = _tree_peak(command, env)
    shutil.rmtree(roster)
    for db in (raw_db, klasbot_db):
        db.unlink()
    return best


def _renamed(text: str) -> str:
    """users.csv with the first pupil's given name changed."""
    first_pupil = text.index("\ns-000000,")
    end = text.index("\n", first_pupil + 1)
    row = next(csv.reader([text[first_pupil + 1 : end]]))
    row[USERS.index("givenName")] += "x"
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow(row)
    return text[: first_pupil + 1] + line.getvalue() + text[end:]


def measure(quick: bool = False) -> list[Row]:
    pupils = 1_000 if quick else 100_000
    repeat = 1 if quick else REPEAT
    with tempfile.TemporaryDirectory(prefix="klasbot-bench-roster-") as tmp:
        work = Path(tmp)
        half = run(pupils // 2, work, repeat)
        full = run(pupils, work, repeat)
    size = f"{pupils:,} pupils ({persons_of(pupils):,} persons)"

    def reimport(what: str, key: str, goal: str) -> Row:
        """A re-import's row: `key` names its figures in `run`'s result."""
        return Row(
            work=f"roster re-import, {what}, {size}",
            library=f"csv + executemany import: {full['raw_s']:.1f} s",
            klasbot=f"{full[f'{key}_s']:.1f} s, {full[f'{key}_mb']:.0f} MB",
            ratio=f"{full[f'{key}_s'] / full['raw_s']:.2f}x time",
            goal=goal,
            doubled=f"x{full[f'{key}_s'] / half[f'{key}_s']:.2f}",
        )

    # The memory goal is taken on the larger: the peak of the process alone, or of it and the
    # process that reads part of the export, together.
    memory = max(full["klasbot_mb"], full["tree_mb"])
    return [
        Row(
            work=f"roster import, {size}",
            library=f"csv + executemany: {full['raw_s']:.1f} s, {full['raw_mb']:.0f} MB",
            klasbot=f"{full['klasbot_s']:.1f} s, {full['klasbot_mb']:.0f} MB "
            f"(its processes together: {full['tree_mb']:.0f} MB)",
            ratio=f"{full['klasbot_s'] / full['raw_s']:.2f}x time, "
            f"{memory / full['raw_mb']:.2f}x memory",
            goal="<= 2x time, <= 1.5x memory",
            doubled=f"x{full['klasbot_s'] / half['klasbot_s']:.2f}",
        ),
        reimport("no change", "again", "<= 1x"),
        reimport("one pupil renamed", "changed", "-"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", nargs=2, metavar=("DIR", "DATABASE"), help=argparse.SUPPRESS)
    parser.add_argument("--write", nargs=2, metavar=("DIR", "PUPILS"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.raw:
        raw_import(Path(args.raw[0]), Path(args.raw[1]))
        return
    if args.write:
        write_board(Path(args.write[0]), int(args.write[1]))
        return
    for row in measure(args.quick):
        print(row)


if __name__ == "__main__":
    main()
