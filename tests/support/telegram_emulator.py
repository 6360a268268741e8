"""A Telegram Bot API server for tests and the benchmark, served by aiohttp on loopback.

Written from the official Bot API documentation (https://core.telegram.org/bots/api): requests
are `POST /bot<token>/<method>` with a JSON or form-encoded body (python-telegram-bot sends forms
whose non-string values are JSON-encoded); answers are `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": 400|403|429, "description": ..., "parameters": {...}}` with the
descriptions Telegram uses. Updates (`message`, `callback_query`, `chat_join_request`,
`chat_member`, `my_chat_member`) are served by long-polling `getUpdates` with the documented
offset semantics, and have the documented JSON shapes, so python-telegram-bot parses them with
its own `de_json`.

A webhook can be set instead (`setWebhook`, `deleteWebhook`, `getWebhookInfo`): while one is
set, `getUpdates` answers 409 Conflict, and the updates are POSTed as JSON to the webhook's URL
one at a time in order, with the `X-Telegram-Bot-Api-Secret-Token` header when a secret token
was given; a failed POST (no connection, or an answer other than 2xx) is retried a few times
after a short delay, then the update is given up. Unlike Telegram, the emulator accepts
`http://` URLs on any port, since the bot under test listens on loopback.

The test plays the people: `user_sends`, `join_request`, `user_joins`, `press_button`,
`kick_bot`, `migrate`, and sets the bot's administrator rights per chat. The emulator records
what the bot did (messages per chat, deletions, bans, approvals, command menus) and enforces
Telegram's flood limits when asked to (messages per second overall, per minute per group),
answering 429 with `retry_after` and counting those answers in `rate_limited`.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

BOT_ID = 7_000_000_001
BOT_USERNAME = "klasbot_test_bot"

# Every administrator right the Bot API reports for a ChatMemberAdministrator.
ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
    "can_manage_topics",
)
# What a group creator typically grants a bot: everything except promoting others.
DEFAULT_BOT_RIGHTS = {right: right != "can_promote_members" for right in ADMIN_RIGHTS}

# Parameters whose form value is a plain string; every other form value is JSON-encoded.
_STRING_PARAMS = frozenset(
    {
        "text",
        "name",
        "language_code",
        "parse_mode",
        "callback_query_id",
        "invite_link",
        "url",
        "secret_token",
        "title",
        "description",
        "caption",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
    }
)
_MEMBER_STATUSES = ("creator", "administrator", "member")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class SentMessage:
    """A message the bot sent (as the test sees it)."""

    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None = None

    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass
class Chat:
    id: int
    type: str  # private, group, supergroup
    title: str | None = None
    user: dict[str, Any] | None = None  # private chats: the other person
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    rights: dict[int, dict[str, bool]] = field(default_factory=dict)  # administrators' rights
    permissions: dict[str, bool] | None = None
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_message_id: int = 1
    join_requests: set[int] = field(default_factory=set)
    migrated_to: int | None = None
    started: bool = False  # private: the person has written to the bot (or asked to join)
    blocked: bool = False  # private: the person blocked the bot

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")


class BotApiEmulator:
    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        global_per_second: int | None = None,
        group_per_minute: int | None = None,
        private_per_second: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        webhook_attempts: int = 5,
        webhook_retry_delay: float = 0.2,
    ) -> None:
        self.token = token
        self.global_per_second = global_per_second
        self.group_per_minute = group_per_minute
        self.private_per_second = private_per_second
        self.clock = clock
        self.bot = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Klasbot",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.users: dict[int, dict[str, Any]] = {BOT_ID: self.bot}
        self.chats: dict[int, Chat] = {}
        # What the bot did.
        self.sent: list[SentMessage] = []
        self.deleted: list[tuple[int, int]] = []
        self.banned: list[tuple[int, int]] = []
        self.unbanned: list[tuple[int, int]] = []
        self.approved: list[tuple[int, int]] = []
        self.declined: list[tuple[int, int]] = []
        self.invite_links: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
        self.answered: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        # getUpdates calls, and how many came while another was still waiting (two pollers:
        # Telegram ends one with 409 Conflict).
        self.polls = 0
        self.poll_overlaps = 0
        self._polling = 0
        self.rate_limited = 0
        # Updates waiting for getUpdates.
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self.allowed_updates: list[str] | None = None
        self._new_update = asyncio.Event()
        self._failures: list[tuple[str, int | None, ApiError]] = []
        self._sent_at: collections.deque[float] = collections.deque()
        self._sent_at_chat: dict[int, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._next_user_id = 1001
        self._next_group_id = 1
        self._next_callback_id = 1
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port = 0
        # The webhook, while one is set (setWebhook), and how updates are POSTed to it.
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_delivered: list[int] = []  # update ids the webhook accepted, in order
        self.webhook_given_up: list[int] = []  # update ids given up after failed POSTs
        self._webhook_error: tuple[int, str] | None = None  # (date, message) of the last failure
        self._webhook_wakeup = asyncio.Event()
        self._webhook_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------------ server

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._closing = True
        self._new_update.set()
        await self._stop_webhook_delivery()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await _parameters(request)
        self.calls.append((method, params))
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        try:
            self._injected_failure(method, params)
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as error:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.parameters:
                body["parameters"] = error.parameters
            if error.code == 429:
                self.rate_limited += 1
            return web.json_response(body, status=error.code)
        return web.json_response({"ok": True, "result": result})

    # ------------------------------------------------------------------------ the test's side

    def user(
        self, first_name: str, last_name: str | None = None, *, language_code: str = "nl"
    ) -> int:
        """A Telegram account; returns its id."""
        user_id = self._next_user_id
        self._next_user_id += 1
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        if last_name:
            user["last_name"] = last_name
        self.users[user_id] = user
        self.chats[user_id] = Chat(user_id, "private", user=user)
        return user_id

    def group(
        self,
        title: str,
        *,
        owner: int,
        supergroup: bool = True,
        bot_admin: bool = True,
        notify: bool = True,
        **rights: bool,
    ) -> int:
        """A group that `owner` created and added the bot to (as administrator with the default
        rights, overridden by `rights`, unless `bot_admin` is False). Returns the chat id."""
        n = self._next_group_id
        self._next_group_id += 1
        chat_id = -(1_000_000_000_000 + n) if supergroup else -(4_000_000 + n)
        chat = Chat(chat_id, "supergroup" if supergroup else "group", title=title)
        chat.members[owner] = "creator"
        self.chats[chat_id] = chat
        self.add_bot(chat_id, admin=bot_admin, notify=notify, **rights)
        return chat_id

    def add_bot(
        self, chat_id: int, *, admin: bool = True, notify: bool = True, **rights: bool
    ) -> int | None:
        """The group's creator adds the bot (again): as administrator with the default rights
        overridden by `rights`, or as a plain member."""
        chat = self.chats[chat_id]
        old = self._member_obj(chat, BOT_ID)
        if admin:
            chat.members[BOT_ID] = "administrator"
            chat.rights[BOT_ID] = {**DEFAULT_BOT_RIGHTS, **rights}
        else:
            chat.members[BOT_ID] = "member"
        if not notify:
            return None
        owner = self.users[self._owner(chat)]
        return self._push("my_chat_member", self._member_update(chat, owner, BOT_ID, old=old))

    def set_bot_rights(self, chat_id: int, **rights: bool) -> None:
        """Make the bot an administrator of `chat_id` with these rights changed."""
        chat = self.chats[chat_id]
        chat.members[BOT_ID] = "administrator"
        chat.rights[BOT_ID] = {**chat.rights.get(BOT_ID, DEFAULT_BOT_RIGHTS), **rights}

    def user_sends(self, user_id: int, chat_id: int | None, text: str) -> int:
        """`user_id` sends `text` in `chat_id` (their private chat with the bot when None)."""
        chat = self.chats[chat_id if chat_id is not None else user_id]
        if chat.type == "private":
            chat.started = True
            chat.blocked = False
        message = self._new_message(chat, self.users[user_id], text=text)
        return self._push("message", message)

    def join_request(self, user_id: int, chat_id: int, invite_link: str | None = None) -> int:
        chat = self.chats[chat_id]
        chat.join_requests.add(user_id)
        # Bot API 5.5: the bot may write to someone who asked to join (within 5 minutes).
        self.chats[user_id].started = True
        request: dict[str, Any] = {
            "chat": self._chat_obj(chat),
            "from": self.users[user_id],
            "user_chat_id": user_id,
            "date": _now(),
        }
        link = self._link(chat_id, invite_link)
        if link is not None:
            request["invite_link"] = link
        return self._push("chat_join_request", request)

    def user_joins(self, user_id: int, chat_id: int) -> int:
        """`user_id` appears in the group (added by someone, or through an old link)."""
        chat = self.chats[chat_id]
        old = self._member_obj(chat, user_id)
        chat.members[user_id] = "member"
        self._push(
            "message",
            self._new_message(chat, self.users[user_id], new_chat_members=[self.users[user_id]]),
        )
        return self._push(
            "chat_member", self._member_update(chat, self.users[user_id], user_id, old=old)
        )

    def user_leaves(self, user_id: int, chat_id: int) -> int:
        chat = self.chats[chat_id]
        old = self._member_obj(chat, user_id)
        chat.members[user_id] = "left"
        user = self.users[user_id]
        self._push("message", self._new_message(chat, user, left_chat_member=user))
        return self._push("chat_member", self._member_update(chat, user, user_id, old=old))

    def press_button(self, user_id: int, message: SentMessage, data: str) -> int:
        chat = self.chats[message.chat_id]
        query = {
            "id": str(self._next_callback_id),
            "from": self.users[user_id],
            "chat_instance": f"ci{chat.id}",
            "message": chat.messages[message.message_id],
            "data": data,
        }
        self._next_callback_id += 1
        return self._push("callback_query", query)

    def kick_bot(self, chat_id: int, *, by: int | None = None, notify: bool = True) -> int | None:
        """Someone removes the bot from the group. Without `notify` the update is lost (the bot
        was not running), and the bot only finds out when its next call is refused."""
        chat = self.chats[chat_id]
        old = self._member_obj(chat, BOT_ID)
        chat.members[BOT_ID] = "kicked"
        chat.rights.pop(BOT_ID, None)
        if not notify:
            return None
        remover = self.users[by if by is not None else self._owner(chat)]
        return self._push("my_chat_member", self._member_update(chat, remover, BOT_ID, old=old))

    def migrate(self, chat_id: int, *, notify: bool = True) -> int:
        """The basic group becomes a supergroup with a new id; returns the new id."""
        old = self.chats[chat_id]
        assert old.type == "group", "only a basic group migrates"
        n = self._next_group_id
        self._next_group_id += 1
        new_id = -(1_000_000_000_000 + n)
        new = Chat(
            new_id,
            "supergroup",
            title=old.title,
            members=dict(old.members),
            rights=dict(old.rights),
            permissions=old.permissions,
        )
        self.chats[new_id] = new
        old.migrated_to = new_id
        if notify:
            owner = self.users[self._owner(old)]
            self._push("message", self._new_message(old, owner, migrate_to_chat_id=new_id))
            self._push("message", self._new_message(new, owner, migrate_from_chat_id=chat_id))
        return new_id

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        code: int,
        description: str,
        **parameters: Any,
    ) -> None:
        """Answer the next call of `method` (for `chat_id`, if given) with this error."""
        self._failures.append((method, chat_id, ApiError(code, description, **parameters)))

    # Queries for assertions.

    def messages(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.messages(chat_id)]

    def status(self, chat_id: int, user_id: int) -> str:
        return self.chats[chat_id].members.get(user_id, "left")

    @property
    def last_update_id(self) -> int:
        return self._next_update_id - 1

    def menu(self, scope: dict[str, Any], language_code: str = "") -> list[str]:
        return [c["command"] for c in self.commands.get((_scope_key(scope), language_code), [])]

    # ------------------------------------------------------------------------ building blocks

    def _push(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, kind: payload})
        self._new_update.set()
        self._webhook_wakeup.set()
        return update_id

    def _owner(self, chat: Chat) -> int:
        return next(u for u, s in chat.members.items() if s == "creator")

    def _chat_obj(self, chat: Chat) -> dict[str, Any]:
        if chat.type == "private":
            assert chat.user is not None
            obj = {"id": chat.id, "type": "private", "first_name": chat.user["first_name"]}
            if "last_name" in chat.user:
                obj["last_name"] = chat.user["last_name"]
            return obj
        return {"id": chat.id, "type": chat.type, "title": chat.title}

    def _new_message(
        self, chat: Chat, sender: dict[str, Any], *, text: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": chat.next_message_id,
            "date": _now(),
            "chat": self._chat_obj(chat),
            "from": sender,
        }
        chat.next_message_id += 1
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0]) if text.split() else 1
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        message.update(extra)
        chat.messages[message["message_id"]] = message
        return message

    def _member_obj(self, chat: Chat, user_id: int, *, status: str | None = None) -> dict[str, Any]:
        status = status or chat.members.get(user_id, "left")
        user = self.users[user_id]
        if status == "creator":
            return {"status": "creator", "user": user, "is_anonymous": False}
        if status == "administrator":
            rights = {**{r: False for r in ADMIN_RIGHTS}, **chat.rights.get(user_id, {})}
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": user_id == BOT_ID,
                "is_anonymous": False,
                **rights,
            }
        if status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        return {"status": status, "user": user}

    def _member_update(
        self, chat: Chat, actor: dict[str, Any], user_id: int, *, old: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        return {
            "chat": self._chat_obj(chat),
            "from": actor,
            "date": _now(),
            "old_chat_member": old,
            "new_chat_member": self._member_obj(chat, user_id),
            **extra,
        }

    def _link(self, chat_id: int, invite_link: str | None) -> dict[str, Any] | None:
        links = self.invite_links.get(chat_id, [])
        for link in reversed(links):
            if invite_link is None or link["invite_link"] == invite_link:
                return link
        return None

    def _injected_failure(self, method: str, params: dict[str, Any]) -> None:
        for i, (name, chat_id, error) in enumerate(self._failures):
            if name == method and (chat_id is None or params.get("chat_id") == chat_id):
                del self._failures[i]
                raise error

    def _chat(self, params: dict[str, Any], *, as_member: bool = True) -> Chat:
        """The chat a call addresses, with Telegram's answers for a chat the bot cannot use."""
        chat = self.chats.get(params.get("chat_id"))  # type: ignore[arg-type]
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=chat.migrated_to,
            )
        if chat.is_group and as_member:
            status = chat.members.get(BOT_ID, "left")
            if status == "kicked":
                raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
            if status == "left":
                raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        if chat.type == "private":
            if chat.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not chat.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _require_right(self, chat: Chat, right: str, refusal: str) -> None:
        if chat.members.get(BOT_ID) != "administrator" or not chat.rights.get(BOT_ID, {}).get(
            right
        ):
            raise ApiError(400, refusal)

    def _flood_control(self, chat: Chat) -> None:
        """Telegram's limits: `global_per_second` messages in any second, `group_per_minute`
        in any minute per group, `private_per_second` per private chat."""
        now = self.clock()
        checks: list[tuple[collections.deque[float], float, int | None]] = [
            (self._sent_at, 1.0, self.global_per_second)
        ]
        window = self._sent_at_chat[chat.id]
        checks.append(
            (window, 60.0, self.group_per_minute)
            if chat.is_group
            else (window, 1.0, self.private_per_second)
        )
        for times, span, limit in checks:
            while times and times[0] <= now - span:
                times.popleft()
            if limit is not None and len(times) >= limit:
                wait = max(1, math.ceil(times[-limit] + span - now))
                raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        self._sent_at.append(now)
        window.append(now)

    # ------------------------------------------------------------------------ Bot API methods

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot

    def _api_logOut(self, params: dict[str, Any]) -> bool:
        return True

    def _api_close(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        await self._stop_webhook_delivery()
        self.webhook_url = self.webhook_secret = None
        self._webhook_error = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            # "Use an empty string to remove webhook integration."
            return await self._api_deleteWebhook(params)
        if not url.startswith(("http://", "https://")):
            raise ApiError(
                400,
                "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
            )
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        await self._stop_webhook_delivery()
        if params.get("allowed_updates") is not None:
            # "If not specified, the previous setting will be used."
            self.allowed_updates = list(params["allowed_updates"]) or None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url = url
        self.webhook_secret = str(secret) if secret is not None else None
        self._webhook_error = None
        self._new_update.set()  # a getUpdates waiting now ends with 409 Conflict
        self._webhook_wakeup.set()
        self._webhook_task = asyncio.create_task(self._deliver_to_webhook(url, self.webhook_secret))
        return True

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 1
            if self.allowed_updates is not None:
                info["allowed_updates"] = list(self.allowed_updates)
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _stop_webhook_delivery(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _deliver_to_webhook(self, url: str, secret: str | None) -> None:
        """POST every pending update to the webhook, oldest first, one at a time."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not self._closing:
                self._webhook_wakeup.clear()
                # Telegram does not keep the updates the webhook did not ask for.
                self._updates = [u for u in self._updates if self._allowed(u)]
                if not self._updates:
                    await self._webhook_wakeup.wait()
                    continue
                update = self._updates[0]
                delivered = await self._post_update(session, url, headers, update)
                if self._updates and self._updates[0] is update:
                    del self._updates[0]
                (self.webhook_delivered if delivered else self.webhook_given_up).append(
                    update["update_id"]
                )

    async def _post_update(
        self,
        session: aiohttp.ClientSession,
        url: str,
        headers: dict[str, str],
        update: dict[str, Any],
    ) -> bool:
        for attempt in range(self.webhook_attempts):
            if attempt:
                await asyncio.sleep(self.webhook_retry_delay)
            try:
                async with session.post(url, json=update, headers=headers) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        return True
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc.__class__.__name__}"
            self._webhook_error = (_now(), error)
        return False

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.polls += 1
        if self._polling:
            self.poll_overlaps += 1
        self._polling += 1
        try:
            return await self._get_updates(params)
        finally:
            self._polling -= 1

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(409, _WEBHOOK_CONFLICT)
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if params.get("allowed_updates") is not None:
            self.allowed_updates = list(params["allowed_updates"]) or None
        if offset > 0:
            # Confirmed: "An update is considered confirmed as soon as getUpdates is called with
            # an offset higher than its update_id."
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while True:
            self._new_update.clear()
            ready = [u for u in self._updates if self._allowed(u)]
            remaining = deadline - time.monotonic()
            if self.webhook_url:
                raise ApiError(409, _WEBHOOK_CONFLICT)
            if ready or remaining <= 0 or self._closing:
                return ready[:limit]
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except TimeoutError:
                pass

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self.allowed_updates is None:
            # The default: every kind except chat_member (and reactions).
            return kind != "chat_member"
        return kind in self.allowed_updates

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100 commands")
        for c in commands:
            name, description = c.get("command", ""), c.get("description", "")
            if not (1 <= len(name) <= 32) or not all(
                ch.islower() or ch.isdigit() or ch == "_" for ch in name
            ):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not (1 <= len(description) <= 256):
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[(_scope_key(params.get("scope")), params.get("language_code") or "")] = (
            commands
        )
        return True

    def _api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return self.commands.get(
            (_scope_key(params.get("scope")), params.get("language_code") or ""), []
        )

    def _api_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(
            (_scope_key(params.get("scope")), params.get("language_code") or ""), None
        )
        return True

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        self._flood_control(chat)
        markup = params.get("reply_markup")
        message = self._new_message(chat, self.bot, text=text)
        if markup:
            message["reply_markup"] = markup
        self.sent.append(SentMessage(chat.id, message["message_id"], text, markup))
        return message

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        message = chat.messages.get(params.get("message_id"))  # type: ignore[arg-type]
        if message is None or message["from"]["id"] != BOT_ID:
            raise ApiError(400, "Bad Request: message to edit not found")
        same_markup = message.get("reply_markup") == params.get("reply_markup")
        if message.get("text") == params.get("text") and same_markup:
            raise ApiError(400, _NOT_MODIFIED)
        message["text"] = params.get("text")
        self._set_markup(chat, message, params.get("reply_markup"))
        return message

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        message = chat.messages.get(params.get("message_id"))  # type: ignore[arg-type]
        if message is None or message["from"]["id"] != BOT_ID:
            raise ApiError(400, "Bad Request: message to edit not found")
        self._set_markup(chat, message, params.get("reply_markup"))
        return message

    def _set_markup(
        self, chat: Chat, message: dict[str, Any], markup: dict[str, Any] | None
    ) -> None:
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        for sent in self.sent:
            if sent.chat_id == chat.id and sent.message_id == message["message_id"]:
                sent.reply_markup = markup or None
                sent.text = message.get("text", sent.text)

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        self.answered.append(params)
        return True

    def _api_deleteMessage(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params)
        message_id = params.get("message_id")
        message = chat.messages.get(message_id)  # type: ignore[arg-type]
        if message is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        if chat.is_group and message["from"]["id"] != BOT_ID:
            self._require_right(
                chat, "can_delete_messages", "Bad Request: message can't be deleted"
            )
        del chat.messages[message_id]  # type: ignore[arg-type]
        self.deleted.append((chat.id, message_id))  # type: ignore[arg-type]
        return True

    def _api_setChatPermissions(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params)
        self._require_right(
            chat,
            "can_restrict_members",
            "Bad Request: not enough rights to change chat permissions",
        )
        chat.permissions = dict(params.get("permissions") or {})
        return True

    def _api_createChatInviteLink(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        self._require_right(
            chat, "can_invite_users", "Bad Request: not enough rights to manage chat invite link"
        )
        link: dict[str, Any] = {
            "invite_link": f"https://t.me/+{secrets.token_urlsafe(12)}",
            "creator": self.bot,
            "creates_join_request": bool(params.get("creates_join_request")),
            "is_primary": False,
            "is_revoked": False,
        }
        if params.get("name"):
            link["name"] = params["name"]
        self.invite_links[chat.id].append(link)
        return link

    def _api_approveChatJoinRequest(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params)
        self._require_right(
            chat, "can_invite_users", "Bad Request: not enough rights to manage chat invite link"
        )
        user_id = params.get("user_id")
        if chat.members.get(user_id) in _MEMBER_STATUSES:  # type: ignore[arg-type]
            raise ApiError(400, "Bad Request: USER_ALREADY_PARTICIPANT")
        if user_id not in chat.join_requests:
            raise ApiError(400, "Bad Request: HIDE_REQUESTER_MISSING")
        chat.join_requests.discard(user_id)  # type: ignore[arg-type]
        old = self._member_obj(chat, user_id)  # type: ignore[arg-type]
        chat.members[user_id] = "member"  # type: ignore[index]
        self.approved.append((chat.id, user_id))  # type: ignore[arg-type]
        user = self.users[user_id]  # type: ignore[index]
        self._push("message", self._new_message(chat, user, new_chat_members=[user]))
        extra: dict[str, Any] = {"via_join_request": True}
        link = self._link(chat.id, None)
        if link is not None:
            extra["invite_link"] = link
        self._push("chat_member", self._member_update(chat, self.bot, user_id, old=old, **extra))  # type: ignore[arg-type]
        return True

    def _api_declineChatJoinRequest(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params)
        self._require_right(
            chat, "can_invite_users", "Bad Request: not enough rights to manage chat invite link"
        )
        user_id = params.get("user_id")
        if user_id not in chat.join_requests:
            raise ApiError(400, "Bad Request: HIDE_REQUESTER_MISSING")
        chat.join_requests.discard(user_id)  # type: ignore[arg-type]
        self.declined.append((chat.id, user_id))  # type: ignore[arg-type]
        return True

    def _target(self, params: dict[str, Any]) -> int:
        user_id = params.get("user_id")
        if user_id not in self.users:
            raise ApiError(400, "Bad Request: PARTICIPANT_ID_INVALID")
        return user_id  # type: ignore[return-value]

    def _api_banChatMember(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params)
        self._require_right(
            chat,
            "can_restrict_members",
            "Bad Request: not enough rights to restrict/unrestrict chat member",
        )
        user_id = self._target(params)
        status = chat.members.get(user_id, "left")
        if status == "creator":
            raise ApiError(400, "Bad Request: can't remove chat owner")
        if status == "administrator":
            raise ApiError(400, "Bad Request: user is an administrator of the chat")
        self.banned.append((chat.id, user_id))
        if status != "kicked":
            old = self._member_obj(chat, user_id)
            chat.members[user_id] = "kicked"
            self._push("chat_member", self._member_update(chat, self.bot, user_id, old=old))
        return True

    def _api_unbanChatMember(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params)
        if chat.type != "supergroup":
            raise ApiError(
                400, "Bad Request: method is available for supergroup and channel chats only"
            )
        self._require_right(
            chat,
            "can_restrict_members",
            "Bad Request: not enough rights to restrict/unrestrict chat member",
        )
        user_id = self._target(params)
        status = chat.members.get(user_id, "left")
        if status in ("creator", "administrator"):
            raise ApiError(400, "Bad Request: user is an administrator of the chat")
        if status != "kicked" and params.get("only_if_banned"):
            return True
        self.unbanned.append((chat.id, user_id))
        if status != "left":
            # Without only_if_banned a member is removed too: afterwards the user is not a member.
            old = self._member_obj(chat, user_id)
            chat.members[user_id] = "left"
            self._push("chat_member", self._member_update(chat, self.bot, user_id, old=old))
        return True

    def _api_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        user_id = params.get("user_id")
        if user_id not in self.users:
            raise ApiError(400, "Bad Request: user not found")
        return self._member_obj(chat, user_id)  # type: ignore[arg-type]

    def _api_getChatAdministrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self._chat(params)
        return [
            self._member_obj(chat, u)
            for u, s in chat.members.items()
            if s in ("creator", "administrator")
        ]

    def _api_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        info: dict[str, Any] = {
            **self._chat_obj(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        if chat.is_group and chat.permissions is not None:
            info["permissions"] = chat.permissions
        return info


def _scope_key(scope: Any) -> str:
    if not scope:
        return "default"
    if isinstance(scope, str):
        scope = json.loads(scope)
    key = scope.get("type", "default")
    if "chat_id" in scope:
        key += f":{scope['chat_id']}"
    if "user_id" in scope:
        key += f":{scope['user_id']}"
    return key


def _now() -> int:
    return int(time.time())


async def _parameters(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in request.query.items():
        params[key] = _decode(key, value)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            params.update(body or {})
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = _decode(key, value)
    return params


def _decode(key: str, value: str) -> Any:
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
