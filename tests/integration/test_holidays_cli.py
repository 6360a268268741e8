"""`klasbot holidays import FILE.ics` and `klasbot holidays list` as an admin runs them: the
school's published calendar next to the configured `school.holidays`, importing again adds
nothing, and a broken file is one line on standard error with nothing imported."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from adapters.ical import read_holidays
from bot import bootstrap
from bot.clock import FrozenClock
from bot.usecases import holidays as holiday_cases
from tests.conftest import make_settings
from tests.support.processes import process_env, run_klasbot

CONFIGURED = "2026-12-19/2027-01-03 Kerstvakantie,2027-06-04 Studiedag"
"""`school.holidays`: the Christmas holiday is in the school's calendar too."""

CALENDAR = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Veenlanden College//Jaarplanning//NL
X-WR-CALNAME:Vakanties 2026-2027
BEGIN:VEVENT
UID:herfst-2026@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20261017
DTEND;VALUE=DATE:20261026
SUMMARY:Herfstvakantie
END:VEVENT
BEGIN:VEVENT
UID:kerst-2026@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20261219
DTEND;VALUE=DATE:20270104
SUMMARY:Kerstvakantie
END:VEVENT
BEGIN:VEVENT
UID:ouderavond-2026@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART:20261110T183000Z
DTEND:20261110T203000Z
SUMMARY:Ouderavond
END:VEVENT
BEGIN:VEVENT
UID:voorjaar-2027@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20270213
DURATION:P9D
SUMMARY:Voorjaarsvakantie
END:VEVENT
BEGIN:VEVENT
UID:mei-2027@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20270424
DTEND;VALUE=DATE:20270503
SUMMARY:Meivakantie
END:VEVENT
BEGIN:VEVENT
UID:pinksteren-2027@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20270517
SUMMARY:Tweede Pinksterdag
END:VEVENT
BEGIN:VEVENT
UID:zomer-2027@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20270717
DTEND;VALUE=DATE:20270830
SUMMARY:Zomervakantie
END:VEVENT
END:VCALENDAR
"""


def line_of(text: str) -> int:
    return CALENDAR.splitlines().index(text) + 1


def period(start: str, end: str, name: str, source: str) -> dict[str, str]:
    return {"start": start, "end": end, "name": name, "source": source}


CONFIGURED_ONLY = [
    period("2026-12-19", "2027-01-03", "Kerstvakantie", "config"),
    period("2027-06-04", "2027-06-04", "Studiedag", "config"),
]
EVERY_PERIOD = [
    period("2026-10-17", "2026-10-25", "Herfstvakantie", "vakanties.ics"),
    period("2026-12-19", "2027-01-03", "Kerstvakantie", "config"),  # once: the configured one
    period("2027-02-13", "2027-02-21", "Voorjaarsvakantie", "vakanties.ics"),
    period("2027-04-24", "2027-05-02", "Meivakantie", "vakanties.ics"),
    period("2027-05-17", "2027-05-17", "Tweede Pinksterdag", "vakanties.ics"),
    period("2027-06-04", "2027-06-04", "Studiedag", "config"),
    period("2027-07-17", "2027-08-29", "Zomervakantie", "vakanties.ics"),
]


class Cli:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp = tmp_path
        self.env = {
            **process_env(tmp_path, database_url, KLASBOT_SCHOOL__HOLIDAYS=CONFIGURED),
            "COLUMNS": "200",  # table cells are not wrapped
        }

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return run_klasbot(self.env, *args, cwd=self.tmp, ok=ok)

    def listed(self) -> object:
        return json.loads(self("holidays", "list", "--json").stdout)


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    cli = Cli(tmp_path, database_url)
    cli("db", "upgrade")
    return cli


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_import_the_schools_calendar_and_list_every_period(cli: Cli, tmp_path: Path) -> None:
    assert cli.listed() == CONFIGURED_ONLY
    # As a school's site serves it: CRLF line endings and a byte order mark.
    ics = write(
        tmp_path, "vakanties.ics", b"\xef\xbb\xbf" + CALENDAR.replace("\n", "\r\n").encode()
    )

    first = cli("holidays", "import", str(ics))
    assert first.stderr.splitlines() == [
        "vakanties.ics: 6 vakantieperiode(s) toegevoegd, 0 al bekend",
        "1 afspraak/afspraken met een tijdstip overgeslagen: "
        "alleen afspraken van hele dagen zijn vakanties",
    ]
    assert first.stdout == ""
    assert cli.listed() == EVERY_PERIOD

    again = cli("holidays", "import", str(ics))
    assert again.stderr.splitlines()[0] == (
        "vakanties.ics: 0 vakantieperiode(s) toegevoegd, 6 al bekend"
    )
    assert cli.listed() == EVERY_PERIOD

    table = cli("holidays", "list").stdout
    for word in ("eerste dag", "laatste dag", "naam", "bron"):
        assert word in table
    rows = [line.replace("│", " ").split() for line in table.splitlines() if "20" in line]
    assert len(rows) == len(EVERY_PERIOD)
    assert rows[0] == ["2026-10-17", "2026-10-25", "Herfstvakantie", "vakanties.ics"]
    assert rows[5] == ["2027-06-04", "2027-06-04", "Studiedag", "config"]


BROKEN = [
    ("leeg.ics", b"", "klasbot: {path}: het bestand is leeg"),
    (
        "rooster.csv",
        b"datum;omschrijving\r\n2026-10-17;Herfstvakantie\r\n",
        "klasbot: {path}: geen iCalendar-bestand: het begint niet met BEGIN:VCALENDAR",
    ),
    (
        "kapot.ics",
        CALENDAR.replace("DTEND;VALUE=DATE:20270830", "DTEND;VALUE=DATE:20270230").encode(),
        f"klasbot: {{path}}, regel {line_of('DTEND;VALUE=DATE:20270830')}, "
        "afspraak 'Zomervakantie': "
        "DTEND heeft een ongeldige waarde: '20270230'",
    ),
    (
        "omgekeerd.ics",
        CALENDAR.replace("DTEND;VALUE=DATE:20261026", "DTEND;VALUE=DATE:20261010").encode(),
        f"klasbot: {{path}}, regel {line_of('DTEND;VALUE=DATE:20261026')}, "
        "afspraak 'Herfstvakantie': de afspraak eindigt voordat "
        "hij begint (DTSTART 2026-10-17, DTEND 2026-10-10)",
    ),
    (
        "half.ics",
        CALENDAR.removesuffix("END:VCALENDAR\n").encode(),
        "klasbot: {path}: BEGIN:VCALENDAR op regel 1 wordt nooit afgesloten: "
        "END:VCALENDAR ontbreekt",
    ),
]
"""(file name, contents, the line on standard error) of calendars that are refused."""


def test_a_broken_or_missing_calendar_is_one_line_and_imports_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    for name, data, reason in BROKEN:
        path = write(tmp_path, name, data)
        proc = cli("holidays", "import", str(path), ok=False)
        assert proc.returncode == 1, name
        assert proc.stderr.splitlines() == [reason.format(path=path)]
        assert proc.stdout == ""
    missing = cli("holidays", "import", str(tmp_path / "nergens.ics"), ok=False)
    assert missing.returncode == 1
    assert missing.stderr.splitlines() == [
        f"klasbot: {tmp_path / 'nergens.ics'}: bestand bestaat niet"
    ]
    directory = cli("holidays", "import", str(tmp_path), ok=False)
    assert directory.returncode == 1
    assert directory.stderr.splitlines() == [f"klasbot: {tmp_path}: geen bestand"]
    assert cli.listed() == CONFIGURED_ONLY


def test_without_any_holiday_the_list_says_how_to_add_them(
    tmp_path: Path, database_url: str
) -> None:
    env = process_env(tmp_path, database_url)
    run_klasbot(env, "db", "upgrade", cwd=tmp_path)
    assert json.loads(run_klasbot(env, "holidays", "list", "--json", cwd=tmp_path).stdout) == []
    listed = run_klasbot(env, "holidays", "list", cwd=tmp_path)
    assert listed.stdout == ""
    assert listed.stderr.splitlines() == [
        "geen vakantieperioden: zet ze in school.holidays in de configuratie of importeer de "
        "agenda van de school met klasbot holidays import BESTAND.ics"
    ]


async def test_scheduling_sees_the_listed_holidays_and_the_import_is_audited(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    """`all_holidays` inside a transaction (what the scheduling use case asks) is `holidays`."""
    settings = make_settings(tmp_path, database_url, KLASBOT_SCHOOL__HOLIDAYS=CONFIGURED)
    ics = write(tmp_path, "vakanties.ics", CALENDAR.encode())
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings, clock=clock) as a:
        read = read_holidays(ics, today=a.ctx.today())
        doubled = [*read.holidays, *read.holidays]  # a period twice in one file counts once
        assert await holiday_cases.import_holidays(a.ctx, doubled, source=ics.name) == (6, 0)
        assert await holiday_cases.import_holidays(a.ctx, read.holidays) == (0, 6)

        listed = await holiday_cases.holidays(a.ctx)
        async with a.db.transaction() as tx:
            assert await holiday_cases.all_holidays(tx, a.ctx.policy) == listed
            audited = await tx.audit.events(kind="holidays-imported")
    assert [
        {"start": h.start.isoformat(), "end": h.end.isoformat(), "name": h.name, "source": h.source}
        for h in listed
    ] == EVERY_PERIOD
    assert [(e.actor_id, e.details["added"], e.details["known"]) for e in audited] == [
        (None, 6, 0),
        (None, 0, 6),
    ]
    assert audited[0].details["source"] == "vakanties.ics"
