"""The command line's surface (issue 10, part 6): every option and argument says what it is for,
a yes/no option is a flag, a malformed command line is one line on standard error with exit code
2, a letter's key is printed whole however narrow the terminal, and a database is named without
its password. In-process: no database is needed for any of this."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from bot.bootstrap import database_name
from bot.cli import app, common
from bot.cli import texts as t


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command of the tree (groups too) with its path below `klasbot`."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(typer.main.get_command(app)))
PARAMS = [
    (" ".join(("klasbot", *path)), param)
    for path, command in COMMANDS
    for param in command.params
    if param.name != "help"
]


def _is_yes_no(param: Any) -> bool:
    """A parameter whose value is True or False (however typer or click describe it)."""
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return (
        annotation is bool
        or isinstance(param.default, bool)
        or bool(getattr(param, "is_bool_flag", False))
    )


def test_the_tree_is_walked() -> None:
    """The walk reaches the nested commands and their options (the tests below are not empty)."""
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"announce", "letters list", "letters mark-posted", "db upgrade"} <= paths
    assert {name for name, p in PARAMS if p.name == "as_json"} >= {
        "klasbot announce",
        "klasbot letters list",
    }


def test_every_option_and_argument_has_help() -> None:
    missing = [
        f"{where} {'/'.join(param.opts)}"
        for where, param in PARAMS
        if not (getattr(param, "help", None) or "").strip()
    ]
    assert not missing, "parameters without help text:\n" + "\n".join(missing)


def test_every_yes_no_option_is_a_flag() -> None:
    yes_no = [(where, param) for where, param in PARAMS if _is_yes_no(param)]
    assert len(yes_no) >= 10  # --json everywhere, --dry-run, --once, --with-staff, --all …
    not_flags = [
        f"{where} {'/'.join([*param.opts, *param.secondary_opts])}"
        for where, param in yes_no
        if not param.is_flag or param.secondary_opts
    ]
    assert not not_flags, "yes/no options that are not plain flags:\n" + "\n".join(not_flags)


@pytest.mark.parametrize(
    "path", [path for path, _ in COMMANDS], ids=lambda p: " ".join(p) or "klasbot"
)
def test_help_shows_flags_as_flags(path: tuple[str, ...]) -> None:
    """`--json`, not `--json <bool>` (Rich's help) nor `--json / --no-json`."""
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: {' '.join(('klasbot', *path))}"), result.output
    for wrong in ("<bool>", "--no-", "╭", "│"):
        assert wrong not in result.output, result.output


@pytest.fixture
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory without klasbot.toml and an environment without KLASBOT_* settings, in
    English (the language of a usage error is the one the configuration asks for)."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("KLASBOT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KLASBOT_SCHOOL__LANGUAGE", "en")
    return tmp_path


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = common.main_entry(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["announce", "--bogus"],
            "klasbot announce: unknown option --bogus; see `klasbot announce --help`",
        ),
        (
            ["announce", "--as", "t-devries"],
            "klasbot announce: --class is missing; see `klasbot announce --help`",
        ),
        (["announce", "--class"], "klasbot announce: option --class needs a value"),
        (
            ["--config", "x.toml", "letters", "list", "--all=yes"],
            "klasbot letters list: option --all takes no value; see `klasbot letters list --help`",
        ),
        (["nosuch"], "klasbot: unknown command 'nosuch'; see `klasbot --help`"),
        (["db", "nosuch"], "klasbot db: unknown command 'nosuch'; see `klasbot db --help`"),
        (["-v"], "klasbot: no command given; see `klasbot --help`"),
        (
            ["letters", "list", "extra"],
            "klasbot letters list: unexpected argument(s) extra; see `klasbot letters list --help`",
        ),
        (
            ["deliveries", "abc"],
            "klasbot deliveries: ANNOUNCEMENT_ID 'abc' is not an id: "
            "ids are whole numbers from 1 to 9223372036854775807",
        ),
        (
            ["--verbose=3", "classes"],
            "klasbot: option --verbose takes no value; see `klasbot --help`",
        ),
        (["announce", "--class", "2B\udcff"], "klasbot: argument '2B�' is not valid UTF-8 text"),
        (
            ["groups", "create", "--class", "2B", "--platform", "console", "--chat", " "],
            "klasbot groups create: --chat ' ' is empty: give a value",
        ),
    ],
)
def test_a_usage_error_is_one_line_on_stderr_with_exit_code_2(
    no_config: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    code, out, err = _run(args, capsys)
    assert (code, out, err) == (2, "", expected + "\n")


def test_a_group_without_its_command_prints_its_help_once(
    no_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["letters"], capsys)
    assert (code, out) == (2, "")
    assert err.count("Usage: klasbot letters [OPTIONS] COMMAND") == 1, err
    assert "mark-posted" in err


def test_a_configuration_that_is_a_directory_is_one_line(
    no_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["--config", str(no_config), "classes"], capsys)
    assert code == 1
    assert "Traceback" not in err
    [line] = err.splitlines()
    assert line.startswith(f"klasbot: {no_config}: "), line


KEY = "2026-11-23-230b3db4ac46"


@pytest.fixture
def printed(monkeypatch: pytest.MonkeyPatch) -> Any:
    """`print_rows` to a console of a given width; returns what it printed."""

    def show(width: int, rows: list[tuple[str, ...]]) -> str:
        buffer = io.StringIO()
        console = Console(file=buffer, width=width, highlight=False, soft_wrap=True)
        monkeypatch.setattr(common, "out", console)
        common.print_rows((t.H_KEY, t.H_RECIPIENT, t.H_ADDRESS, t.H_PDF), rows, whole=(0,))
        return buffer.getvalue()

    return show


LETTER = (KEY, "Peter de Jong", "Oudegracht 112, 3511 AX  Utrecht", f"/tmp/letters/{KEY}.pdf")


@pytest.mark.parametrize("width", [20, 40, 60, 80, 120, 200])
def test_a_letters_key_is_printed_whole_at_any_width(printed: Any, width: int) -> None:
    text = printed(width, [LETTER, (KEY.replace("23", "24"), "[b]x[/b]", "", "")])
    assert "…" not in text
    words = text.replace("│", " ").replace(":", " ").split()
    assert KEY in words, text
    assert KEY.replace("23", "24") in words, text
    assert "[b]x[/b]" in text  # a value is shown as it is, never read as markup


def test_a_wide_terminal_gets_a_table_and_a_narrow_one_lines(printed: Any) -> None:
    assert "┃" in printed(120, [LETTER])
    narrow = printed(40, [LETTER, LETTER])
    assert "┃" not in narrow
    key, recipient = t.H_KEY(common.lang()), t.H_RECIPIENT(common.lang())
    assert narrow.splitlines()[:2] == [f"{key}: {KEY}", f"{recipient}: Peter de Jong"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+asyncpg://postgres:secret@127.0.0.1:5432/postgres",
            "postgresql+asyncpg://postgres:***@127.0.0.1:5432/postgres",
        ),
        (
            "postgresql+asyncpg://klasbot@db/klasbot?password=secret&ssl=require",
            "postgresql+asyncpg://klasbot@db/klasbot?ssl=require",
        ),
        (
            "sqlite+aiosqlite:///./klasbot-data/klasbot.db",
            "sqlite+aiosqlite:///./klasbot-data/klasbot.db",
        ),
    ],
)
def test_a_database_is_named_without_its_password(url: str, shown: str) -> None:
    assert database_name(url) == shown
