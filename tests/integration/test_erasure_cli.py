"""`klasbot person erase` and `klasbot purge` as an administrator runs them, on SQLite and
PostgreSQL (SPEC "Dossier and privacy"; issue "Reports that reach someone, the dossier, and the
GDPR rights").

Done when: after `person erase`, a scan of the whole database — every column of every table the
database has, found by inspection, so a table added later is scanned too — finds no trace of the
person's names, e-mail address or address, while the announcement and delivery counts are
unchanged; a pupil who comes back in a roster import is a new person; and the retention period
purges what is past it, with `--dry-run` changing nothing.

Fenna van der Wielen (15) is in 3A with her brother Jesse; their father Harm gets their
announcements by e-mail (on a real SMTP server) until his address bounces and Fenna's come by
letter to her own address; she links her account in the class group (`klasbot demo --script`),
reports something, and her classmate Ruben reports something naming her, with her e-mail address
and street."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.processes import KLASBOT, klasbot, process_env
from tests.support.rosters import Roster, User
from tests.support.smtp import SmtpSink

FENNA_MAIL = "fenna.vdwielen@leerling.example"
HARM_MAIL = "harm.vdwielen@thuis.example"
STREET, POSTCODE = "Zonnebloemlaan 17", "9711 XY"
FENNA = (
    "Fenna van der Wielen",
    "Fenna Wielen",
    "F. van der Wielen",
    "Fenna",
    FENNA_MAIL,
    STREET,
    POSTCODE,
    "9711XY",
)
"""Her names, e-mail address and address, as a scan looks for them (case-insensitively)."""


def school() -> Roster:
    return Roster(
        school=("org-noord", "Noorderpoort College"),
        classes=[("cls-3a", "3A")],
        users=[
            User("t-1", "teacher", "Mirjam", "Oosterhuis", email="m.oosterhuis@np.example"),
            User(
                "p-1",
                "student",
                "Fenna",
                "Wielen",
                "van der",
                email=FENNA_MAIL,
                birth="2011-04-02",
                agents=["g-1"],
                address=(STREET, POSTCODE, "Groningen"),
            ),
            User(
                "p-2", "student", "Jesse", "Wielen", "van der", birth="2012-09-10", agents=["g-1"]
            ),
            User("p-3", "student", "Ruben", "Kok", birth="2011-06-01", agents=["g-2"]),
            User("g-1", "guardian", "Harm", "Wielen", "van der", email=HARM_MAIL),
            User("g-2", "guardian", "Ellen", "Kok", email="ellen.kok@thuis.example"),
        ],
        enrollments=[
            ("cls-3a", "t-1", "teacher", True),
            ("cls-3a", "p-1", "student", False),
            ("cls-3a", "p-2", "student", False),
            ("cls-3a", "p-3", "student", False),
        ],
    )


async def fails(env: dict[str, str], *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *KLASBOT, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _out, err = await proc.communicate()
    assert proc.returncode != 0, f"klasbot {' '.join(args)} succeeded"
    return err.decode()


def _schema(conn: sa.Connection) -> dict[str, list[str]]:
    """Every table the database has, with its columns (found by inspection)."""
    inspector = sa.inspect(conn)
    return {
        name: [column["name"] for column in inspector.get_columns(name)]
        for name in inspector.get_table_names()
    }


async def database_text(url: str) -> dict[str, list[str]]:
    """Every value of every column of every table, as text, by table (a JSON text also in its
    decoded form: a name inside it may be escaped)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            schema = await conn.run_sync(_schema)
            found: dict[str, list[str]] = {}
            for name, columns in schema.items():
                table = sa.table(name, *(sa.column(c) for c in columns))
                query = sa.select(*(sa.cast(table.c[c], sa.Text) for c in columns))
                texts = found.setdefault(name, [])
                for row in await conn.execute(query):
                    for value in row:
                        if value is None:
                            continue
                        texts.append(value)
                        try:
                            texts.append(json.dumps(json.loads(value), ensure_ascii=False))
                        except ValueError:
                            pass
            return found
    finally:
        await engine.dispose()


def traces(found: dict[str, list[str]], needles: tuple[str, ...]) -> list[tuple[str, str]]:
    return [
        (table, needle)
        for table, texts in found.items()
        for needle in needles
        if any(needle.casefold() in text.casefold() for text in texts)
    ]


async def scalar(url: str, sql: str) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text(sql))).scalar()
    finally:
        await engine.dispose()


