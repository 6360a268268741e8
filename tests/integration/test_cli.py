"""The CLI as an admin and a script use it: real processes, one shared database, a roster the demo
does not know, pupils on both sides of their 13th birthday."""

from __future__ import annotations

import email
import json
import subprocess
from email import policy
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.support.processes import process_env, run_klasbot
from tests.support.rosters import Roster, User

NOW = "2026-11-23T10:00:00+01:00"


def school() -> Roster:
    r = Roster(classes=[("cls-h3a", "H3A"), ("cls-v5b", "V5B")])
    r.users = [
        User("tch-1", "teacher", "Karin", "Smit", middle="van der", email="k.vdsmit@veen.example"),
        User("tch-2", "teacher", "Ahmed", "Bouzid", email="a.bouzid@veen.example"),
        User("adm-1", "administrator", "Wim", "Post", email="w.post@veen.example"),
        User("s-today", "student", "Bram", "Visser", birth="2013-11-23", agents=["par-1"]),
        User("s-tomorrow", "student", "Eva", "Kramer", birth="2013-11-24", agents=["par-2"]),
        User("s-yesterday", "student", "Jesse", "Dijkstra", birth="2013-11-22", agents=["par-3"]),
        User(
            "s-sixteen",
            "student",
            "Iris",
            "Vos",
            birth="2010-01-01",
            email="iris@leerling.veen.example",
            agents=["par-4"],
        ),
        User("s-nothing", "student", "Tim", "Brouwer", birth="2012-05-05"),
        User("s-linked", "student", "Femke", "Hendriks", birth="2012-07-07", agents=["par-1"]),
        User("s-nodate", "student", "Ruben", "Koster", agents=["par-5"]),
        User("par-1", "guardian", "Ellen", "Visser", email="ellen@visser.example"),
        User("par-2", "guardian", "Gert", "Kramer", email="gert@kramer.example"),
        User(
            "par-3", "guardian", "Ria", "Dijkstra", address=("Dorpsstraat 12", "7941 AB", "Meppel")
        ),
        User("par-4", "guardian", "Otto", "Vos", email="otto@vos.example"),
        User("par-5", "guardian", "Nel", "Koster", email="nel@koster.example"),
    ]
    pupils = [
        "s-today",
        "s-tomorrow",
        "s-yesterday",
        "s-sixteen",
        "s-nothing",
        "s-linked",
        "s-nodate",
    ]
    r.enrollments = [("cls-h3a", "tch-1", "teacher", True), ("cls-v5b", "tch-2", "teacher", True)]
    r.enrollments += [("cls-h3a", p, "student", False) for p in pupils]
    return r


class Cli:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp = tmp_path
        self.env = process_env(
            tmp_path, database_url, KLASBOT_SCHOOL__NAME="Veenlanden College", KLASBOT_NOW=NOW
        )

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return run_klasbot(self.env, *args, cwd=self.tmp, ok=ok)

    def with_school(self) -> None:
        """A migrated database holding `school()`."""
        self("db", "upgrade")
        self("roster", "import", str(school().write(self.tmp / "export")))

    def json(self, *args: str) -> object:
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path, database_url)


