"""What every command shares: the Typer apps, the consoles, loading the configuration, running a
use case with one-line refusals, and speaking the school's language."""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import typer

from bot.cli import texts as t
from bot.errors import NotFound
from bot.i18n import DEFAULT_LANGUAGE, Msg

# Parsing a command line, and `--help`, need Typer and the texts only: what a command uses (the
# app, the configuration, the database, rich, asyncio) is imported when it runs, so that
# `klasbot --help` starts in a fraction of the time (tests/unit/test_cli_imports.py, bench/cli.py).
if TYPE_CHECKING:
    import asyncio
    from datetime import datetime

    from rich.console import Console
    from rich.table import Table

    from bot import bootstrap
    from config.settings import Settings

clicks = importlib.import_module(typer.BadParameter.__module__)
"""click's exceptions as typer raises them: typer vendors click from 0.2x on (and used click itself
before), so they are taken from the module of typer's public `BadParameter`, whichever it is."""
ClickError = Any
"""A `clicks.ClickException` (a class looked up at run time cannot annotate)."""
click_globals = importlib.import_module(clicks.__name__.rpartition(".")[0] + ".globals")
"""click's `get_current_context`, from the same click as `clicks`."""

T = TypeVar("T")

JSON_HELP = "Print machine-readable JSON on standard output instead."
"""The help of every command's `--json` flag."""
MAX_ID = 2**63 - 1
"""The largest id a row can have: SQLite's and PostgreSQL's integers are 64-bit signed."""
USAGE_EXIT = 2
"""The exit code of a command line that is malformed or out of range (click's, for every case)."""

