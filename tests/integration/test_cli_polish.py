"""The command line's contract as an admin meets it (issue 10, part 6), through real processes: a
malformed command line is one line on standard error with exit code 2, `db upgrade` names the
database without its password, `letters list` prints every key whole however narrow the terminal,
and `--as` with an id the roster does not have says so."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot import bootstrap
from bot.cli import common
from bot.cli import texts as t
from bot.errors import NotFound
from tests.support.processes import demo_school, process_env, run_klasbot


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_usage_error_is_one_line_on_stderr_with_exit_code_2(tmp_path: Path) -> None:
    env = process_env(tmp_path)
    proc = run_klasbot(env, "announce", "--class", "2B", "--bogus", cwd=tmp_path, ok=False)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert _one_line(proc.stderr) == (
        "klasbot announce: onbekende optie --bogus; zie `klasbot announce --help`"
    )


def test_db_upgrade_names_the_database_without_its_password(
    tmp_path: Path, database_url: str
) -> None:
    url = database_url
    if url.startswith("postgresql"):
        url = make_url(url).set(password="secret").render_as_string(hide_password=False)
        assert ":secret@" in url
    shown = bootstrap.database_name(url)
    assert "secret" not in shown
    proc = run_klasbot(process_env(tmp_path, url), "db", "upgrade", cwd=tmp_path, ok=False)
    line = _one_line(proc.stderr)
    assert "secret" not in proc.stdout + proc.stderr
    if proc.returncode == 0:
        assert re.fullmatch(rf"database {re.escape(shown)} is bijgewerkt \(revisie \d{{4}}\)", line)
    else:  # a server that checks the password: the refusal names the database too
        assert line.startswith(f"klasbot: database {shown}: bijwerken mislukt: "), line
    if url.startswith("sqlite"):
        assert shown == f"sqlite+aiosqlite:///{tmp_path / 'klasbot.db'}"
    else:
        assert ":***@" in shown


@pytest.fixture(scope="module")
def letters(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The demo school with invitation letters waiting for the office (2B's guardians who get
    post)."""
    tmp = tmp_path_factory.mktemp("letters")
    env = process_env(tmp)
    demo_school(env, tmp)
    run_klasbot(env, "invites", "create", "--class", "2B", cwd=tmp)
    run_klasbot(env, "dispatch", "--once", cwd=tmp)
    return tmp, env


def _stored_keys(tmp: Path, env: dict[str, str]) -> list[str]:
    listed = json.loads(run_klasbot(env, "letters", "list", "--json", cwd=tmp).stdout)
    return [letter["key"] for letter in listed]


def test_letters_list_prints_every_key_whole_in_a_narrow_terminal(
    letters: tuple[Path, dict[str, str]],
) -> None:
    tmp, env = letters
    stored = _stored_keys(tmp, env)
    assert len(stored) >= 2
    wide = run_klasbot({**env, "COLUMNS": "200"}, "letters", "list", cwd=tmp).stdout
    assert "…" not in wide
    assert [k for k in stored if k in wide.replace("│", " ").split()] == stored, wide

    narrow = run_klasbot({**env, "COLUMNS": "40"}, "letters", "list", cwd=tmp).stdout
    assert "…" not in narrow
    heading = t.H_KEY("nl") + ": "
    printed = [line.removeprefix(heading) for line in narrow.splitlines() if line[:1] != " "]
    printed = [line for line in printed if line in stored]
    assert printed == stored, narrow

    # The key as printed is the key `mark-posted` takes.
    run_klasbot(env, "letters", "mark-posted", printed[0], cwd=tmp)
    assert _stored_keys(tmp, env) == stored[1:]


def test_as_with_an_unknown_person_says_so(letters: tuple[Path, dict[str, str]]) -> None:
    tmp, env = letters
    args = ("announce", "--class", "2B", "--as", "nobody", "--kind", "reminder", "--text", "x")
    proc = run_klasbot(env, *args, cwd=tmp, ok=False)
    assert proc.returncode == 1
    assert _one_line(proc.stderr) == (
        "klasbot: onbekende persoon: 'nobody' (--as verwacht een sourcedId uit het rooster)"
    )
    english = {**env, "KLASBOT_SCHOOL__LANGUAGE": "en"}
    proc = run_klasbot(english, *args, cwd=tmp, ok=False)
    assert _one_line(proc.stderr) == (
        "klasbot: unknown person: 'nobody' (--as takes a sourcedId from the roster)"
    )


async def test_an_unknown_person_is_refused_and_audited(app: bootstrap.App) -> None:
    await common.known_person(app, "t-devries", "--as")  # the roster has them: no refusal
    with pytest.raises(NotFound) as refused:
        await common.known_person(app, "nobody", "--as", class_ref="2B", source="cli")
    assert refused.value.render("en") == (
        "unknown person: 'nobody' (--as takes a sourcedId from the roster)"
    )
    async with app.db.transaction() as tx:
        [event] = await tx.audit.events(kind="refusal")
    assert event.actor_id is None
    assert event.details["code"] == "NotFound"
    assert event.details["class_ref"] == "2B"