async def test_an_erased_pupil_leaves_no_trace_and_every_count_stays_then_the_year_is_purged(
    tmp_path: Path, database_url: str
) -> None:
    roster = school().write(tmp_path / "roster")
    script = tmp_path / "chat.txt"
    script.write_text(
        ":groep 3A\n"
        ":koppel t-1\n"
        # Her father's address bounces now: this one reaches her by letter, at her own address.
        "t-1: /herinnering 3A De les van vrijdag vervalt.\n"
        ":verstuur\n"
        ":koppel p-1\n"
        ":koppel p-3\n"
        "p-1: /melden Ik, Fenna, word in de app uitgescholden.\n"
        f"p-3: /melden Fenna van der Wielen ({FENNA_MAIL}, {STREET}) wordt gepest.\n"
        "t-1: /herinnering 3A Neem morgen je gymkleren mee\n"
        ":verstuur\n",
        encoding="utf-8",
    )
    with SmtpSink() as sink:
        env = process_env(
            tmp_path,
            database_url,
            KLASBOT_MAIL__TRANSPORT="smtp",
            KLASBOT_MAIL__SMTP_HOST="127.0.0.1",
            KLASBOT_MAIL__SMTP_PORT=str(sink.port),
            KLASBOT_SCHOOL__NAME="Noorderpoort College",
            KLASBOT_SCHOOL__LEADERSHIP_EMAILS="directie@np.example",
        )
        await klasbot(env, "db", "upgrade")
        await klasbot(env, "roster", "import", str(roster))
        await klasbot(env, "announce", "--class", "3A", "--as", "t-1", "--kind", "reminder",
                      "--text", "Morgen is er een toets.")  # fmt: skip
        await klasbot(env, "dispatch", "--once")
        assert HARM_MAIL in sink.by_recipient()  # by e-mail to her father
        sink.refuse[HARM_MAIL] = "550 5.1.1 No such user"
        # A letter; she links her account in the class group and reports; a classmate reports
        # about her; the mentor posts in the group.
        await klasbot(env, "demo", "--script", str(script))

        before = json.loads(await klasbot(env, "announcements", "--json"))
        deliveries = await scalar(database_url, "SELECT count(*) FROM deliveries")
        letter = await scalar(
            database_url, f"SELECT path FROM letters WHERE address LIKE '%{STREET}%'"
        )
        assert len(before) == 3
        assert letter
        assert Path(letter).exists()
        found = await database_text(database_url)
        seen = {n for _, n in traces(found, FENNA)}
        assert seen >= {"Fenna van der Wielen", "Fenna", FENNA_MAIL, STREET, POSTCODE}
        assert {t for t, _ in traces(found, FENNA)} >= {
            "persons",
            "deliveries",
            "letters",
            "reports",
            "audit_events",
        }

        erased = json.loads(await klasbot(env, "person", "erase", "p-1", "--json"))

    pseudonym = erased["pseudonym"]
    assert erased["person"] == "p-1"
    assert pseudonym.startswith("erased-")
    assert erased["counts"]["accounts"] == 1
    assert erased["counts"]["reports"] == 1
    assert (erased["removals"], erased["removed"]) == (1, 1)  # the console group
    assert not Path(letter).exists()
    found = await database_text(database_url)
    assert traces(found, FENNA) == []
    assert traces(found, ("Jesse van der Wielen", "Harm van der Wielen", "Ruben Kok")) != []
    after = json.loads(await klasbot(env, "announcements", "--json"))
    assert [a["id"] for a in after] == [a["id"] for a in before]
    assert await scalar(database_url, "SELECT count(*) FROM deliveries") == deliveries
    pupils = f"SELECT count(*) FROM deliveries WHERE announcement_id = {before[0]['id']} AND "
    assert await scalar(database_url, pupils + f"pupil_id = '{pseudonym}'") == 1
    assert await scalar(database_url, pupils + "pupil_id = 'p-1'") == 0

    # She comes back in the next roster import: a new person, with no history.
    await klasbot(env, "roster", "import", str(roster))
    for sql in (
        "SELECT count(*) FROM audit_persons WHERE person_id = 'p-1'",
        "SELECT count(*) FROM deliveries WHERE pupil_id = 'p-1'",
        "SELECT count(*) FROM reports WHERE reporter_id = 'p-1'",
        "SELECT count(*) FROM accounts WHERE person_id = 'p-1'",
    ):
        assert await scalar(database_url, sql) == 0, sql
    assert await scalar(database_url, "SELECT count(*) FROM persons WHERE id = 'p-1'") == 1

    # Two school years on, the retention period has passed: a dry run counts, a purge removes.
    later = {**env, "KLASBOT_NOW": "2028-08-01T10:00:00+02:00"}
    events = await scalar(database_url, "SELECT count(*) FROM audit_events")
    dry = json.loads(await klasbot(later, "purge", "--dry-run", "--json"))
    assert dry["dry_run"]
    assert dry["kept_from"] == "2027-08-01"
    assert dry["counts"]["announcements"] == 3
    assert dry["counts"]["audit_events"] == events
    assert dry["counts"]["reports"] == 0  # both still open: kept however old
    assert await scalar(database_url, "SELECT count(*) FROM deliveries") == deliveries
    purged = json.loads(await klasbot(later, "purge", "--json"))
    assert purged["counts"] == dry["counts"]
    assert not purged["dry_run"]
    assert await scalar(database_url, "SELECT count(*) FROM announcements") == 0
    again = json.loads(await klasbot(later, "purge", "--dry-run", "--json"))
    assert set(again["counts"].values()) == {0}
    assert await scalar(database_url, "SELECT count(*) FROM reports") == 2


async def test_erasing_someone_the_roster_does_not_have_is_one_line(
    tmp_path: Path, database_url: str
) -> None:
    env = process_env(tmp_path, database_url)
    await klasbot(env, "db", "upgrade")
    err = await fails(env, "person", "erase", "p-nobody")
    assert err.count("\n") == 1
    assert "p-nobody" in err
    assert "Traceback" not in err
