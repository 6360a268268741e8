"""Interfaces the core owns. Adapters implement them; the core never imports an adapter.

Each channel port only *sends*; a chat platform also manages membership. Every method documents
what it raises. Channel methods raise only `TransientDeliveryError` or `PermanentDeliveryError`
for delivery problems; the retry policy lives in the core (`bot.dispatch`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.domain import Address


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


@dataclass(frozen=True, slots=True)
class PlatformCapabilities:
    """What a chat platform can do, declared up front instead of failing at run time."""

    min_age: int = 13
    can_delete_messages: bool = True
    can_remove_members: bool = True
    html: bool = False


@dataclass(frozen=True, slots=True)
class GroupMessage:
    chat_id: str
    text: str
    html: str | None = None
    idempotency_key: str = ""


class ChatPlatform(Protocol):
    """A chat platform the bot runs class groups on. Membership changes are requested here and
    reported back to the core by the adapter (see `bot.service.Klasbot.member_joined`)."""

    name: str
    capabilities: PlatformCapabilities

    async def post(self, message: GroupMessage) -> str:
        """Post in a group; returns the platform's message id.

        Raises TransientDeliveryError (rate limit, network) or PermanentDeliveryError (the bot
        was removed, the chat is gone)."""
        ...

    async def admit(self, chat_id: str, account_id: str) -> bool:
        """Let a linked, eligible person into the group (approve, invite or add).

        Returns True when they are a member now, False when the platform will tell us later
        (an invite sent, a join request awaited). Idempotent."""
        ...

    async def remove(self, chat_id: str, account_id: str, reason: str) -> None:
        """Remove someone who may not be in the group (rule 2). Idempotent; never raises for a
        person who is already gone."""
        ...


@dataclass(frozen=True, slots=True)
class MailMessage:
    """An e-mail to render and send. The adapter renders `template` (Jinja2, in `lang`) with
    `context`; the core never formats mail itself. `message_id` is the delivery's idempotency key
    and becomes the RFC 5322 Message-ID, so a resend after a crash is recognisable."""

    to: tuple[str, ...]
    template: str  # "announcement", "invite", "report", "unreachable"
    context: dict[str, Any]
    message_id: str
    lang: str = "nl"
    reply_to: str | None = None


class Mailer(Protocol):
    async def send(
        self,
        messages: Sequence[MailMessage],
        on_sent: Callable[[int], Awaitable[None]] | None = None,
    ) -> list[Exception | None]:
        """Send a batch (one connection for all of it where the transport has connections).

        A transport whose resend would make a second copy awaits `on_sent(index)` as soon as the
        peer accepted message `index`, so the caller records it before the next one goes out
        (this narrows the crash window to one message).

        Returns one entry per message: None when accepted, else the TransientDeliveryError or
        PermanentDeliveryError that message met. Raises TransientDeliveryError when the whole
        batch could not be attempted (server down, login failed)."""
        ...


@dataclass(frozen=True, slots=True)
class LetterItem:
    """One announcement (or invite) for one pupil inside a household's letter."""

    pupil_name: str
    title: str
    body: str
    signature: str


@dataclass(frozen=True, slots=True)
class Letter:
    key: str  # the household and the day: one letter per household per day
    recipient_name: str
    address: Address
    items: tuple[LetterItem, ...]
    date_text: str


class LetterPrinter(Protocol):
    def render(self, letter: Letter) -> str:
        """Write the letter as a PDF and return its path. Idempotent per `letter.key`."""
        ...