def test_import_link_announce_dispatch_report(cli: Cli, tmp_path: Path) -> None:
    roster = school().write(tmp_path / "export")
    cli("db", "upgrade")
    cli("roster", "import", str(roster))
    assert {c["code"] for c in cli.json("classes")} == {"H3A", "V5B"}
    cli("groups", "create", "--class", "H3A", "--platform", "console")
    [group] = cli.json("groups")
    assert (group["class"], group["platform"], group["state"]) == ("H3A", "console", "active")
    assert group["chat"]

    invites = cli.json("invites", "create", "--class", "H3A")
    codes = {i["pupil"]: i["code"] for i in invites}
    assert all(i["person"] == i["pupil"] for i in invites)
    # Born 2013-11-23: 13 today in Amsterdam. Born tomorrow, or without a birth date, or with
    # nobody to send it to (s-nothing): no code.
    assert set(codes) == {"s-today", "s-yesterday", "s-sixteen", "s-linked"}

    script = tmp_path / "link.txt"
    script.write_text(
        "# two pupils link their console accounts\n"
        f"s-today: /start {codes['s-today']}\n"
        f"s-linked: /start {codes['s-linked']}\n",
        encoding="utf-8",
    )
    transcript = cli("demo", "--script", str(script)).stdout
    assert transcript.count("gekoppeld") == 2

    proc = cli(
        "announce",
        "--class",
        "H3A",
        "--as",
        "tch-1",
        "--kind",
        "homework",
        "--subject",
        "biologie",
        "--date",
        "morgen",
        "--text",
        "Lees paragraaf 2.1 en maak opgave 4.",
    )
    announcement_id = proc.stdout.strip()
    assert announcement_id.isdigit()
    cli("dispatch", "--once")
    rows = cli.json("deliveries", announcement_id)
    got = {r["pupil"]: (r["channel"], r["reason"]) for r in rows}
    assert len(rows) == 7 == len(got)  # every enrolled pupil exactly once
    assert got == {
        "s-today": ("group", None),
        "s-linked": ("group", None),
        "s-tomorrow": ("email", "under-13"),
        "s-yesterday": ("post", "not-linked"),
        "s-sixteen": ("email", "not-linked"),
        "s-nothing": ("unreachable", "not-linked"),
        "s-nodate": ("email", "age-unknown"),
    }
    status = {r["pupil"]: r["status"] for r in rows}
    assert status["s-today"] == status["s-tomorrow"] == "sent"
    assert status["s-yesterday"] == "pending"  # until the office marks the letter posted
    assert status["s-nothing"] == "failed"

    signature = "— K. van der Smit, mentor H3A, Veenlanden College"
    mails = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in (tmp_path / "outbox").glob("*.eml")
    ]
    announcement_mails = [
        m
        for m in mails
        if "paragraaf 2.1" in m.get_body(("plain",)).get_content()
        and not m["Message-ID"].startswith(("<unreachable", "<late-letters"))
    ]
    assert {x.addr_spec for m in announcement_mails for x in m["To"].addresses} == {
        "gert@kramer.example",
        "iris@leerling.veen.example",
        "nel@koster.example",
    }
    assert all(signature in m.get_body(("plain",)).get_content() for m in announcement_mails)
    letters = list((tmp_path / "letters").glob("*.pdf"))
    texts = ["".join(p.extract_text() for p in PdfReader(f).pages) for f in letters]
    assert any("Dorpsstraat 12" in t and "K. van der Smit" in t for t in texts)
    log = (tmp_path / "data" / "console").glob("*.log")
    assert any(signature in p.read_text(encoding="utf-8") for p in log)

    listed = cli.json("letters", "list")
    assert [x["pupils"] for x in listed] == [["s-yesterday"]]
    cli("letters", "mark-posted", "--all")
    status = {r["pupil"]: r["status"] for r in cli.json("deliveries", announcement_id)}
    assert status["s-yesterday"] == "sent"

    [item] = cli.json("announcements", "--class", "H3A")
    assert item["id"] == int(announcement_id)
    assert item["author"] == "tch-1"
    assert item["kind"] == "homework"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--kind", "feest", "--text", "Taart!"], "feest"),
        (["--kind", "reminder", "--text", "Mail k.vdsmit@veen.example voor vragen"], "e-mail"),
        (["--kind", "reminder", "--text", "Bram haalt de boeken op"], "Bram"),
        (["--kind", "homework", "--date", "morgen", "--text", "Opgave 4"], "--subject"),
        (["--kind", "trip", "--date", "31-02", "--text", "Uitje"], "31-02"),
    ],
)
def test_refusals_exit_non_zero_with_one_line(
    cli: Cli, tmp_path: Path, args: list[str], needle: str
) -> None:
    cli.with_school()
    proc = cli("announce", "--class", "H3A", "--as", "tch-1", *args, ok=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle.lower() in lines[0].lower(), proc.stderr
    assert cli.json("announcements") == []


def test_pupil_as_author_is_refused(cli: Cli, tmp_path: Path) -> None:
    cli.with_school()
    proc = cli(
        "announce",
        "--class",
        "H3A",
        "--as",
        "s-today",
        "--kind",
        "reminder",
        "--text",
        "Hoi",
        ok=False,
    )
    assert proc.returncode != 0
    [line] = proc.stderr.strip().splitlines()
    assert "leerling" in line


def test_unknown_class_and_person(cli: Cli, tmp_path: Path) -> None:
    cli.with_school()
    proc = cli(
        "announce",
        "--class",
        "X9",
        "--as",
        "tch-1",
        "--kind",
        "reminder",
        "--text",
        "Hoi",
        ok=False,
    )
    assert proc.returncode != 0
    assert "X9" in proc.stderr
    proc = cli("invites", "create", "--person", "nobody", ok=False)
    assert proc.returncode != 0
    assert "nobody" in proc.stderr


def _break(d: Path, file: str, old: str, new: str) -> None:
    path = d / file
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("defect", "file", "line"),
    [
        (lambda d: _break(d, "users.csv", ",givenName,", ",firstName,"), "users.csv", "regel 1"),
        (lambda d: _break(d, "enrollments.csv", "s-today", "s-ghost"), "enrollments.csv", "regel"),
        (
            lambda d: _break(d, "demographics.csv", "2013-11-22", "22-11-2013"),
            "demographics.csv",
            "regel",
        ),
        (lambda d: _break(d, "users.csv", "s-tomorrow,", "s-today,"), "users.csv", "regel"),
        (
            lambda d: (d / "classes.csv").write_bytes(
                (d / "classes.csv")
                .read_bytes()
                .replace(b"Klas H3A", "Klas H3A \u00e9".encode("latin-1"))
            ),
            "classes.csv",
            "regel",
        ),
    ],
    ids=["missing-column", "unknown-user", "bad-date", "duplicate-id", "bad-encoding"],
)
def test_roster_defects_import_nothing_and_name_file_and_line(
    cli: Cli, tmp_path: Path, defect: object, file: str, line: str
) -> None:
    export = school().write(tmp_path / "export")
    defect(export)  # type: ignore[operator]
    cli("db", "upgrade")
    proc = cli("roster", "import", str(export), ok=False)
    assert proc.returncode != 0
    assert file in proc.stderr, proc.stderr
    assert line in proc.stderr, proc.stderr  # the school's language: Dutch by default
    assert cli.json("classes") == []


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            None,
            [
                "klasbot: rooster niet ingelezen (2 probleem/problemen):",
                "enrollments.csv, regel 4, kolom userSourcedId: onbekende gebruiker 's-ghost' "
                "(niet in users.csv)",
                "demographics.csv, regel 4, kolom birthDate: geen datum (JJJJ-MM-DD): '22-11-2013'",
            ],
        ),
        (
            "en",
            [
                "klasbot: roster not imported (2 problem(s)):",
                "enrollments.csv, line 4, column userSourcedId: unknown user 's-ghost' "
                "(not in users.csv)",
                "demographics.csv, line 4, column birthDate: not a date (YYYY-MM-DD): '22-11-2013'",
            ],
        ),
    ],
    ids=["dutch-by-default", "english"],
)
def test_roster_errors_are_told_in_the_schools_language(
    tmp_path: Path, language: str | None, expected: list[str]
) -> None:
    export = school().write(tmp_path / "export")
    _break(export, "enrollments.csv", "s-today", "s-ghost")
    _break(export, "demographics.csv", "2013-11-22", "22-11-2013")
    settings = {"KLASBOT_SCHOOL__LANGUAGE": language} if language else {}
    env = process_env(tmp_path, **settings)
    proc = run_klasbot(env, "roster", "import", str(export), cwd=tmp_path, ok=False)
    assert proc.returncode != 0
    # The reader's own log line (English, like every log) comes first.
    lines = proc.stderr.strip().splitlines()
    assert lines[-3:] == expected, proc.stderr


