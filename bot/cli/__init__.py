"""`klasbot` — the admin's and the scripts' interface (Typer over the use cases).

Every command exits non-zero with a one-line reason on bad input; `--json` prints
machine-readable output on stdout; everything else is said in the school's language.
"""

from __future__ import annotations

import sys

from bot.cli import (  # noqa: F401  (they register their commands)
    announce,
    delivery,
    doctor,
    dossier,
    holidays,
    invites,
    privacy,
    reports,
    roster,
    schedule,
    undo,
)
from bot.cli.common import app, main_entry

__all__ = ["app", "main"]


def main() -> None:
    sys.exit(main_entry(sys.argv[1:]))
