"""The SMTP mail transport (aiosmtplib), with STARTTLS or implicit TLS and login when configured.

How SMTP outcomes map onto the core's delivery errors (the retry policy itself lives in
`bot.dispatch`):

| what happened                                        | result                                |
|------------------------------------------------------|---------------------------------------|
| cannot connect, TLS fails, greeting refused, timeout | TransientDeliveryError *raised* when  |
|                                                      | nothing of this call was attempted    |
| login refused (535 …) or AUTH not offered            | the same, with a message that names   |
|                                                      | the user and says to check the        |
|                                                      | credentials                           |
| connection dropped mid-batch                         | reconnect once per batch and resend   |
|                                                      | the interrupted message; if it drops  |
|                                                      | again: TransientDeliveryError for the |
|                                                      | rest of the batch                     |
| read timeout during a message                        | TransientDeliveryError for it         |
| 4xx for a message (greylisting, mailbox full, …)     | TransientDeliveryError for it         |
| 5xx for the message (DATA refused, size) or for all  | PermanentDeliveryError for it: the    |
| of its recipients (unknown user)                     | core moves the pupil to the next      |
|                                                      | fallback                              |
| 5xx for some recipients only                         | sent (None); the refusals are logged  |
| 5xx for our sender address (MAIL FROM), except 552   | TransientDeliveryError: a             |
|                                                      | configuration error of the school,    |
|                                                      | not of this recipient — e-mail must   |
|                                                      | not silently turn into letters        |
| message cannot be rendered / malformed address       | PermanentDeliveryError for it         |

A login failure is a configuration error that retrying will not fix soon, but it must not lose
mail either: it is raised as TransientDeliveryError for the whole batch, so every delivery stays
pending and the dispatcher shows the admin the message (which names the server and user, never
the password). Once the credentials are fixed, the pending mail goes out.

After the first message of a call has been attempted, the call never raises: later connection
failures become per-message TransientDeliveryErrors, so messages already accepted by the server
are reported as sent and never resent.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Literal

import aiosmtplib

from adapters.email.render import MailRenderer, RenderError
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.ports import MailMessage

logger = logging.getLogger(__name__)

OnSent = Callable[[int], Awaitable[None]]

Security = Literal["none", "starttls", "tls"]
_SECURITY: tuple[str, ...] = ("none", "starttls", "tls")
_SIZE_EXCEEDED = 552


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


def _log_reason(exc: Exception) -> str:
    """What a log line says of a refusal: the SMTP codes, never the addresses it names (a
    server's reply often repeats the recipient's)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "recipients refused (" + ", ".join(str(r.code) for r in exc.recipients) + ")"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.code}"
    return type(exc).__name__


