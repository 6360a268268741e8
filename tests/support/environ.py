"""The configuration of a klasbot whose files all live in one test directory."""

from __future__ import annotations

from pathlib import Path


def local_environ(
    directory: Path, database_url: str | None = None, **settings: str
) -> dict[str, str]:
    """KLASBOT_* variables: the database (SQLite in `directory` by default), console transcripts,
    mail outbox and letters under `directory`, plus `settings`."""
    return {
        "KLASBOT_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{directory / 'klasbot.db'}",
        "KLASBOT_DATA_DIR": str(directory / "data"),
        "KLASBOT_MAIL__OUTBOX_DIR": str(directory / "outbox"),
        "KLASBOT_POST__LETTERS_DIR": str(directory / "letters"),
        "KLASBOT_SCHOOL__NAME": "De Passie Utrecht",
        **settings,
    }