def test_roster_dry_run_and_resync(cli: Cli, tmp_path: Path) -> None:
    cli("db", "upgrade")
    export = school().write(tmp_path / "export")
    dry = cli.json("roster", "import", str(export), "--dry-run")
    assert dry["dry_run"]
    assert "s-today" in dry["added"]["persons"]
    assert cli.json("classes") == []
    cli("roster", "import", str(export))
    r = school()
    r.enrollments = [e for e in r.enrollments if e[1] != "s-linked"]
    r.users = [u for u in r.users if u.id != "s-linked"]
    changes = cli.json("roster", "import", str(r.write(tmp_path / "export2")))
    assert changes["removed"]["persons"] == ["s-linked"]
    assert {"pupil": "s-linked", "class": "cls-h3a"} in changes["left_class"]


def test_config_errors_are_one_line(cli: Cli, tmp_path: Path) -> None:
    cli.env["KLASBOT_MAIL__TRANSPROT"] = "smtp"
    proc = cli("classes", ok=False)
    assert proc.returncode != 0
    assert "KLASBOT_MAIL__TRANSPROT" in proc.stderr
    del cli.env["KLASBOT_MAIL__TRANSPROT"]
    config = tmp_path / "klasbot.toml"
    config.write_text('[telegram]\ntoken = "123:abc"\n', encoding="utf-8")
    proc = cli("--config", str(config), "classes", ok=False)
    assert proc.returncode != 0
    assert "KLASBOT_TELEGRAM__TOKEN" in proc.stderr
    assert "is geheim" in proc.stderr  # no language configured: Dutch


