"""File output shared by the adapters that write for people to open: the `.eml` outbox
(`adapters.email.file`) and the printed letters (`adapters.post.pdf`)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` so that a reader sees either the old file or the complete new one.

    The bytes go to a hidden temporary file in the same directory (`.<name>.<random>.tmp`), are
    flushed to disk and then renamed over `path`; a crash mid-write leaves at most that temporary
    file, never a truncated one. The directory must exist. Raises OSError when the file cannot be
    written (the temporary file is removed again)."""
    target = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _sync_directory(target.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable where the platform allows it (best effort)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