app = typer.Typer(
    name="klasbot",
    help="klasbot: class group apps inside the school's social-media protocol.",
    no_args_is_help=True,
    add_completion=False,
    # Plain help (no Rich boxes): flags read as flags, and a usage error is one line (main_entry).
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
roster_app = typer.Typer(help="Roster import (OneRoster CSV).", no_args_is_help=True)
groups_app = typer.Typer(help="Class groups and how they are bound.", invoke_without_command=True)
invites_app = typer.Typer(help="One-time codes that link accounts.", no_args_is_help=True)
letters_app = typer.Typer(help="Printed letters waiting for the office.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(roster_app, name="roster")
app.add_typer(groups_app, name="groups")
app.add_typer(invites_app, name="invites")
app.add_typer(letters_app, name="letters")


class _LazyConsole:
    """A rich `Console` made on first use: rich is imported by the commands that print, not by
    `--help` or a usage error."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def real(self) -> Console:
        """The console itself, for code that keeps it (a progress bar, the demo)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def real_console(console: Console) -> Console:
    """`console` itself when it is made on first use (`out`, `err`), else `console`."""
    return console.real if isinstance(console, _LazyConsole) else console


class _Lazy:
    """`module`'s attribute `name` (or `module` itself), imported on first use."""

    def __init__(self, module: str, name: str | None) -> None:
        self._module = module
        self._name = name

    def _target(self) -> Any:
        found = importlib.import_module(self._module)
        return found if self._name is None else getattr(found, self._name)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._target(), attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._target()(*args, **kwargs)


def lazy(module: str, name: str | None = None) -> Any:
    """`module` (or its function or class `name`) for a command module that names it at module
    level, imported when it is first called or one of its attributes is read: `--help` does not
    import what the commands run (the dispatcher, the use cases). Annotations take the real
    thing from an `if TYPE_CHECKING:` import."""
    return _Lazy(module, name)


out = cast("Console", _LazyConsole(highlight=False, soft_wrap=True))
err = cast("Console", _LazyConsole(stderr=True, highlight=False, soft_wrap=True))

_state: dict[str, Any] = {"config": None, "settings": None, "audited": False}


def lang() -> str:
    """The school's language once the configuration is loaded (Dutch before that)."""
    loaded: Settings | None = _state["settings"]
    return loaded.school.language if loaded else DEFAULT_LANGUAGE


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"klasbot: {message}", markup=False)
    raise typer.Exit(code)


def refuse(msg: Msg, /, **params: Any) -> NoReturn:
    fail(msg(lang(), **params))


def say(msg: Msg, /, **params: Any) -> None:
    """A line for the admin on standard error (standard output stays for results)."""
    err.print(msg(lang(), **params), markup=False)


def table(*headings: Msg) -> Table:
    from rich.table import Table

    return Table(*(h(lang()) for h in headings))


NARROWEST = 8
"""The fewest characters a column of a table keeps next to one that is never shortened."""


def print_rows(
    headings: Sequence[Msg], rows: Sequence[Sequence[str]], *, whole: Sequence[int]
) -> None:
    """Rows on standard output as a table whose `whole` columns hold what the admin types back
    (a letter's key): never wrapped, never shortened, and nothing else ellipsized either. When
    the terminal is too narrow for that, every row is printed as `heading: value` lines."""
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    names = [h(lang()) for h in headings]
    widths = {i: max([cell_len(names[i]), *(cell_len(r[i]) for r in rows)]) for i in whole}
    others = len(names) - len(widths)
    if sum(widths.values()) + others * NARROWEST + 3 * len(names) + 1 > out.width:
        for n, row in enumerate(rows):
            if n:
                out.print()
            for name, value in zip(names, row, strict=True):
                out.print(f"{name}: {value}".rstrip(), markup=False)
        return
    grid = Table(*names)
    for i, column in enumerate(grid.columns):
        column.overflow = "fold"
        if i in widths:
            column.no_wrap = True
            column.min_width = widths[i]
    for row in rows:
        grid.add_row(*(Text(value) for value in row))  # a value is never read as markup
    out.print(grid)


def settings() -> Settings:
    from bot.cli import logs
    from config.settings import SECRET_KEYS, ConfigError, load_settings

    if _state["settings"] is None:
        try:
            _state["settings"] = load_settings(_state["config"])
        except ConfigError as exc:
            # The configuration is what failed: say it in the language it asks for, if it can.
            fail(exc.render(exc.lang))
        except OSError as exc:  # `--config` names a directory, an unreadable file, …
            fail(f"{exc.filename or _state['config']}: {exc.strerror or exc}")
    loaded: Settings = _state["settings"]
    logs.redactor.add(
        getattr(getattr(loaded, section), key) for section, key in sorted(SECRET_KEYS)
    )
    logs.use_format(loaded.log.format)
    return loaded


def config_path() -> Path | None:
    """The configuration file in use (`--config`, else ./klasbot.toml when present)."""
    from config.settings import DEFAULT_CONFIG_FILE

    path: Path | None = _state["config"]
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    return path


def run(factory: Callable[[bootstrap.App], Awaitable[T]], **build_kwargs: Any) -> T:
    """Build the app, run one use case, and turn the core's errors into one-line refusals.

    The first time a command that changes something gets here, its `admin-command` audit event
    is recorded before the use case runs (rule 10: who ran which command; `admin_command`)."""
    import asyncio
    import logging

    from adapters.oneroster.issues import RosterError
    from bot import bootstrap
    from bot.cli.audited import admin_command
    from bot.cli.texts import M_NO_SCHEMA, M_PLATFORM_REFUSED
    from bot.errors import DeliveryError, KlasbotError
    from bot.usecases import admin_commands
    from config.settings import ConfigError

    config = settings()
    audit = None if _state["audited"] else admin_command()
    _state["audited"] = True

    # The use case's result is handed out through `result`, not as the coroutine's: at its end
    # asyncio.run formats the main task's repr, result included (Python 3.11, SIGINT handler),
    # and a big import's changes took a fifth of a second to format.
    result: list[T] = []

    async def main() -> None:
        async with bootstrap.build(config, **build_kwargs) as built:
            if audit is not None:
                await admin_commands.record(built.ctx, audit)
            result.append(await factory(built))

    try:
        asyncio.run(main())
        return result[0]
    except KlasbotError as exc:
        fail(exc.render(lang()))
    except (RosterError, ConfigError) as exc:
        fail(exc.render(lang()))
    except DeliveryError as exc:
        refuse(M_PLATFORM_REFUSED, error=exc)
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "))
    except Exception as exc:
        # Most often a database that was never upgraded; say so instead of a traceback.
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "no such table" in text or "does not exist" in text and "relation" in text:
            refuse(M_NO_SCHEMA)
        logging.getLogger("klasbot").debug("unexpected error", exc_info=True)
        fail(f"{type(exc).__name__}: {text}")


async def known_person(a: bootstrap.App, ref: str, option: str, **audit: Any) -> None:
    """Refuse an option naming a person the roster does not have (`--as nobody` is a typo, not
    an unlinked account); the refusal is audited like every other (rule 10), with `audit`."""
    async with a.db.transaction() as tx:
        if await tx.roster.person(ref) is not None:
            return
    error = NotFound(t.M_UNKNOWN_PERSON, ref=ref, option=option)
    await a.ctx.audit_refusal(error, actor=None, **audit)
    raise error


def local_iso(instant: datetime | None) -> str | None:
    """An instant as every person reads it (tables and `--json`): school time with its offset,
    ISO 8601 (`2026-12-07T08:00:00+01:00`)."""
    from zoneinfo import ZoneInfo

    from bot import dates

    return dates.local_iso(instant, ZoneInfo(settings().school.timezone))


def emit_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def stop_on_signals() -> asyncio.Event:
    """SIGTERM (a deploy, `docker stop`) and Ctrl-C end a loop between two rounds; platforms are
    then stopped in reverse order, and what is in the outbox stays there for the next start."""
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def echo_console(chat_id: str, text: str) -> None:
    out.print(f"[{chat_id}] {text}", markup=False)


@app.callback()
def main_options(
    config: Path | None = typer.Option(
        None,
        "--config",
        metavar="FILE",
        help="TOML configuration file (default: ./klasbot.toml if present).",
    ),
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        show_default=False,
        help="Log what happens (-vv: everything).",
    ),
) -> None:
    _state["config"] = config
    _state["settings"] = None
    _state["audited"] = False
    from bot.cli import logs

    logs.configure(verbose)


