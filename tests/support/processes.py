"""Running `klasbot` as real processes from async tests (the operator's way in)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support.environ import local_environ

DEMO_ROSTER = Path(__file__).resolve().parents[2] / "config" / "demo" / "roster"
"""The bundled demo school's OneRoster export."""

KLASBOT = (sys.executable, "-m", "bot")
"""How a test starts klasbot: the installed package, as an operator's shell would."""


def process_env(tmp_path: Path, database_url: str | None = None, **settings: str) -> dict[str, str]:
    """The environment of a klasbot process with everything under `tmp_path`, outside quiet
    hours (10:00 in Amsterdam on a Monday), plus `settings` (KLASBOT_* variables). Nothing of
    the caller's own KLASBOT_* variables leaks in."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("KLASBOT_")},
        **local_environ(
            tmp_path,
            database_url,
            **{
                "KLASBOT_DISPATCH__POLL_INTERVAL": "0.5",
                "KLASBOT_NOW": "2026-11-23T10:00:00+01:00",
                **settings,
            },
        ),
    }


def run_klasbot(
    env: dict[str, str], *args: str, cwd: Path, ok: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """One CLI command to its end, from synchronous code; fails the test on a non-zero exit
    unless `ok=False`."""
    proc = subprocess.run(
        [*KLASBOT, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if ok:
        assert proc.returncode == 0, f"klasbot {' '.join(args)}: {proc.stderr}"
    return proc


def demo_school(env: dict[str, str], cwd: Path, announce: str | None = None) -> None:
    """A migrated database holding the demo school (and, with `announce`, a reminder for 2B by
    its mentor: announcement 1), through the CLI."""
    run_klasbot(env, "db", "upgrade", cwd=cwd)
    run_klasbot(env, "roster", "import", str(DEMO_ROSTER), cwd=cwd)
    if announce is not None:
        run_klasbot(
            env,
            "announce",
            *("--class", "2B", "--as", "t-devries", "--kind", "reminder", "--text", announce),
            cwd=cwd,
        )


async def klasbot(env: dict[str, str], *args: str) -> str:
    """Run one CLI command to its end; returns stdout, fails the test on a non-zero exit."""
    proc = await asyncio.create_subprocess_exec(
        *KLASBOT,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, f"klasbot {' '.join(args)}: {err.decode()}"
    return out.decode()


async def start_bot(env: dict[str, str], *options: str) -> asyncio.subprocess.Process:
    """`klasbot [OPTIONS] run` in the background; stop it with SIGTERM and `communicate()`."""
    return await asyncio.create_subprocess_exec(
        *KLASBOT,
        *options,
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait until `check()` holds; fail with `what` when it does not within `timeout`."""
    try:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}") from None
