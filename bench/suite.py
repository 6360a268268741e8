"""The benchmark suite's shape: every benchmark module of `bench/` exposes

    def measure(quick: bool = False) -> list[Row]

which does its work side by side with the bare library doing the same work, in the same run, and
returns one `Row` per line of the table. `python -m bench` runs them all and prints one table
(`bench/__main__.py`); `--quick` runs each at a small size for a smoke test.

A `Row` holds figures only; the table adds nothing of its own."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Row:
    work: str
    """What was done, with its size: "roster import, 100,000 pupils (255,000 persons)"."""
    library: str
    """The bare library doing the same work, and its figure: "csv + executemany: 8.6 s, 367 MB";
    empty when there is no bare counterpart (idle RSS)."""
    klasbot: str
    """klasbot's figure for the same work: "12.1 s, 410 MB"."""
    ratio: str
    """klasbot against the library, as the goal reads it ("1.41x time, 1.12x memory"; for a
    throughput, klasbot's rate over the library's: "0.86x")."""
    goal: str = ""
    """The issue's goal for this figure ("<= 2x time, <= 1.5x memory"), empty when none."""
    doubled: str = ""
    """How the figure grows when the work doubles ("x2.05"), empty when not measured."""