class BadValue(typer.BadParameter):
    """A command-line value klasbot refuses while parsing it, with a catalogue message that is
    said in the school's language when it is shown (see `usage_line`)."""

    def __init__(self, msg: Msg, /, **params: Any) -> None:
        self.msg = msg
        self.params = params
        super().__init__(msg("en", where="", **params))


def not_blank(value: str | None) -> str | None:
    """An option's value that must say something (`--chat ""` would bind a chat without id)."""
    if value is not None and not value.strip():
        raise BadValue(t.M_BLANK_VALUE, value=value)
    return value


def parse_id(value: str) -> int:
    """A row's id: a whole number from 1 to MAX_ID, so that no id can overflow the database's
    integers (an id beyond them cannot exist, and is refused here with the range)."""
    text = str(value).strip()
    if not re.fullmatch(r"\+?\d+", text):
        raise BadValue(t.M_NOT_AN_ID, value=value, max=MAX_ID)
    digits = text.lstrip("+").lstrip("0")
    if not digits or len(digits) > len(str(MAX_ID)) or int(digits) > MAX_ID:
        raise BadValue(t.M_ID_OUT_OF_RANGE, value=value, max=MAX_ID)
    return int(digits)


def _usage_language() -> str:
    """The language of a usage error: the school's once the configuration is loaded, else the
    one the configuration asks for (the configuration is checked by the command itself)."""
    if _state["settings"] is not None:
        return lang()
    from config.settings import DEFAULT_CONFIG_FILE, asked_language

    path: Path | None = _state["config"]
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    return asked_language(path, os.environ)


def _param_name(param: Any) -> str:
    """How the admin writes a parameter: `--class` for an option, `ANNOUNCEMENT_ID` for an
    argument."""
    if param is None:
        return "?"
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    if getattr(param, "param_type_name", "") == "option" and opts:
        return str(opts[0])
    return str(getattr(param, "metavar", None) or getattr(param, "name", "?")).upper()


