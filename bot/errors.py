"""The core's error types. Adapters translate their own errors into these at the boundary."""

from __future__ import annotations

from typing import Any

from bot.i18n import LocalizedMixin, Msg


class KlasbotError(LocalizedMixin, Exception):
    """Base of every error the core raises on purpose; its message is meant for a person.

    `str(error)` is the Dutch text; `error.render("en")` the English one."""

    def __init__(self, msg: Msg, /, **params: Any) -> None:
        self.msg = msg
        self.params = params
        super().__init__(msg("nl", **params))


class RuleViolation(KlasbotError):
    """A request that the protocol forbids. `rule` names the protocol article it enforces and
    `code` is a stable, machine-readable name of the refusal (for logs and the dossier)."""

    def __init__(self, msg: Msg, /, *, rule: str, code: str, **params: Any) -> None:
        super().__init__(msg, **params)
        self.rule = rule
        self.code = code


class InvalidInput(KlasbotError):
    """A command, option or value that is malformed; the message says what and gives an example."""


class NotFound(KlasbotError):
    pass


class Ambiguous(KlasbotError):
    pass


class DeliveryError(Exception):
    """Raised by a channel adapter when a message could not be delivered."""


class TransientDeliveryError(DeliveryError):
    """Try again later; `retry_after` (seconds) is the peer's own wish when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help; the core re-routes the pupil to the next fallback channel.

    `reason` says why, in the words of the delivery report: "blocked" (the person blocked the
    bot or left the platform), "group-lost" (the bot was removed from the group), "bounced"
    (the mail server refused the address for good)."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