def classify(exc: Exception) -> TransientDeliveryError | PermanentDeliveryError:
    """Translate an error met while sending one message (see the module's table)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        replies = "; ".join(f"{r.recipient}: {_reply(r)}" for r in exc.recipients)
        if exc.recipients and all(r.code >= 500 for r in exc.recipients):
            return PermanentDeliveryError(f"all recipients refused: {replies}")
        return TransientDeliveryError(f"recipients refused for now: {replies}")
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        if exc.code == _SIZE_EXCEEDED:
            return PermanentDeliveryError(f"message too large: {_reply(exc)}")
        return TransientDeliveryError(
            f"the SMTP server refused the sender {exc.sender!r} ({_reply(exc)}); "
            "check mail.from and whether the server requires a login"
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if 500 <= exc.code < 600:
            return PermanentDeliveryError(f"refused by the SMTP server: {_reply(exc)}")
        return TransientDeliveryError(f"SMTP server said: {_reply(exc)}")
    if isinstance(exc, aiosmtplib.SMTPNotSupported | ValueError | RenderError):
        # E.g. an address that needs SMTPUTF8 on a server without it, or a malformed address.
        return PermanentDeliveryError(f"cannot send this message: {exc}")
    return TransientDeliveryError(f"SMTP error: {exc}")


class SmtpMailer:
    """A `Mailer` over SMTP. One connection per batch of up to `batch_size` messages.

    `reuse_connection=False` opens one connection per message instead (only for benchmarks and
    servers that misbehave on long sessions)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        renderer: MailRenderer,
        clock: Callable[[], datetime],
        username: str | None = None,
        password: str | None = None,
        security: Security = "none",
        timeout: float = 30.0,
        batch_size: int = 100,
        reuse_connection: bool = True,
        local_hostname: str | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in _SECURITY:
            raise ValueError(f"security must be one of {', '.join(_SECURITY)}, not {security!r}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.host = host
        self.port = port
        self.renderer = renderer
        self.clock = clock
        self.username = username
        self._password = password
        self.security = security
        self.timeout = timeout
        self.batch_size = batch_size
        self.reuse_connection = reuse_connection
        self.local_hostname = local_hostname
        self.tls_context = tls_context
        self.connections_opened = 0  # for diagnostics and the benchmark

    def __repr__(self) -> str:  # never show the password
        return f"SmtpMailer({self.host}:{self.port}, security={self.security})"

    async def send(
        self, messages: Sequence[MailMessage], on_sent: OnSent | None = None
    ) -> list[Exception | None]:
        """Send `messages`; one result per message, in order (see `bot.ports.Mailer.send`).

        `on_sent(index)` is awaited as soon as the server has accepted message `index`, so the
        caller can record it before the next one goes out. Raises TransientDeliveryError when
        nothing could be attempted: the server is unreachable or the login failed."""
        results: list[Exception | None] = []
        for start in range(0, len(messages), self.batch_size):
            batch = messages[start : start + self.batch_size]
            results.extend(
                await self._send_batch(batch, may_raise=not results, offset=start, on_sent=on_sent)
            )
        return results

    async def _connect(self) -> aiosmtplib.SMTP:
        """An open (and, when configured, logged-in) connection. Raises TransientDeliveryError."""
        smtp = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            use_tls=self.security == "tls",
            # Explicit False: aiosmtplib's default would try STARTTLS whenever it is offered.
            start_tls=self.security == "starttls",
            local_hostname=self.local_hostname,
            tls_context=self.tls_context,
        )
        where = f"{self.host}:{self.port}"
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            smtp.close()
            raise TransientDeliveryError(f"cannot connect to SMTP server {where}: {exc}") from exc
        self.connections_opened += 1
        if self.username is not None:
            try:
                await smtp.login(self.username, self._password or "")
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                smtp.close()
                reason = _reply(exc) if isinstance(exc, aiosmtplib.SMTPResponseException) else exc
                logger.error("SMTP login as %r on %s failed: %s", self.username, where, reason)
                raise TransientDeliveryError(
                    f"SMTP login as {self.username!r} on {where} failed ({reason}); check the "
                    "mail username and password (KLASBOT_MAIL__...). Mail stays queued until "
                    "the login works."
                ) from exc
        return smtp

    @staticmethod
    async def _quit(smtp: aiosmtplib.SMTP) -> None:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()

    async def _send_batch(
        self,
        batch: Sequence[MailMessage],
        *,
        may_raise: bool,
        offset: int = 0,
        on_sent: OnSent | None = None,
    ) -> list[Exception | None]:
        results: list[Exception | None] = []
        smtp: aiosmtplib.SMTP | None = None
        reconnects_left = 1
        lost = False

        def give_up(index: int, reason: str) -> list[Exception | None]:
            results.extend(TransientDeliveryError(reason) for _ in batch[index:])
            return results

        try:
            for index, message in enumerate(batch):
                try:
                    mime = self.renderer.render(message, date=self.clock())
                except RenderError as exc:
                    logger.error("mail %s cannot be rendered: %s", message.message_id, exc)
                    results.append(PermanentDeliveryError(str(exc)))
                    continue
                recipients = self.renderer.recipients(message)
                while True:
                    if smtp is not None and not smtp.is_connected:
                        smtp, lost = None, True  # the server hung up between two messages
                    if smtp is None:
                        if lost:
                            if reconnects_left == 0:
                                logger.warning("SMTP connection lost twice in one batch")
                                return give_up(index, "SMTP connection lost twice in one batch")
                            reconnects_left -= 1
                            lost = False
                        try:
                            smtp = await self._connect()
                        except TransientDeliveryError as exc:
                            if may_raise and not results:
                                raise
                            return give_up(index, str(exc))
                    try:
                        refused, _ = await smtp.send_message(
                            mime,
                            sender=self.renderer.envelope_sender,
                            recipients=recipients,
                        )
                    except aiosmtplib.SMTPServerDisconnected:
                        # Resend on a fresh connection; the Message-ID makes a rare duplicate
                        # (dropped after the server took the message) recognisable.
                        smtp.close()
                        smtp, lost = None, True
                        continue
                    except (aiosmtplib.SMTPTimeoutError, TimeoutError, OSError) as exc:
                        smtp.close()
                        smtp, lost = None, True
                        logger.warning("mail %s: %s", message.message_id, exc)
                        results.append(TransientDeliveryError(f"SMTP connection failed: {exc}"))
                        break
                    except (aiosmtplib.SMTPException, ValueError) as exc:
                        outcome = classify(exc)
                        logger.warning(
                            "mail %s not sent (%s): %s",
                            message.message_id,
                            type(outcome).__name__,
                            _log_reason(exc),
                        )
                        results.append(outcome)
                        break
                    if refused:
                        logger.warning(
                            "mail %s sent, but refused for %d recipient(s) (%s)",
                            message.message_id,
                            len(refused),
                            ", ".join(str(r.code) for r in refused.values()),
                        )
                    else:
                        logger.debug("mail %s sent", message.message_id)
                    results.append(None)
                    if on_sent is not None:
                        await on_sent(offset + index)
                    break
                if not self.reuse_connection and smtp is not None:
                    await self._quit(smtp)
                    smtp = None
        except BaseException:
            if smtp is not None:
                smtp.close()
            raise
        if smtp is not None:
            await self._quit(smtp)
        return results
