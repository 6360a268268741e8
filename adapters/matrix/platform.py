"""Matrix through matrix-nio: the bot owns one private, invite-only room per class.

Lifecycle (explicit, STYLE lesson 4): `connect(core)` logs in; `start(core)` logs in and runs
the sync loop as a task; `stop()` ends it and closes the client; `running(core, receive=...)` does
either as an async context manager. `create_group`, `post`, `admit` and `remove` only need a
connection.

Restarts: the sync token (`next_batch`) is stored in the core's platform state after each sync
answer has been handled, and the next start syncs from it, so old events are neither replayed nor
answered twice. The very first start (no token) syncs once and ignores that timeline. The device
id is stored too and reused on the next password login: Synapse deduplicates a transaction id per
user and device, so a post resent after a crash (same idempotency key, same device) is not
posted twice. Replies to commands carry a transaction id derived from the command's event id for
the same reason.

Rate limits: every request the bot makes goes through one RateLimiter (optionally paced by
settings; always paused by the homeserver's M_LIMIT_EXCEEDED answers). `post` never waits for long
and never retries: it raises TransientDeliveryError(retry_after) and the outbox retries. Requests
made while answering a person (replies, invites, kicks) wait and retry a few times themselves.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    LoginResponse,
    RoomMemberEvent,
    RoomMessage,
    RoomMessageText,
    RoomPreset,
    RoomVisibility,
    SyncResponse,
    WhoamiResponse,
)

from adapters.matrix import rooms
from adapters.matrix.capabilities import capabilities as matrix_capabilities
from adapters.matrix.errors import NETWORK_ERRORS, is_rate_limited, translate, translate_exception
from bot.commands import command_language
from bot.domain import ClassRoster
from bot.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from bot.i18n import Msg
from bot.ports import ChatCore, GroupMessage, PlatformCapabilities
from bot.ratelimit import Rate, RateLimiter
from bot.rules.age import effective_minimum
from config.settings import MatrixSettings

logger = logging.getLogger(__name__)

NAME = "matrix"
T = TypeVar("T")

CONFIRM_WORDS = {"!ja": "nl", "/ja": "nl", "!yes": "en", "/yes": "en"}
CANCEL_WORDS = {"!nee": "nl", "/nee": "nl", "!no": "en", "/no": "en"}

# Only what the bot needs: room events and membership; no presence, receipts or typing.
SYNC_FILTER: dict[str, Any] = {
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {
        "timeline": {"limit": 100},
        "ephemeral": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
    },
}

M_CONFIRM = Msg(
    "This is how the message will appear in the group. Send !yes to send it or !no to cancel."
)
M_TRY_LATER = Msg(
    "That did not work because of a problem at the chat server. Please try again in a few minutes."
)
# The kick reason is visible to everyone in the room, so it never says why this person may not be
# there (an age is personal data, A.2); the person hears that privately.
M_KICK_REASON = Msg(
    "Only pupils (13+) and staff of this class can be in this group (protocol B.1)."
)
M_REMOVED_AGE = Msg(
    "You were removed from the class group: you must be at least {age} to be in it. "
    "Don't worry: you get every message of your class by e-mail or letter."
)
M_REDACT_REASON = Msg("Only the bot posts in this group.")
M_TOPIC = Msg(
    "Announcements for {klas}. Only the bot posts here; send questions privately to your mentor."
)

_AGE_VERDICTS = {"under-13", "age-unknown", "platform-age"}


@dataclass
class MatrixStats:
    """What the adapter met; the benchmark prints these."""

    logins: int = 0  # password logins (a stored session is reused instead when it is valid)
    requests: int = 0
    commands: int = 0  # messages in direct chats handled
    posts: int = 0
    rate_limited: int = 0
    network_errors: int = 0


class MatrixPlatform:
    """The ChatPlatform for Matrix (name "matrix")."""

    name = NAME

    def __init__(
        self,
        *,
        homeserver: str,
        user_id: str,
        password: str | None = None,
        access_token: str | None = None,
        device_id: str | None = None,
        staff_can_post: bool = False,
        room_version: str | None = None,
        capabilities: PlatformCapabilities | None = None,
        rate: Rate | None = None,
        sync_timeout: float = 30.0,
        store_path: Path | None = None,
        max_inline_wait: float = 30.0,
        request_retries: int = 4,
    ) -> None:
        if not password and not access_token:
            raise ValueError("Matrix needs a password or an access token")
        self.homeserver = homeserver
        self.user_id = user_id
        self._password = password
        self._access_token = access_token
        self._device_id = device_id
        self.staff_can_post = staff_can_post
        self.room_version = room_version
        self.capabilities = capabilities or matrix_capabilities(MatrixSettings())
        self.sync_timeout = sync_timeout
        self.store_path = store_path
        self.max_inline_wait = max_inline_wait
        self.request_retries = request_retries
        # Always a global bucket, so the homeserver's "slow down" pauses every sender.
        self.limiter = RateLimiter(rate or Rate(1000.0, burst=1000.0))
        self.stats = MatrixStats()
        self.client: AsyncClient | None = None
        self.core: ChatCore | None = None
        self.next_batch: str | None = None
        self.synced = asyncio.Event()  # set after the first sync answer has been handled
        self._txn_prefix = ""
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._idle = False
        self._group_rooms: set[str] = set()
        self._connecting = asyncio.Lock()

    # ------------------------------------------------------------------------ lifecycle

    def attach(self, core: ChatCore) -> None:
        """Give the platform the core it reports to and keeps its state in; the first request
        then logs in by itself (a CLI command that only posts needs nothing more)."""
        self.core = core

    async def connect(self, core: ChatCore | None = None) -> None:
        """Log in, reusing the stored session and device. Idempotent."""
        if core is not None:
            self.attach(core)
        async with self._connecting:
            if self.client is None:
                self.client = await self._login()

    async def _login(self) -> AsyncClient:
        if self.core is None:
            raise TransientDeliveryError("the Matrix platform is not attached to klasbot")
        self._txn_prefix = await self._get_state("txn_prefix") or ""
        if not self._txn_prefix:
            # Transaction ids must be unique per device forever; a fresh database must not reuse
            # the keys of an old one, so every installation gets a prefix of its own.
            self._txn_prefix = secrets.token_hex(4)
            await self._set_state("txn_prefix", self._txn_prefix)
        device_id = self._device_id or await self._get_state("device_id") or ""
        config = AsyncClientConfig(
            # Errors come back to us at once: the retry policy is ours (and the core's).
            max_limit_exceeded=0,
            max_timeouts=0,
            request_timeout=30,
            encryption_enabled=False,
            store_sync_tokens=False,
        )
        client = AsyncClient(
            self.homeserver,
            self.user_id,
            device_id=device_id,
            store_path=str(self.store_path) if self.store_path else "",
            config=config,
        )
        try:
            # A configured token; else the session of an earlier password login, as any Matrix
            # client keeps it (logging in on every start would meet Synapse's rc_login limit).
            token = self._access_token or await self._get_state("session")
            session_user = await self._get_state("session_user")
            restored = False
            if token and (self._access_token or session_user == self.user_id):
                client.access_token = token
                who = await client.whoami()
                if isinstance(who, WhoamiResponse):
                    if not (self._access_token and device_id):
                        device_id = who.device_id or ""
                    client.restore_login(who.user_id, device_id, token)
                    restored = True
                elif self._access_token:
                    raise ConnectionError(f"Matrix login with the access token failed: {who}")
                else:
                    client.access_token = ""  # the stored session has ended: log in again
            if not restored:
                if not self._password:
                    raise ConnectionError(f"Matrix: no password to log in as {self.user_id}")
                response = await client.login(password=self._password, device_name="klasbot")
                self.stats.logins += 1
                if not isinstance(response, LoginResponse):
                    raise ConnectionError(f"Matrix login as {self.user_id} failed: {response}")
                device_id = response.device_id
                await self._set_state("session", response.access_token)
                await self._set_state("session_user", response.user_id)
        except BaseException:
            await client.close()
            raise
        self.user_id = client.user_id or self.user_id
        if device_id:
            await self._set_state("device_id", device_id)
        logger.info("matrix: logged in as %s (device %s)", self.user_id, device_id)
        return client

    async def start(self, core: ChatCore) -> None:
        """Log in and start the sync loop in the background."""
        await self.connect(core)
        self.next_batch = await self._get_state("next_batch") or None
        self._stopping = False
        self.synced.clear()
        self._task = asyncio.create_task(self._sync_loop(), name="matrix-sync")

    async def stop(self) -> None:
        """End the sync loop (after the answer being handled, if any) and close the client."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            if self._idle:
                # Waiting on the long-poll or a back-off: nothing is half handled.
                task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        client, self.client = self.client, None
        if client is not None:
            await client.close()

    @asynccontextmanager
    async def running(
        self, core: ChatCore, *, receive: bool = True
    ) -> AsyncIterator[MatrixPlatform]:
        """Connected for the block: receiving (the sync loop) or, with `receive=False`, only to
        send (a CLI command beside a running bot)."""
        if receive:
            await self.start(core)
        else:
            await self.connect(core)
        try:
            yield self
        finally:
            await self.stop()

    # ------------------------------------------------------------------------ the port

    async def create_group(self, roster: ClassRoster) -> str:
        """Create the class room and apply the class-room power levels; returns the room id."""
        client = await self._connected()
        response = await self._request(
            "create room",
            lambda: client.room_create(
                visibility=RoomVisibility.private,
                name=rooms.room_name(roster),
                topic=M_TOPIC(self._lang(), klas=roster.school_class.code),
                room_version=self.room_version,
                preset=RoomPreset.private_chat,
                initial_state=rooms.initial_state(),
            ),
            retries=self.request_retries,
        )
        room_id: str = response.room_id
        self._group_rooms.add(room_id)
        await self._apply_power_levels(room_id)
        logger.info("matrix: created room %s for class %s", room_id, roster.school_class.id)
        return room_id

    async def post(self, message: GroupMessage) -> str:
        """Send the announcement as m.text with an HTML `formatted_body`; the idempotency key is
        the transaction id, so the homeserver drops a resend. Never waits long, never retries."""
        client = await self._connected()
        content: dict[str, Any] = {"msgtype": "m.text", "body": message.text}
        if message.html:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = message.html
        tx_id = self._txn(f"post-{message.idempotency_key}") if message.idempotency_key else None
        response = await self._request(
            "post",
            lambda: client.room_send(message.chat_id, "m.room.message", content, tx_id=tx_id),
            retries=0,
            forbidden_reason="group-lost",
        )
        self.stats.posts += 1
        return str(response.event_id)

    async def admit(self, chat_id: str, account_id: str) -> bool:
        """Invite the person; their join is reported later (→ `Klasbot.member_joined`)."""
        client = await self._connected()
        try:
            await self._request(
                "invite",
                lambda: client.room_invite(chat_id, account_id),
                retries=self.request_retries,
            )
        except PermanentDeliveryError as error:
            if "already in the room" in str(error):
                return True
            raise
        return False

    async def remove(self, chat_id: str, account_id: str, reason: str) -> None:
        """Kick with a reason that names no personal detail; someone refused for their age hears
        why privately. Never raises for someone who is already gone."""
        client = await self._connected()
        try:
            await self._request(
                "kick",
                lambda: client.room_kick(chat_id, account_id, reason=M_KICK_REASON(self._lang())),
                retries=self.request_retries,
            )
        except PermanentDeliveryError as error:
            logger.info("matrix: %s not kicked from %s: %s", account_id, chat_id, error)
            return
        logger.info("matrix: kicked %s from %s (%s)", account_id, chat_id, reason)
        if reason in _AGE_VERDICTS:
            try:
                await self._tell(
                    account_id,
                    M_REMOVED_AGE(self._lang(), age=effective_minimum(self.capabilities.min_age)),
                )
            except DeliveryError as error:  # the removal stands; the fallback reaches them anyway
                logger.warning(
                    "matrix: could not tell %s why they were removed: %s", account_id, error
                )

    # ------------------------------------------------------------------------ requests

    async def _connected(self) -> AsyncClient:
        if self.client is None:
            try:
                await self.connect()
            except NETWORK_ERRORS as exc:  # ConnectionError (login refused) is an OSError
                raise translate_exception(exc, "login") from exc
        assert self.client is not None
        return self.client

    def _lang(self) -> str:
        return self.core.language if self.core else "nl"

    def _txn(self, key: str) -> str:
        return f"klasbot-{self._txn_prefix}-{key}"

    async def _pace(self) -> None:
        """Wait for the rate limiter, but never for long: a long pause (the homeserver asked for
        one) is the outbox's business, not a reason to hold up everything else."""
        bucket = self.limiter.overall
        assert bucket is not None
        wait = bucket.wait_time()
        if wait > self.max_inline_wait:
            raise TransientDeliveryError(
                "the homeserver asked the bot to slow down", retry_after=wait
            )
        await self.limiter.acquire()

    async def _request(
        self,
        what: str,
        call: Callable[[], Awaitable[T]],
        *,
        retries: int,
        forbidden_reason: str | None = None,
        paced: bool = True,
    ) -> T:
        """One nio request, its answer checked. Transient errors are retried `retries` times
        (honouring retry_after, within `max_inline_wait`), then raised. Reads are not `paced`:
        the homeserver's limits count what a user does, not what they look at."""
        attempt = 0
        while True:
            error: DeliveryError
            if paced:
                await self._pace()
            self.stats.requests += 1
            try:
                response = await call()
            except NETWORK_ERRORS as exc:
                self.stats.network_errors += 1
                error = translate_exception(exc, what)
            else:
                if not isinstance(response, ErrorResponse):
                    return response
                error = translate(response, what, forbidden_reason=forbidden_reason)
                if is_rate_limited(response):
                    self.stats.rate_limited += 1
                    wait = response.retry_after_ms / 1000 if response.retry_after_ms else 1.0
                    self.limiter.penalise(wait)
            if isinstance(error, PermanentDeliveryError) or attempt >= retries:
                raise error
            attempt += 1
            delay = (
                error.retry_after
                if isinstance(error, TransientDeliveryError) and error.retry_after
                else 0.5 * 2**attempt
            )
            if delay > self.max_inline_wait:
                raise error
            logger.info("matrix: %s failed (%s); retry %d in %.1fs", what, error, attempt, delay)
            await asyncio.sleep(delay)

    async def _apply_power_levels(self, room_id: str) -> None:
        client = await self._connected()
        create = await self._request(
            "read m.room.create",
            lambda: client.room_get_state_event(room_id, "m.room.create"),
            retries=self.request_retries,
            paced=False,
        )
        version = str(create.content.get("room_version", "1"))
        current = await self._request(
            "read power levels",
            lambda: client.room_get_state_event(room_id, "m.room.power_levels"),
            retries=self.request_retries,
            paced=False,
        )
        levels = rooms.class_room_power_levels(
            current.content, bot=self.user_id, room_version=version
        )
        await self._request(
            "set power levels",
            lambda: client.room_put_state(room_id, "m.room.power_levels", levels),
            retries=self.request_retries,
        )

    async def _grant_staff(self, room_id: str, account_id: str) -> None:
        """With `staff_can_post`, the class's staff may post, invite and kick (level 50)."""
        assert self.core is not None
        if not await self.core.is_staff_of_group(NAME, room_id, account_id):
            return
        client = await self._connected()
        current = await self._request(
            "read power levels",
            lambda: client.room_get_state_event(room_id, "m.room.power_levels"),
            retries=self.request_retries,
            paced=False,
        )
        levels = rooms.with_user_level(current.content, account_id, rooms.STAFF)
        if levels is not None:
            await self._request(
                "set power levels",
                lambda: client.room_put_state(room_id, "m.room.power_levels", levels),
                retries=self.request_retries,
            )

    # ------------------------------------------------------------------------ state

    async def _get_state(self, key: str) -> str | None:
        assert self.core is not None
        return await self.core.platform_state(NAME, key)

    async def _set_state(self, key: str, value: str) -> None:
        assert self.core is not None
        await self.core.set_platform_state(NAME, key, value)

    async def _is_group(self, room_id: str) -> bool:
        # Only a yes is remembered: a room may become a class room while we look (create_group).
        if room_id not in self._group_rooms:
            assert self.core is not None
            if await self.core.is_class_group(NAME, room_id):
                self._group_rooms.add(room_id)
        return room_id in self._group_rooms

    # ------------------------------------------------------------------------ sync loop

    async def _sync_loop(self) -> None:
        failures = 0
        while not self._stopping:
            wait = 0.0
            try:
                wait = await self._sync_once()
            except Exception:  # a bad answer or a database hiccup must not end the bot
                logger.exception("matrix: sync round failed")
                wait = 1.0
            if wait:
                failures += 1
                self._idle = True
                try:
                    await asyncio.sleep(max(wait, min(60.0, 0.5 * 2**failures)))
                finally:
                    self._idle = False
            else:
                failures = 0

    async def _sync_once(self) -> float:
        """One /sync and its handling; returns seconds to wait before the next (0: none)."""
        client = await self._connected()
        first = self.next_batch is None
        self._idle = True
        try:
            response = await client.sync(
                # The first round of a run only catches up; later rounds long-poll.
                timeout=int(self.sync_timeout * 1000) if self.synced.is_set() else 0,
                sync_filter=SYNC_FILTER,
                since=self.next_batch,
            )
        except NETWORK_ERRORS as exc:
            logger.warning("matrix: sync failed: %s", exc)
            return 1.0
        finally:
            self._idle = False
        if not isinstance(response, SyncResponse):
            logger.warning("matrix: sync answered %s", response)
            retry_ms = getattr(response, "retry_after_ms", None)
            return retry_ms / 1000 if retry_ms else 1.0
        await self._handle_sync(response, first=first)
        # Only now: a crash while handling means this answer is handled again after a restart,
        # never that it is skipped.
        self.next_batch = response.next_batch
        await self._set_state("next_batch", response.next_batch)
        self.synced.set()
        return 0.0

    async def _handle_sync(self, response: SyncResponse, *, first: bool) -> None:
        for room_id, invite in response.rooms.invite.items():
            await self._guarded(self._on_invite(room_id, invite.invite_state))
        for room_id in response.rooms.leave:
            await self._guarded(self._on_left(room_id))
        if first:
            return  # the history before the bot's first start is not answered
        for room_id, info in response.rooms.join.items():
            for event in [*info.state, *info.timeline.events]:
                await self._guarded(self._on_event(room_id, event))

    async def _guarded(self, work: Awaitable[None]) -> None:
        """One event's trouble must not stop the bot or make it skip the rest of the answer."""
        try:
            await work
        except DeliveryError as error:
            logger.warning("matrix: could not finish handling an event: %s", error)
        except Exception:
            logger.exception("matrix: handling an event failed")

    async def _on_invite(self, room_id: str, invite_state: list[Any]) -> None:
        direct = any(
            getattr(e, "source", {}).get("type") == "m.room.member"
            and getattr(e, "state_key", None) == self.user_id
            and (getattr(e, "content", None) or {}).get("is_direct")
            for e in invite_state
        )
        client = await self._connected()
        if direct:
            await self._request("join", lambda: client.join(room_id), retries=self.request_retries)
            logger.info("matrix: joined direct chat %s", room_id)
        else:
            # The bot only talks privately and only lives in the class rooms it creates.
            await self._request(
                "decline invite", lambda: client.room_leave(room_id), retries=self.request_retries
            )

    async def _on_left(self, room_id: str) -> None:
        if await self._is_group(room_id):
            assert self.core is not None
            await self.core.group_lost(NAME, room_id)

    async def _on_event(self, room_id: str, event: Any) -> None:
        if isinstance(event, RoomMemberEvent):
            await self._on_member(room_id, event)
            return
        source: dict[str, Any] = getattr(event, "source", {}) or {}
        sender = getattr(event, "sender", None)
        if sender is None or sender == self.user_id or "state_key" in source:
            return
        if await self._is_group(room_id):
            if source.get("type") != "m.room.redaction":
                await self._on_group_post(room_id, event, sender)
        elif isinstance(event, RoomMessageText):
            await self._on_direct_message(room_id, event)

    async def _on_member(self, room_id: str, event: RoomMemberEvent) -> None:
        assert self.core is not None
        target = event.state_key
        if target == self.user_id:
            if event.membership in ("leave", "ban") and await self._is_group(room_id):
                await self.core.group_lost(NAME, room_id)
            return
        if not await self._is_group(room_id):
            return
        if event.membership == "join" and event.prev_membership != "join":
            allowed = await self.core.member_joined(NAME, room_id, target)
            if allowed and self.staff_can_post:
                await self._grant_staff(room_id, target)
        elif event.membership in ("leave", "ban") and event.prev_membership == "join":
            await self.core.member_left(NAME, room_id, target)

    async def _on_group_post(self, room_id: str, event: Any, sender: str) -> None:
        """Rule 3: power levels keep members from posting; whatever gets through anyway (a level
        changed by hand, an old room) is handed to the core and, as it says, redacted."""
        assert self.core is not None
        text = event.body if isinstance(event, RoomMessageText) else ""
        if self.staff_can_post and text and not text.lstrip().startswith(("/", "!")):
            client = await self._connected()
            levels = await self._request(
                "read power levels",
                lambda: client.room_get_state_event(room_id, "m.room.power_levels"),
                retries=self.request_retries,
                paced=False,
            )
            if rooms.user_level(levels.content, sender) >= int(
                levels.content.get("events_default", 0)
            ):
                return  # staff speaking in their own class room, as the school allows
        reply = await self.core.handle(
            NAME, sender, text, chat_id=room_id, in_group=True, preview=False
        )
        if reply.delete_original or not isinstance(event, RoomMessage):
            client = await self._connected()
            await self._request(
                "redact",
                lambda: client.room_redact(
                    room_id, event.event_id, reason=M_REDACT_REASON(self._lang())
                ),
                retries=self.request_retries,
            )
        if reply.texts:
            await self._tell(sender, "\n\n".join(reply.texts), key=event.event_id)

    async def _on_direct_message(self, room_id: str, event: RoomMessageText) -> None:
        assert self.core is not None
        sender, text = event.sender, event.body.strip()
        room = (await self._connected()).rooms.get(room_id)
        if room is not None and room.joined_count > 2:
            # Answers are private (codes, previews): not in a room where others listen.
            logger.info("matrix: not answering %s in %s, a room with others in it", sender, room_id)
            return
        self.stats.commands += 1
        await self._remember_direct(sender, room_id)
        word = text.lower()
        texts: list[str]
        if word in CONFIRM_WORDS:
            texts = (await self.core.confirm(NAME, sender, lang=CONFIRM_WORDS[word])).texts
        elif word in CANCEL_WORDS:
            texts = (await self.core.cancel(NAME, sender, lang=CANCEL_WORDS[word])).texts
        else:
            try:
                reply = await self.core.handle(
                    NAME, sender, text, chat_id=None, in_group=False, preview=True
                )
            except DeliveryError:
                texts = [M_TRY_LATER(command_language(text))]
            else:
                texts = list(reply.texts)
                if reply.confirmation is not None:
                    texts.append(M_CONFIRM(command_language(text)))
        if texts:
            await self._notice(room_id, "\n\n".join(texts), key=event.event_id)

    # ------------------------------------------------------------------------ direct chats

    async def _remember_direct(self, user_id: str, room_id: str) -> None:
        if await self._get_state(f"dm:{user_id}") != room_id:
            await self._set_state(f"dm:{user_id}", room_id)

    async def _notice(self, room_id: str, text: str, *, key: str | None = None) -> None:
        client = await self._connected()
        tx_id = self._txn(f"reply-{key}") if key else None
        await self._request(
            "reply",
            lambda: client.room_send(
                room_id, "m.room.message", {"msgtype": "m.notice", "body": text}, tx_id=tx_id
            ),
            retries=self.request_retries,
        )

    async def _tell(self, user_id: str, text: str, *, key: str | None = None) -> None:
        """A private message, in the direct chat the person has with the bot or a new one."""
        room_id = await self._get_state(f"dm:{user_id}")
        if not room_id:
            client = await self._connected()
            created = await self._request(
                "create direct chat",
                lambda: client.room_create(
                    visibility=RoomVisibility.private,
                    is_direct=True,
                    preset=RoomPreset.private_chat,
                    invite=[user_id],
                ),
                retries=self.request_retries,
            )
            room_id = str(created.room_id)
            await self._set_state(f"dm:{user_id}", room_id)
        await self._notice(room_id, text, key=key)


def matrix_platform_from_settings(
    settings: MatrixSettings, data_dir: Path
) -> MatrixPlatform | None:
    """The configured Matrix platform, or None when Matrix is not configured (no homeserver,
    user or secret). `data_dir/matrix` is nio's store directory."""
    if (
        not settings.homeserver
        or not settings.user_id
        or not (settings.password or settings.access_token)
    ):
        return None
    rate = (
        Rate(settings.rate_per_second, burst=float(settings.rate_burst))
        if settings.rate_per_second
        else None
    )
    return MatrixPlatform(
        homeserver=settings.homeserver,
        user_id=settings.user_id,
        password=settings.password,
        access_token=settings.access_token,
        device_id=settings.device_id,
        staff_can_post=settings.staff_can_post,
        room_version=settings.room_version,
        capabilities=matrix_capabilities(settings),
        rate=rate,
        sync_timeout=settings.sync_timeout,
        store_path=data_dir / "matrix",
    )
