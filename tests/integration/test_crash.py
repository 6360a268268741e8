"""The dispatcher process is killed (SIGKILL) in the middle of a batch of thousands of e-mails,
and started again until it is done: every pupil ends up with exactly one message, counted by
Message-ID at a real SMTP server (aiosmtpd on loopback), on SQLite and PostgreSQL.

What a kill may cost is the documented window of `bot.dispatch`: the messages the server had
accepted when the process died, before the outbox recorded them, go out again (with the same
Message-ID). The dispatcher sends over `mail.connections` connections at once and records what
was accepted in small batches, holding a connection back while
`MAIL_UNRECORDED_PER_CONNECTION` per connection wait to be recorded: so a kill resends at most
`connections x (MAIL_UNRECORDED_PER_CONNECTION + 1)` messages, and no pupil ever gets two
different messages.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.email.render import MailRenderer
from adapters.email.smtp import SmtpMailer
from adapters.oneroster.reader import read_roster
from bot import bootstrap
from bot.clock import FrozenClock
from bot.dispatch.dispatcher import MAIL_UNRECORDED_PER_CONNECTION
from bot.domain import AnnouncementDraft, DeliveryStatus
from bot.notices import AnnouncementNotice
from bot.ports import MailMessage
from bot.usecases import announcing, queries
from bot.usecases import roster as roster_uc
from tests.conftest import DEMO_NOW, make_settings
from tests.support.processes import KLASBOT, process_env, run_klasbot
from tests.support.rosters import big_class, pupil_address
from tests.support.smtp import SmtpSink, duplicates, free_port, read_log

PUPILS = 2500
KILL_AT = (300, 900, 1600)  # messages at the server when the next kill comes
LEASE = 3.0
CONNECTIONS = 4
IN_FLIGHT = CONNECTIONS * (MAIL_UNRECORDED_PER_CONNECTION + 1)
"""The most messages one kill can leave accepted and unrecorded."""


class Dispatchers:
    """Starts `python -m bot dispatch` processes against one database and one SMTP server, with
    a clock that runs on across restarts (KLASBOT_NOW is where each process's clock starts)."""

    def __init__(self, tmp_path: Path, database_url: str, smtp_port: int) -> None:
        self.tmp = tmp_path
        self.started = time.monotonic()
        self.env = process_env(
            tmp_path,
            database_url,
            KLASBOT_SCHOOL__NAME="Veenlanden College",
            KLASBOT_MAIL__TRANSPORT="smtp",
            KLASBOT_MAIL__SMTP_HOST="127.0.0.1",
            KLASBOT_MAIL__SMTP_PORT=str(smtp_port),
            KLASBOT_DISPATCH__LEASE_SECONDS=str(LEASE),
            KLASBOT_MAIL__CONNECTIONS=str(CONNECTIONS),
        )
        self.runs = 0

    def _env(self) -> dict[str, str]:
        now = DEMO_NOW + timedelta(seconds=time.monotonic() - self.started)
        return {**self.env, "KLASBOT_NOW": now.isoformat()}

    def _log(self) -> Path:
        self.runs += 1
        return self.tmp / f"dispatch-{self.runs}.log"

    def start(self) -> subprocess.Popen[bytes]:
        """`klasbot dispatch`: runs until it is killed."""
        with self._log().open("wb") as log:
            return subprocess.Popen(
                [*KLASBOT, "dispatch"],
                env=self._env(),
                cwd=self.tmp,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def once(self) -> subprocess.CompletedProcess[str]:
        """`klasbot dispatch --once`: drains what is due and exits."""
        return run_klasbot(self._env(), "dispatch", "--once", cwd=self.tmp)


async def test_sigkill_mid_batch_then_restart_delivers_every_message_once(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url)
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings, clock=FrozenClock(DEMO_NOW)) as app:
        await roster_uc.import_roster(
            app.ctx, read_roster(big_class(PUPILS).write(tmp_path / "export"))
        )
        result = await announcing.announce(
            app.ctx,
            AnnouncementDraft("6G", "t-1", "reminder", text="Neem morgen je gymspullen mee."),
        )
        aid = result.announcement.id
        assert result.counts["email"] == PUPILS

        with SmtpSink() as sink:
            dispatchers = Dispatchers(tmp_path, database_url, sink.port)
            kills: list[int] = []
            for target in KILL_AT:
                proc = dispatchers.start()
                deadline = time.monotonic() + 60
                while sink.count() < target:
                    assert proc.poll() is None, (
                        tmp_path / f"dispatch-{dispatchers.runs}.log"
                    ).read_text()
                    assert time.monotonic() < deadline, f"only {sink.count()} messages after 60 s"
                    await asyncio.sleep(0.005)
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                kills.append(sink.count())
            assert kills[-1] < PUPILS, "the batch was over before the last kill"

            # Started again after the lease until nothing is left.
            for _ in range(5):
                await asyncio.sleep(LEASE + 0.5)
                dispatchers.once()
                pending = [
                    d
                    for d in await queries.deliveries(app.ctx, aid)
                    if d.status != DeliveryStatus.SENT
                ]
                if not pending:
                    break
            else:
                pytest.fail(f"{len(pending)} deliveries still pending")
            receipts = sink.receipts()

        deliveries = await queries.deliveries(app.ctx, aid)

    # Every pupil: one delivery, sent, and exactly one distinct message at the server.
    assert len(deliveries) == PUPILS
    assert all(d.status == DeliveryStatus.SENT for d in deliveries)
    by_rcpt: dict[str, set[str | None]] = {}
    for r in receipts:
        for rcpt in r.recipients:
            by_rcpt.setdefault(rcpt, set()).add(r.message_id)
    expected = {
        pupil_address(int(d.pupil_id[2:])): {f"<{d.idempotency_key}@klasbot>"} for d in deliveries
    }
    assert by_rcpt == expected
    # A copy of the same Message-ID only from the messages in flight at a kill.
    extra = duplicates(receipts)
    assert len(receipts) == PUPILS + extra
    assert extra <= len(kills) * IN_FLIGHT
    print(
        f"\n{database_url.split(':')[0]}: {PUPILS} pupils, killed at {kills} messages, "
        f"{len(receipts)} received, {extra} resent in the crash window "
        f"(at most {len(kills) * IN_FLIGHT})"
    )


def test_recording_server_as_a_process(tmp_path: Path) -> None:
    """`python -m tests.support.smtp` logs what it accepts to a file another process reads."""
    port, log = free_port(), tmp_path / "accepted.jsonl"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.smtp",
            "--port",
            str(port),
            "--log",
            str(log),
            "--refuse",
            "weg@example.org=550 5.1.1 No such user",
        ],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == f"ready {port}"
        mailer = SmtpMailer(
            host="127.0.0.1",
            port=port,
            clock=lambda: DEMO_NOW,
            timeout=5,
            renderer=MailRenderer(
                school_name="Veenlanden College", from_address="bot@veen.example", reply_to=None
            ),
        )

        def mail(n: int, to: str) -> MailMessage:
            notice = AnnouncementNotice(
                announcement_id=n,
                class_code="6G",
                kind="reminder",
                kind_title="Herinnering",
                body="Gymspullen mee.",
                signature="— K. Smit",
                school_name="Veenlanden College",
                pupil_name="Iris",
                pupil_full_name="Iris de Wit",
                recipient_name="Iris",
                audience="pupil",
                reason="no-group",
            )
            return MailMessage(to=(to,), notice=notice, message_id=f"<m{n}@klasbot>")

        results = asyncio.run(
            mailer.send(
                [mail(1, "a@example.org"), mail(2, "weg@example.org"), mail(1, "a@example.org")]
            )
        )
        assert results[0] is None
        assert results[2] is None
        assert results[1] is not None
        assert "550" in str(results[1])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
        server.stdout.close()  # type: ignore[union-attr]
    assert server.returncode == 0
    receipts = read_log(log)
    assert [(r.message_id, r.recipients) for r in receipts] == [
        ("<m1@klasbot>", ("a@example.org",))
    ] * 2
    assert duplicates(receipts) == 1