@pytest.mark.parametrize(
    ("env", "toml", "expected"),
    [
        (
            {"KLASBOT_MAIL__TRANSPROT": "smtp"},
            None,
            "klasbot: onbekende configuratievariabele KLASBOT_MAIL__TRANSPROT (zie de lijst met "
            "sleutels in de README)",
        ),
        (
            {"KLASBOT_MAIL__TRANSPROT": "smtp", "KLASBOT_SCHOOL__LANGUAGE": "en"},
            None,
            "klasbot: unknown configuration variable KLASBOT_MAIL__TRANSPROT (see the README's "
            "key list)",
        ),
        (
            {"KLASBOT_SCHOOL__LANGUAGE": "en", "KLASBOT_SCHOOL__INVITE_VALID_DAYS": "lots"},
            None,
            "klasbot: invalid configuration in the environment: school.invite_valid_days "
            "(KLASBOT_SCHOOL__INVITE_VALID_DAYS): must be a whole number from 1 to 365 "
            "(got 'lots')",
        ),
        (
            {"KLASBOT_SCHOOL__INVITE_VALID_DAYS": "lots"},
            "[school]\ntimezone = 'Europe/Amsterdm'\n",
            "klasbot: ongeldige configuratie in {config} of de omgeving: school.timezone "
            "(KLASBOT_SCHOOL__TIMEZONE): onbekende tijdzone 'Europe/Amsterdm' (bijvoorbeeld "
            "Europe/Amsterdam) (gekregen: 'Europe/Amsterdm'); school.invite_valid_days "
            "(KLASBOT_SCHOOL__INVITE_VALID_DAYS): moet een geheel getal van 1 tot en met 365 zijn "
            "(gekregen: 'lots')",
        ),
        (
            {},
            "[school]\nlanguage = 'en'\n[telegram]\ntoken = '123:abc'\n",
            "klasbot: {config}: [telegram] token is a secret; set it in the environment as "
            "KLASBOT_TELEGRAM__TOKEN",
        ),
        (
            {"KLASBOT_SCHOOL__LANGUAGE": "fr"},
            None,
            "klasbot: ongeldige configuratie in de omgeving: school.language "
            "(KLASBOT_SCHOOL__LANGUAGE): geen catalogus voor taal 'fr'; talen: nl, en "
            "(gekregen: 'fr')",
        ),
    ],
    ids=[
        "dutch-by-default",
        "english-from-the-environment",
        "what-the-key-allows-in-english",
        "what-the-key-allows-in-dutch",
        "english-from-the-file",
        "no-catalogue-so-dutch",
    ],
)
def test_config_errors_are_told_in_the_language_the_configuration_asks_for(
    tmp_path: Path, env: dict[str, str], toml: str | None, expected: str
) -> None:
    args: list[str] = []
    config = tmp_path / "klasbot.toml"
    if toml is not None:
        config.write_text(toml, encoding="utf-8")
        args = ["--config", str(config)]
    proc = run_klasbot(process_env(tmp_path, **env), *args, "classes", cwd=tmp_path, ok=False)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [expected.format(config=config)], proc.stderr


def test_commands_before_db_upgrade_say_so(cli: Cli) -> None:
    proc = cli("classes", ok=False)
    assert proc.returncode != 0
    assert "db upgrade" in proc.stderr


def test_unreachable_platform_does_not_hold_up_mail_and_letters(cli: Cli, tmp_path: Path) -> None:
    cli.with_school()
    cli.env["KLASBOT_TELEGRAM__TOKEN"] = "123456:TEST"
    cli.env["KLASBOT_TELEGRAM__BASE_URL"] = "http://127.0.0.1:9/bot"  # nothing listens there
    announcement_id = cli(
        "announce",
        "--class",
        "H3A",
        "--as",
        "tch-1",
        "--kind",
        "reminder",
        "--text",
        "Gymspullen mee",
    ).stdout.strip()
    proc = cli("dispatch", "--once")
    assert "telegram is not reachable" in proc.stderr
    status = {r["pupil"]: r["status"] for r in cli.json("deliveries", announcement_id)}
    assert status["s-tomorrow"] == "sent"
    assert status["s-sixteen"] == "sent"


def test_invite_letters_are_printed_letters_the_office_sees(cli: Cli) -> None:
    cli.with_school()
    invites = cli.json("invites", "create", "--class", "H3A")
    codes = {i["person"]: i["code"] for i in invites}
    # Jesse's only guardian has a postal address and no e-mail: his code goes by letter.
    assert {i["person"] for i in invites if i["channel"] == "post"} == {"s-yesterday"}
    assert cli.json("letters", "list") == []  # printed by the dispatcher, like every letter
    cli("dispatch", "--once")
    [letter] = cli.json("letters", "list")
    assert letter["notices"] == ["invite"]
    assert letter["pupils"] == ["s-yesterday"]
    assert letter["announcements"] == []
    assert letter["recipient"] == "Ria Dijkstra"
    text = "".join(page.extract_text() for page in PdfReader(letter["path"]).pages)
    assert codes["s-yesterday"] in text
    cli("letters", "mark-posted", "--all")
    assert cli.json("letters", "list") == []
    [posted] = cli.json("letters", "list", "--all")
    assert posted["posted_at"] is not None
