"""A recording SMTP server (aiosmtpd on loopback) for delivery tests and the benchmark.

It counts what it accepted per Message-ID and per recipient, answers a chosen 4xx/5xx for chosen
recipients (at RCPT TO or at DATA), can require a login, and can be stopped and started again on
the same port ("the school's mail server is down for a while").

In a test process:

    with SmtpSink(auth=("klasbot", "geheim")) as sink:
        sink.refuse["pupil@example.org"] = "450 4.2.1 Mailbox busy"
        ...
        assert sink.duplicates() == 0

As a separate process (a dispatcher under test may be killed without taking the server along):

    python -m tests.support.smtp --port 2525 --log accepted.jsonl

prints `ready <port>` once it listens and appends one JSON line per accepted message
(`{"message_id": ..., "recipients": [...]}`), flushed at once; SIGTERM or SIGINT stops it.
`read_log(path)` reads the file back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import IO, Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["Receipt", "RecordingHandler", "SmtpSink", "free_port", "read_log"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Receipt:
    """One message the server accepted (250 after DATA)."""

    message_id: str | None
    recipients: tuple[str, ...]
    peer: tuple[Any, ...] = ()


_headers = BytesHeaderParser()


def _message_id(raw: bytes) -> str | None:
    value = _headers.parsebytes(raw).get("Message-ID")
    return str(value).strip() if value else None


@dataclass
class RecordingHandler:
    """The aiosmtpd handler: records what it accepts, refuses on request.

    `refuse` maps a recipient to the RCPT TO reply it gets (e.g. "450 4.2.1 Mailbox busy" or
    "550 5.1.1 No such user"); `reject_data` maps a recipient to the reply for DATA when the
    message is for them. `require_auth` answers 530 to MAIL FROM before a successful login.
    `stall_once` maps a recipient to (gate, reply): the first RCPT TO for it waits until the
    gate (a `threading.Event`) is set, then gets `reply`; later ones are served as usual (a
    slow server whose answer comes after the sender's lease ran out)."""

    refuse: dict[str, str] = field(default_factory=dict)
    stall_once: dict[str, tuple[threading.Event, str]] = field(default_factory=dict)
    stalled: list[str] = field(default_factory=list)
    reject_data: dict[str, str] = field(default_factory=dict)
    require_auth: bool = False
    delay: float = 0.0
    """Seconds each DATA takes (a slow server: work in flight for a while)."""
    log: IO[str] | None = None
    received: list[Receipt] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (recipient, reply)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if self.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self._lock:
            stall = self.stall_once.pop(address, None)
        if stall is not None:
            gate, reply = stall
            with self._lock:
                self.stalled.append(address)
            while not gate.is_set():
                await asyncio.sleep(0.01)
            with self._lock:
                self.refused.append((address, reply))
            return reply
        reply = self.refuse.get(address)
        if reply is not None:
            with self._lock:
                self.refused.append((address, reply))
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        for rcpt in envelope.rcpt_tos:
            reply = self.reject_data.get(rcpt)
            if reply is not None:
                with self._lock:
                    self.refused.append((rcpt, reply))
                return reply
        receipt = Receipt(
            _message_id(envelope.original_content or envelope.content),
            tuple(envelope.rcpt_tos),
            tuple(session.peer or ()),
        )
        with self._lock:
            self.received.append(receipt)
            if self.log is not None:
                self.log.write(
                    json.dumps({"message_id": receipt.message_id, "recipients": receipt.recipients})
                    + "\n"
                )
                self.log.flush()
        return "250 OK queued"

    # -- what arrived ------------------------------------------------------------------------

    def receipts(self) -> list[Receipt]:
        with self._lock:
            return list(self.received)


def message_ids(receipts: list[Receipt]) -> Counter[str | None]:
    """How many times each Message-ID arrived."""
    return Counter(r.message_id for r in receipts)


def by_recipient(receipts: list[Receipt]) -> dict[str, Counter[str | None]]:
    """Per recipient address: how many times each Message-ID reached it."""
    out: dict[str, Counter[str | None]] = {}
    for r in receipts:
        for rcpt in r.recipients:
            out.setdefault(rcpt, Counter())[r.message_id] += 1
    return out


def duplicates(receipts: list[Receipt]) -> int:
    """Receipts beyond the first of each Message-ID."""
    return sum(n - 1 for n in message_ids(receipts).values())


def read_log(path: Path) -> list[Receipt]:
    """The receipts a `python -m tests.support.smtp --log` server wrote (complete lines only)."""
    out = []
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
        except json.JSONDecodeError:  # a line being written right now
            continue
        out.append(Receipt(data["message_id"], tuple(data["recipients"])))
    return out


class SmtpSink:
    """An SMTP server on 127.0.0.1:`port` running in a thread of this process.

    `auth=(user, password)` offers AUTH (in the clear: loopback, no TLS) and refuses mail before
    a successful login. `stop()` and `start()` again keep the port and what was received."""

    def __init__(
        self,
        port: int | None = None,
        *,
        auth: tuple[str, str] | None = None,
        handler: RecordingHandler | None = None,
    ) -> None:
        self.port = port or free_port()
        self.auth = auth
        self.handler = handler or RecordingHandler(require_auth=auth is not None)
        self._controller: Controller | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> SmtpSink:
        if self._controller is not None:
            return self
        extra: dict[str, Any] = {}
        if self.auth is not None:
            extra = {"authenticator": self._authenticate, "auth_require_tls": False}
        controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **extra)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    def restart(self) -> SmtpSink:
        self.stop()
        return self.start()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert self.auth is not None
        user, password = self.auth
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(),
            password.encode(),
        )
        # handled=False: aiosmtpd answers 235 or 535 itself.
        return AuthResult(success=ok, handled=False)

    # -- shortcuts to the handler --------------------------------------------------------------

    @property
    def refuse(self) -> dict[str, str]:
        return self.handler.refuse

    @property
    def reject_data(self) -> dict[str, str]:
        return self.handler.reject_data

    def receipts(self) -> list[Receipt]:
        return self.handler.receipts()

    def message_ids(self) -> Counter[str | None]:
        return message_ids(self.receipts())

    def by_recipient(self) -> dict[str, Counter[str | None]]:
        return by_recipient(self.receipts())

    def duplicates(self) -> int:
        return duplicates(self.receipts())

    def count(self) -> int:
        return len(self.handler.received)


# -- as a process --------------------------------------------------------------------------------


async def _serve(
    port: int, log_path: Path | None, auth: tuple[str, str] | None, refuse: dict[str, str]
) -> None:
    log = log_path.open("a", encoding="utf-8") if log_path else None
    try:
        handler = RecordingHandler(refuse=refuse, require_auth=auth is not None, log=log)
        sink = SmtpSink(port, auth=auth, handler=handler)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        sink.start()
        print(f"ready {sink.port}", flush=True)
        try:
            await stop.wait()
        finally:
            sink.stop()
    finally:
        if log is not None:
            log.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.smtp", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    parser.add_argument("--log", type=Path, help="append one JSON line per accepted message")
    parser.add_argument("--auth", help="USER:PASSWORD: require this login")
    parser.add_argument(
        "--refuse",
        action="append",
        default=[],
        metavar="ADDRESS=REPLY",
        help='e.g. "weg@example.org=550 5.1.1 No such user" (repeatable)',
    )
    args = parser.parse_args(argv)
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    refuse = dict(item.split("=", 1) for item in args.refuse)
    asyncio.run(_serve(args.port or free_port(), args.log, auth, refuse))  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
