"""`python -m bench` runs the benchmarks it is asked for and prints their rows in one table (a
smoke test at the quick sizes: figures are never checked here, timings belong in bench/)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from bench.suite import Row

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ["benchmark", "work", "library", "klasbot", "ratio", "goal", "doubled"]


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_suite_runs_one_benchmark_quickly_and_prints_its_rows() -> None:
    proc = bench("--quick", "--only", "routing")
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout.splitlines()
    header = next(line for line in table if "benchmark" in line and "doubled" in line)
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")] == COLUMNS
    rows = [[cell.strip() for cell in line.strip("│ ").split("│")] for line in table]
    routing = [cells for cells in rows if cells[0] == "routing"]
    works = [cells[1] for cells in routing]
    assert any(w.startswith("route one announcement to a class of 30 pupils") for w in works)
    assert any("a year of" in w for w in works)
    for cells in routing:
        assert cells[3].startswith("announcing.announce: ")
        assert cells[4].endswith("x time")
        assert cells[6].startswith("x")
    assert "note:" not in proc.stdout


def test_an_unknown_benchmark_is_refused() -> None:
    proc = bench("--only", "no_such_benchmark")
    assert proc.returncode == 2
    assert "no_such_benchmark" in proc.stderr


def test_the_markdown_table_names_the_machine_and_escapes_its_cells() -> None:
    runner = importlib.import_module("bench.__main__")
    outcome = runner.Outcome(
        rows=[("routing", Row("a | b", "bare: 1 ms", "klasbot: 2 ms", "2.0x time", "", "x2.01"))]
    )
    lines = runner.markdown(outcome, quick=False).splitlines()
    assert lines[0].startswith("Measured on: ")
    assert "cores" in lines[0]
    assert "Python 3." in lines[0]
    assert "SQLite 3." in lines[0]
    assert "PostgreSQL" in lines[0]
    assert lines[2] == "| " + " | ".join(COLUMNS) + " |"
    assert lines[4] == "| routing | a \\| b | bare: 1 ms | klasbot: 2 ms | 2.0x time |  | x2.01 |"