def _command_path(root: Any, args: Sequence[str], option: str | None) -> str:
    """`klasbot letters list`: the command of `args` that declares `option` (else the last one
    `args` name), for an error click raises without its context (an option's value)."""
    chain, command, skip = [("klasbot", root)], root, False
    for arg in args:
        if arg == "--":
            break
        if skip:
            skip = False
            continue
        if arg.startswith("-"):
            param = next((p for p in command.params if arg.split("=")[0] in p.opts), None)
            takes_value = not (getattr(param, "is_flag", False) or getattr(param, "count", False))
            skip = param is not None and "=" not in arg and takes_value
            continue
        sub = getattr(command, "commands", {}).get(arg)
        if sub is None:
            break
        chain.append((arg, sub))
        command = sub
    declares = [i for i, (_, c) in enumerate(chain) if any(option in p.opts for p in c.params)]
    end = declares[-1] if declares else len(chain) - 1
    return " ".join(name for name, _ in chain[: end + 1])


def usage_line(exc: ClickError, where: str = "klasbot") -> str:
    """One line, in the school's language, for what click found wrong with a command line;
    `where` is the command when click does not say it."""
    language = _usage_language()
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else where
    message = exc.format_message()
    if isinstance(exc, BadValue):
        problem = exc.msg(language, where=_param_name(exc.param), **exc.params)
        return t.M_USAGE_IN(language, command=command, problem=problem)
    if isinstance(exc, clicks.MissingParameter):
        return t.M_USAGE_MISSING(language, command=command, param=_param_name(exc.param))
    if isinstance(exc, clicks.NoSuchOption):
        if re.fullmatch(r"-\d+", exc.option_name):
            # `deliveries -1`: click reads a negative number as an option.
            return t.M_USAGE_NEGATIVE(language, command=command, value=exc.option_name)
        return t.M_USAGE_NO_SUCH_OPTION(language, command=command, option=exc.option_name)
    if isinstance(exc, clicks.BadOptionUsage) and "requires an argument" in message:
        return t.M_USAGE_NEEDS_VALUE(language, command=command, option=exc.option_name)
    if isinstance(exc, clicks.BadOptionUsage) and "does not take a value" in message:
        return t.M_USAGE_TAKES_NO_VALUE(language, command=command, option=exc.option_name)
    if isinstance(exc, clicks.BadParameter):
        return t.M_USAGE_BAD_VALUE(
            language, command=command, param=_param_name(exc.param), problem=exc.message
        )
    if found := re.match(r"No such command '(.+)'", message):
        return t.M_USAGE_NO_SUCH_COMMAND(language, command=command, name=found[1])
    if found := re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.+)\)", message):
        return t.M_USAGE_EXTRA(language, command=command, arguments=found[1])
    if message.startswith("Missing command"):  # `klasbot -v`: options, but no command
        return t.M_USAGE_NO_COMMAND(language, command=command)
    # click's own words, in a frame in the school's language.
    problem = " ".join(message.split()).rstrip(".") or type(exc).__name__
    return t.M_USAGE_OTHER(language, command=command, problem=problem)


def _not_utf8(args: Sequence[str]) -> str | None:
    """The first argument that is not valid UTF-8 (Python keeps such bytes as surrogates)."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return None


# click 8.2+ raises it for `no_args_is_help`; before, it printed the help and exited itself.
_NO_ARGS_IS_HELP: Any = getattr(clicks, "NoArgsIsHelpError", ())


def main_entry(args: Sequence[str]) -> int:
    """Run the command line `args`; every malformed or out-of-range input is one line on
    standard error and a non-zero exit code, never a traceback."""
    bad = _not_utf8(args)
    if bad is not None:
        err.print(t.M_USAGE_NOT_UTF8(_usage_language(), value=bad), markup=False)
        return USAGE_EXIT
    command = typer.main.get_command(app)
    try:
        result = command.main(args=list(args), prog_name="klasbot", standalone_mode=False)
    except _NO_ARGS_IS_HELP as exc:
        # `klasbot db`: a group without its command; its help, where click would put it.
        err.print(exc.format_message(), markup=False)
        return USAGE_EXIT
    except clicks.UsageError as exc:
        where = _command_path(command, args, getattr(exc, "option_name", None))
        err.print(usage_line(exc, where), markup=False)
        return USAGE_EXIT
    except clicks.ClickException as exc:
        where = _command_path(command, args, getattr(exc, "option_name", None))
        err.print(usage_line(exc, where), markup=False)
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        return 130
    return result if isinstance(result, int) else 0
