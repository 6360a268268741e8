"""Interfaces the core owns. Adapters implement them; the core never imports an adapter.

Each channel port only *sends*; a chat platform also manages membership. Every method documents
what it raises. Channel methods raise only `TransientDeliveryError` or `PermanentDeliveryError`
for delivery problems; the retry policy lives in the core (`bot.dispatch`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.domain import (
    Address,
    ClassRoster,
    Group,
)
from bot.i18n import Msg
from bot.notices import Notice

if TYPE_CHECKING:
    pass


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


@dataclass(frozen=True, slots=True)
class PlatformCapabilities:
    """What a chat platform can do, declared up front instead of failing at run time."""

    min_age: int = 13
    creates_groups: bool = True  # the bot makes the group itself (else a teacher binds one)
    binds_groups: bool = False  # a teacher may bind an existing group with /koppel
    can_delete_messages: bool = True
    can_remove_members: bool = True
    html: bool = False
    can_edit_posts: bool = False
    """The bot can change a post it made (`ChatPlatform.edit`); otherwise a withdrawal or a
    correction is posted as a new message."""
    bind_hint: Msg | None = None
    """How a teacher binds a group on this platform (`{klas}`, `{platform}`), said when the admin
    asks klasbot to create one it cannot create; None: the general words."""
    posts_in_flight: int = 1
    """How many group posts the dispatcher may have out at once whose outcome is not recorded
    yet (the adapter's rate limiter keeps them inside the platform's limits); 1: one after the
    other, each recorded before the next goes out."""


@dataclass(frozen=True, slots=True)
class GroupMessage:
    chat_id: str
    text: str
    html: str | None = None
    idempotency_key: str = ""


class ChatPlatform(Protocol):
    """A chat platform the bot runs class groups on. Membership changes are requested here and
    reported back to the core by the adapter (see `ChatCore.member_joined`)."""

    name: str
    capabilities: PlatformCapabilities

    async def post(self, message: GroupMessage, *, silent: bool = False) -> str:
        """Post in a group; returns the platform's message id. A `silent` post reaches the
        members without making their phones buzz (A.1: sent while lessons run; the core decides
        it, `SchoolPolicy.silent`): Telegram's `disable_notification`, Matrix's `m.notice`.

        Raises TransientDeliveryError (rate limit, network) or PermanentDeliveryError (the bot
        was removed, the chat is gone)."""
        ...

    async def edit(self, chat_id: str, message_id: str, message: GroupMessage) -> None:
        """Replace the text of a post the bot made (`message_id`, as `post` returned it) by
        `message`'s. Called only on a platform whose capabilities say `can_edit_posts`. Raises
        like `post`; editing to the text the post already has is not an error."""
        ...

    async def admit(self, chat_id: str, account_id: str) -> bool:
        """Let a linked, eligible person into the group (approve, invite or add).

        Returns True when they are a member now, False when the platform will tell us later
        (an invite sent, a join request awaited). Idempotent."""
        ...

    async def create_group(self, roster: ClassRoster) -> str:
        """Create the class's group and return its chat id. Called only on a platform whose
        capabilities say `creates_groups`. Raises PermanentDeliveryError when it cannot."""
        ...

    async def remove(self, chat_id: str, account_id: str, reason: str) -> None:
        """Remove someone who may not be in the group (rule 2). Idempotent; never raises for a
        person who is already gone."""
        ...


@dataclass(frozen=True, slots=True)
class MailMessage:
    """An e-mail to render and send. The adapter renders the notice's template (Jinja2, in
    `lang`) with the notice's fields; the core never formats mail itself. `message_id` is the
    delivery's idempotency key and becomes the RFC 5322 Message-ID, so a resend after a crash is
    recognisable."""

    to: tuple[str, ...]
    notice: Notice
    message_id: str
    lang: str = "nl"
    reply_to: str | None = None


class Mailer(Protocol):
    async def send(
        self,
        messages: Sequence[MailMessage],
        on_sent: Callable[[int], Awaitable[None]] | None = None,
    ) -> list[Exception | None]:
        """Send a batch (over a few connections at once where the transport has connections,
        each reused for many messages; messages may be accepted out of order).

        A transport whose resend would make a second copy awaits `on_sent(index)` as soon as the
        peer accepted message `index`, before that connection sends its next message: the
        caller records accepted messages in small batches and holds the connections back (by
        not returning yet) while too many are unrecorded, which bounds the crash window
        (`bot.dispatch.dispatcher.SentRecorder`).

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
    note: str = ""
    """Said to the reader before the body: why this comes by post (an announcement's copy)."""
    link: str | None = None
    """A link printed with its QR code after the body (an invitation's Telegram deep link)."""
    school_name: str = ""
    """The school it is from, for the letterhead; empty: the printer's own."""
    audience: str = ""
    """Whom it speaks to: "pupil" ("je" in Dutch), else the parent or the person ("u"); a
    letter whose every item speaks to the pupil speaks to the pupil too."""


