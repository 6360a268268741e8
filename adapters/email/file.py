"""The embedded mail transport: every message becomes an `.eml` file in an outbox directory.

This is the default (`mail.transport = "file"`): it needs no mail server, and an office or a
test can open, forward or inspect the files. One file per Message-ID, so a resend after a crash
overwrites the earlier file instead of adding a second one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path

from adapters.email.render import MailRenderer, RenderError
from adapters.files import atomic_write_bytes
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.ports import MailMessage

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]")
_MAX_STEM = 120


def safe_file_stem(key: str) -> str:
    """A file name stem for `key` that is safe on every file system and unique per key.

    Keys that are already safe keep their readable form; anything that had to be changed or
    shortened gets a hash suffix, so two different keys never share a file."""
    stem = key.strip().strip("<>")
    safe = _UNSAFE.sub("_", stem).lstrip(".")[:_MAX_STEM]
    if safe != stem or not safe:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        safe = f"{safe}-{digest}" if safe else digest
    return safe


class FileMailer:
    """A `Mailer` that writes `<outbox_dir>/<safe message id>.eml` per message.

    Idempotent per `message_id`: sending the same message again replaces its file."""

    def __init__(
        self,
        outbox_dir: Path,
        renderer: MailRenderer,
        clock: Callable[[], datetime],
    ) -> None:
        self.outbox_dir = Path(outbox_dir)
        self.renderer = renderer
        self.clock = clock

    def path_for(self, message_id: str) -> Path:
        """Where the message with `message_id` is (or will be) written."""
        return self.outbox_dir / f"{safe_file_stem(message_id)}.eml"

    async def send(
        self,
        messages: Sequence[MailMessage],
        on_sent: Callable[[int], Awaitable[None]] | None = None,
    ) -> list[Exception | None]:
        """Write every message; one result per message (see `bot.ports.Mailer.send`).

        `on_sent` is not called: writing a message again replaces its file, so a resend after a
        crash cannot make a second copy.

        A message that cannot be rendered gets a PermanentDeliveryError; one that cannot be
        written (disk full, permissions) a TransientDeliveryError. Raises TransientDeliveryError
        when the outbox directory cannot be created."""
        if not messages:
            return []
        # File I/O blocks; keep it off the event loop so chat adapters stay responsive.
        return await asyncio.to_thread(self._write_all, list(messages))

    def _write_all(self, messages: list[MailMessage]) -> list[Exception | None]:
        try:
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransientDeliveryError(
                f"cannot create mail outbox {self.outbox_dir}: {exc}"
            ) from exc
        results: list[Exception | None] = []
        for message in messages:
            try:
                data = self.renderer.render_bytes(message, date=self.clock())
            except RenderError as exc:
                logger.error("mail %s cannot be rendered: %s", message.message_id, exc)
                results.append(PermanentDeliveryError(str(exc)))
                continue
            path = self.path_for(message.message_id)
            try:
                atomic_write_bytes(path, data)
            except OSError as exc:
                logger.warning("mail %s not written to %s: %s", message.message_id, path, exc)
                results.append(TransientDeliveryError(f"cannot write {path}: {exc}"))
                continue
            logger.info("mail %s written to %s", message.message_id, path)
            results.append(None)
        return results
