"""`python -m bench [--quick] [--only NAME ...] [--markdown]`: every benchmark of `bench/` in one
table (see `bench/suite.py` for the `measure(quick)` contract).

Every module of bench/ that exposes `measure(quick: bool = False) -> list[Row]` is run in turn,
in-process; a module that does not exist, does not import or has no such `measure` (a script run
by hand, such as bench/matrix_broadcast.py) is skipped with a note line under the table. The table
is a Rich table, or with `--markdown` a Markdown table for the README whose first line names the
machine (CPU, cores, RAM, Python, SQLite and PostgreSQL versions). Exits 1 when a benchmark raised
(its traceback goes to standard error) or a module named with `--only` could not be run.

    .venv/bin/python -m bench --quick                  # a smoke test of every benchmark
    KLASBOT_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench --markdown           # the README's table
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import logging
import os
import platform
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.suite import Row  # noqa: E402

BENCH = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"__init__", "__main__", "suite"}
ORDER = (
    "cli",
    "roster_import",
    "routing",
    "outbox",
    "delivery",
    "schedules",
    "telegram_broadcast",
    "matrix_broadcast",
    "content",
)
"""The table's order; modules not named here follow in alphabetical order."""
POSTGRES_ENV = "KLASBOT_TEST_POSTGRES_URL"
COLUMNS = ("benchmark", "work", "library", "klasbot", "ratio", "goal", "doubled")


def discover() -> list[str]:
    """The names of bench/'s modules, in the table's order."""
    found = {p.stem for p in BENCH.glob("*.py") if p.stem not in NOT_BENCHMARKS}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


@dataclass
class Outcome:
    rows: list[tuple[str, Row]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: bool = False


def load(name: str) -> Callable[..., list[Row]] | str:
    """The module's `measure`, or why it cannot be run."""
    if not (BENCH / f"{name}.py").is_file():
        return "no such module"
    try:
        module = importlib.import_module(f"bench.{name}")
    except Exception as error:  # a benchmark another helper is still writing, a missing library
        return f"does not import ({type(error).__name__}: {error})"
    measure = getattr(module, "measure", None)
    if measure is None or not callable(measure):
        return "has no measure(quick); run it as a script"
    if inspect.iscoroutinefunction(measure) or "quick" not in inspect.signature(measure).parameters:
        return "its measure() is not measure(quick: bool) -> list[Row]; run it as a script"
    return measure  # type: ignore[no-any-return]


def run(names: list[str], quick: bool, explicit: bool) -> Outcome:
    outcome = Outcome()
    for name in names:
        measure = load(name)
        if isinstance(measure, str):
            outcome.notes.append(f"note: {name} skipped: {measure}")
            outcome.failed |= explicit
            continue
        print(f"running {name}{' (quick)' if quick else ''} …", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            rows = measure(quick=quick)
            if not isinstance(rows, list) or not all(isinstance(r, Row) for r in rows):
                raise TypeError(f"measure() returned {type(rows).__name__}, not a list of Row")
        except Exception as error:
            traceback.print_exc()
            outcome.notes.append(f"note: {name} FAILED: {type(error).__name__}: {error}")
            outcome.failed = True
            continue
        outcome.rows += [(name, row) for row in rows]
        seconds = time.perf_counter() - started
        print(f"  {name}: {len(rows)} rows in {seconds:.1f} s", file=sys.stderr, flush=True)
    return outcome


# --- the machine -------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def ram_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.0f} GB RAM"
    except OSError:
        pass
    return "RAM unknown"


def postgres_version() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        return f"PostgreSQL not measured ({POSTGRES_ENV} unset)"

    async def ask() -> str:
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    try:
        return f"PostgreSQL {asyncio.run(asyncio.wait_for(ask(), 10)).split()[0]}"
    except Exception as error:
        return f"PostgreSQL unreachable ({type(error).__name__})"


def machine() -> str:
    return (
        f"{cpu_model()}, {os.cpu_count()} cores, {ram_gb()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{postgres_version()}"
    )


# --- the table ---------------------------------------------------------------------------------


def cells(name: str, row: Row) -> tuple[str, ...]:
    return (name, row.work, row.library, row.klasbot, row.ratio, row.goal, row.doubled)


def markdown(outcome: Outcome, quick: bool) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        f"Measured on: {machine()}" + (" (quick sizes: a smoke test)" if quick else ""),
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(escape(c) for c in cells(n, r)) + " |" for n, r in outcome.rows]
    return "\n".join(lines)


def rich_table(outcome: Outcome, quick: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=240, color_system=None)
    table = Table(
        title="klasbot benchmarks" + (" (quick sizes)" if quick else ""),
        caption=machine(),
        show_lines=True,
    )
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    for name, row in outcome.rows:
        table.add_row(*cells(name, row))
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these modules")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table for the README")
    args = parser.parse_args(argv)
    names = discover()
    if args.only:
        unknown = [n for n in args.only if n not in names]
        if unknown:
            parser.error(f"no benchmark module {', '.join(unknown)} (known: {', '.join(names)})")
        names = [n for n in names if n in args.only]
    logging.basicConfig(level=logging.WARNING)
    outcome = run(names, args.quick, explicit=bool(args.only))
    if args.markdown:
        print(markdown(outcome, args.quick))
    else:
        rich_table(outcome, args.quick)
    for note in outcome.notes:
        print(note)
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