@dataclass(frozen=True, slots=True)
class Letter:
    key: str  # the household and the day: one letter per household per day
    recipient_name: str
    address: Address
    items: tuple[LetterItem, ...]
    date_text: str
    lang: str | None = None
    """The language of the letter's own texts (its recipient's); None: the printer's default."""
    letterhead: tuple[str, ...] | None = None
    """The letterhead lines of the school it is from; None: the printer's own."""
    return_address: str | None = None
    """The return address of the school it is from; None: the printer's own."""


class LetterPrinter(Protocol):
    def render(self, letter: Letter) -> str:
        """Write the letter as a PDF and return its path. Idempotent per `letter.key`."""
        ...


@dataclass
class Reply:
    """What the bot answers to one incoming chat message."""

    texts: list[str] = field(default_factory=list)
    delete_original: bool = False
    admitted: list[Group] = field(default_factory=list)
    announcement_id: int | None = None
    confirmation: str | None = None
    """Set when the message was previewed: the token to confirm (or cancel) it with."""
    group: Group | None = None
    refused: bool = False
    """A confirmation or cancellation that found nothing to act on (show it as an alert)."""
    actions: list[tuple[str, str]] = field(default_factory=list)
    """Follow-up commands a platform may offer as buttons: (label, command text), e.g.
    ("Annuleer #3", "/planning 2B annuleer 3"). Typing the command does the same."""


class ChatCore(Protocol):
    """What a chat platform's adapter hands to the core (`bot.chat.front.ChatFrontEnd`): the
    messages it receives, what it observes in its groups, and the small state it keeps."""

    @property
    def language(self) -> str:
        """The school's default language (for texts before anyone is known)."""
        ...

    async def language_of(self, platform: str, account_id: str) -> str:
        """The language of the person linked to this account (the school's for nobody): for
        the adapter's own texts to them (buttons, notes)."""
        ...

    async def handle(
        self,
        platform: str,
        account_id: str,
        text: str,
        *,
        chat_id: str | None = None,
        in_group: bool = False,
        preview: bool = False,
    ) -> Reply:
        """Answer one message (see `ChatFrontEnd.handle`)."""
        ...

    async def confirm(
        self, platform: str, account_id: str, token: str | None = None, *, lang: str | None = None
    ) -> Reply:
        """Send a previewed announcement, once."""
        ...

    async def cancel(
        self, platform: str, account_id: str, token: str | None = None, *, lang: str | None = None
    ) -> Reply:
        """Drop a previewed announcement."""
        ...

    async def member_joined(self, platform: str, chat_id: str, account_id: str) -> bool:
        """Someone is in a bound group; False when they may not be (the core removes them, or
        reports them to the class's staff on a platform that cannot remove members)."""
        ...

    async def link_school_account(
        self, platform: str, account_id: str, names: Sequence[str], chat_id: str | None = None
    ) -> bool:
        """Link an account by the school account the platform reports for it (`names`: Teams'
        user principal name and e-mail), matched to the roster's username or e-mail (only
        persons of the school of the class group `chat_id`, when it was seen in one); True when
        the account is linked to that one person (see `linking.link_by_school_account`)."""
        ...

    async def join_requested(self, platform: str, chat_id: str, account_id: str) -> bool | None:
        """May they join? None when the chat is no class group."""
        ...

    async def member_left(self, platform: str, chat_id: str, account_id: str) -> None: ...

    async def group_lost(self, platform: str, chat_id: str) -> tuple[Group, ClassRoster] | None:
        """The bot was removed from a group."""
        ...

    async def chat_migrated(
        self, platform: str, old_chat_id: str, new_chat_id: str
    ) -> Group | None: ...

    async def platform_state(self, platform: str, key: str) -> str | None: ...

    async def set_platform_state(self, platform: str, key: str, value: str) -> None: ...

    async def is_class_group(self, platform: str, chat_id: str) -> bool: ...

    async def is_staff_account(self, platform: str, account_id: str) -> bool: ...

    async def is_staff_of_group(self, platform: str, chat_id: str, account_id: str) -> bool: ...

    async def staff_accounts(self, platform: str) -> set[str]: ...


class Timer(Protocol):
    """Wakes the long-running bot when the next schedule occurrence is due. Only a timer: the
    schedules and what fired live in klasbot's database (`bot.usecases.scheduling`)."""

    def wake_at(self, instant: datetime | None) -> None:
        """Wake `wait` at the aware `instant` of the bot's clock (None: no wake-up planned);
        replaces any earlier wake-up."""
        ...

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109
        """Return at the planned wake-up, or after `timeout` seconds, whichever is first."""
        ...
