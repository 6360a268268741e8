"""What every command shares: the Typer apps, the consoles, loading the configuration, running a
use case with one-line refusals, and speaking the school's language."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from adapters.oneroster.issues import RosterError
from bot import bootstrap
from bot.cli import logs
from bot.cli.texts import M_NO_SCHEMA, M_PLATFORM_REFUSED
from bot.errors import DeliveryError, KlasbotError
from bot.i18n import DEFAULT_LANGUAGE, Msg
from config.settings import SECRET_KEYS, ConfigError, Settings, load_settings

T = TypeVar("T")

app = typer.Typer(
    name="klasbot",
    help="klasbot: class group apps inside the school's social-media protocol.",
    no_args_is_help=True,
    add_completion=False,
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

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

_state: dict[str, Any] = {"config": None, "settings": None}


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
    return Table(*(h(lang()) for h in headings))


def settings() -> Settings:
    if _state["settings"] is None:
        try:
            _state["settings"] = load_settings(_state["config"])
        except ConfigError as exc:
            # The configuration is what failed: say it in the language it asks for, if it can.
            fail(exc.render(exc.lang))
    loaded: Settings = _state["settings"]
    logs.redactor.add(
        getattr(getattr(loaded, section), key) for section, key in sorted(SECRET_KEYS)
    )
    return loaded


def run(factory: Callable[[bootstrap.App], Awaitable[T]], **build_kwargs: Any) -> T:
    """Build the app, run one use case, and turn the core's errors into one-line refusals."""
    config = settings()

    async def main() -> T:
        async with bootstrap.build(config, **build_kwargs) as built:
            return await factory(built)

    try:
        return asyncio.run(main())
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


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def stop_on_signals() -> asyncio.Event:
    """SIGTERM (a deploy, `docker stop`) and Ctrl-C end a loop between two rounds; platforms are
    then stopped in reverse order, and what is in the outbox stays there for the next start."""
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
        None, "--config", help="TOML configuration file (default: ./klasbot.toml if present)."
    ),
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="Log what happens (-vv: everything)."
    ),
) -> None:
    _state["config"] = config
    _state["settings"] = None
    logs.configure(verbose)
