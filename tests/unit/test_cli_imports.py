"""`--help` imports what parsing needs, nothing a command needs only when it runs (issue 14): the
database, the configuration, the adapters and their libraries are imported inside the commands.

One child process runs several command lines through `bot.cli.main_entry`, as `klasbot` does, and
reports the modules imported after each; a module-level import that comes back fails here (the
time it costs is measured in bench/cli.py, not tested)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RUN_ONLY = frozenset(
    {
        "sqlalchemy",
        "aiosqlite",
        "asyncpg",
        "alembic",
        "fpdf",
        "jinja2",
        "aiosmtplib",
        "apscheduler",
        "pydantic_settings",
        "rich",
        "icalendar",
        "segno",
        "telegram",
        "nio",
        "microsoft_agents",
        "aiohttp",
        "prometheus_client",
        "storage",
        "adapters",
        "config",
        "migrations",
    }
)
"""Top-level packages no `--help` imports: what the commands use once they run."""
TOP_LEVEL_TOO = frozenset({"asyncio", "pydantic", "bot.domain", "bot.dispatch", "bot.usecases"})
"""What `klasbot --help` does not import either (typer imports pydantic to parse a command's own
options, so a command's `--help` does)."""

COMMAND_LINES = [
    ["--help"],
    ["announce", "--help"],
    ["run", "--help"],
    ["dispatch", "--help"],
    ["roster", "import", "--help"],
    ["db", "upgrade", "--help"],
    ["doctor", "--help"],
    ["dossier", "export", "--help"],
]

CHILD = """
import contextlib, io, json, sys
from bot.cli.common import main_entry

seen = []
for args in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()) as shown:
        code = main_entry(args)
    modules = sorted(sys.modules)
    seen.append({"args": args, "code": code, "help": shown.getvalue(), "modules": modules})
print(json.dumps(seen))
"""


def in_one_process(lines: list[list[str]], **environ: str) -> list[dict[str, object]]:
    """What each command line printed and the modules imported after it, in one process (a later
    command line's modules include the earlier ones'), with only `environ`'s KLASBOT_* set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLASBOT_")} | environ
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(lines)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: list[dict[str, object]] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def imported() -> list[dict[str, object]]:
    return in_one_process(COMMAND_LINES)


def _loaded(modules: object, names: frozenset[str]) -> list[str]:
    assert isinstance(modules, list)
    return sorted(
        m for m in modules if any(m == name or m.startswith(name + ".") for name in names)
    )


def test_klasbot_help_imports_typer_and_the_texts_only(
    imported: list[dict[str, object]],
) -> None:
    first = imported[0]
    assert first["args"] == ["--help"]
    assert first["code"] == 0
    assert "Usage: klasbot" in str(first["help"])
    assert "roster" in str(first["help"])  # every command is listed
    assert _loaded(first["modules"], RUN_ONLY | TOP_LEVEL_TOO) == []


def test_a_commands_help_imports_nothing_the_command_runs_with(
    imported: list[dict[str, object]],
) -> None:
    assert [seen["args"] for seen in imported] == COMMAND_LINES
    for seen in imported:
        assert seen["code"] == 0, seen["args"]
        assert "Usage: klasbot" in str(seen["help"]), seen["args"]
    assert _loaded(imported[-1]["modules"], RUN_ONLY) == []


def test_the_lazy_names_of_a_command_module_are_the_real_ones() -> None:
    """`bot.cli.common.lazy`: a command module's module-level name for the dispatcher is the
    dispatcher's, once it is used."""
    from bot.cli import delivery
    from bot.dispatch import loop
    from bot.usecases import queries

    names = vars(delivery)
    assert names["Runner"].run_forever is loop.Runner.run_forever
    assert names["queries"].letters is queries.letters


SENDS_ONLY = frozenset(
    {"bot.dispatch", "bot.chat", "adapters.email", "adapters.post", "fpdf", "jinja2", "segno"}
)
"""What delivering and chatting need, and a roster import does not."""


def test_a_roster_import_imports_no_dispatcher_chat_mail_or_letters(tmp_path: Path) -> None:
    from tests.conftest import DEMO_ROSTER
    from tests.support.environ import local_environ

    lines = [["db", "upgrade"], ["roster", "import", str(DEMO_ROSTER)]]
    [upgraded, roster] = in_one_process(lines, **local_environ(tmp_path))
    assert upgraded["code"] == roster["code"] == 0
    assert "personen" in str(roster["help"])  # it imported: what it added is shown
    assert _loaded(roster["modules"], SENDS_ONLY) == []
