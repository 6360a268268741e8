"""The command line's start and `klasbot run`'s memory when idle (issue 14).

- `klasbot --help`: the wall time of the console script, the median of N runs, against a bare
  `python -c pass` (the interpreter's own start; `import typer` is shown too, the floor of any
  Typer command line). Goal: under 0.3 s.
- idle `klasbot run`: the default configuration (SQLite in a temporary directory, no chat
  platform configured, mail to files), its resident memory (VmRSS) once it has said it runs and
  settled, against a bare interpreter idling in `asyncio.run(asyncio.sleep(...))`. Goal: under
  80 MB.

Each is a child process, as the admin starts it. The children compile klasbot's modules once into
a cache directory of their own (PYTHONPYCACHEPREFIX, klasbot-bench-pycache in the system's
temporary directory, kept between runs and warmed before measuring), as an installed klasbot has
them compiled; none of the caller's KLASBOT_* variables
reaches them. "doubled" does not apply.

    .venv/bin/python -m bench --only cli          # in the suite's table
    .venv/bin/python bench/cli.py [--quick]       # the same rows on their own
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.suite import Row  # noqa: E402

HELP_GOAL = 0.3
"""Seconds: `klasbot --help`."""
RSS_GOAL = 80.0
"""MB: idle `klasbot run`."""
IDLE = "import asyncio; asyncio.run(asyncio.sleep(60))"
"""The bare interpreter idling as `klasbot run` does."""


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLASBOT_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def _klasbot() -> list[str]:
    script = Path(sys.executable).parent / "klasbot"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "bot"]


def _median_wall(command: list[str], runs: int, env: dict[str, str], cwd: Path) -> float:
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _idle_rss(
    command: list[str], env: dict[str, str], cwd: Path, settle: float, started: bool
) -> float:
    """VmRSS of `command` `settle` seconds after it said its first line on standard error
    (`klasbot run`: "running …"), or after it started (`started`: the bare interpreter)."""
    child = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        said = threading.Event()
        lines: list[str] = []

        def read() -> None:
            assert child.stderr is not None
            for line in child.stderr:
                lines.append(line)
                said.set()

        threading.Thread(target=read, daemon=True).start()
        if not started and not said.wait(120):
            raise RuntimeError(f"{' '.join(command)} said nothing in 120 s")
        time.sleep(settle)
        if child.poll() is not None:
            raise RuntimeError(f"{' '.join(command)} ended: {''.join(lines)[-500:]}")
        return _rss_mb(child.pid)
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def measure(quick: bool = False) -> list[Row]:
    runs = 5 if quick else 21
    settle = 2.0 if quick else 5.0
    klasbot = _klasbot()
    with tempfile.TemporaryDirectory(prefix="klasbot-bench-cli-") as tmp:
        where = Path(tmp)
        env = _env(Path(tempfile.gettempdir()) / "klasbot-bench-pycache")
        # Warm the module cache: the help, and every module `db upgrade` and `run` import.
        subprocess.run([*klasbot, "--help"], env=env, cwd=where, capture_output=True, check=True)
        subprocess.run(
            [*klasbot, "db", "upgrade"], env=env, cwd=where, capture_output=True, check=True
        )
        _idle_rss([*klasbot, "run"], env, where, 0.0, started=False)

        bare = _median_wall([sys.executable, "-c", "pass"], runs, env, where)
        typer = _median_wall([sys.executable, "-c", "import typer.main"], runs, env, where)
        shown = _median_wall([*klasbot, "--help"], runs, env, where)

        idle_bare = _idle_rss([sys.executable, "-c", IDLE], env, where, settle, started=True)
        idle = _idle_rss([*klasbot, "run"], env, where, settle, started=False)
    return [
        Row(
            work=f"`klasbot --help`, median of {runs} runs",
            library=f"python -c pass: {bare:.3f} s (import typer: {typer:.3f} s)",
            klasbot=f"{shown:.3f} s",
            ratio=f"{shown / bare:.2f}x time",
            goal=f"< {HELP_GOAL} s",
        ),
        Row(
            work=f"idle `klasbot run` (SQLite, no platform), {settle:.0f} s after it started",
            library=f"python idling in asyncio: {idle_bare:.1f} MB",
            klasbot=f"{idle:.1f} MB",
            ratio=f"{idle / idle_bare:.2f}x memory",
            goal=f"< {RSS_GOAL:.0f} MB",
        ),
    ]


if __name__ == "__main__":
    for row in measure(quick="--quick" in sys.argv):
        print(f"{row.work}: {row.klasbot} (bare: {row.library}; {row.ratio}; goal {row.goal})")
