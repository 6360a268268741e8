"""Microsoft Teams: announcements in the class team's channel, through the Microsoft 365 Agents
SDK (`CloudAdapter` + `AgentApplication` on aiohttp, `POST /api/messages`).

- `@Klasbot /koppel KLAS` in a channel (the SDK strips the mention) binds the channel (chat id:
  the channel's conversation id without `;messageid=`) through the core; the conversation
  reference is kept in the platform state (`ref:<chat id>`) and refreshed by every message.
- Accounts are the Entra object ids (`aadObjectId`). An account the core does not know is linked
  by its school account (user principal name / e-mail, `linking.link_by_school_account`);
  `/start CODE` in the personal chat works as everywhere.
- The team's members are read when a channel is bound and on every membership update and
  reported to the core (`member_joined` / `member_left`); a bot cannot remove members, so the
  core reports who may not be there (`can_remove_members=False`).
- Staff commands in the personal chat; an announcement's preview is an Adaptive Card with
  "Send"/"Cancel" (`Action.Submit`).
- Posts are proactive (`continue_conversation_with_claims`), text plus an Adaptive Card; errors
  are translated in `adapters.teams.errors`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from microsoft_agents.activity import (
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
)
from microsoft_agents.hosting.aiohttp import jwt_authorization_decorator, start_agent_process
from microsoft_agents.hosting.core import TurnContext, TurnState
from microsoft_agents.hosting.core.app.proactive import Conversation
from microsoft_agents.hosting.core.connector import ConnectorClientBase

from adapters.teams import cards
from adapters.teams.activities import channel_of, clean, member_names, team_of
from adapters.teams.capabilities import capabilities
from adapters.teams.errors import delivery_error
from adapters.teams.sdk import build
from adapters.telegram import texts  # the preview's and the buttons' words are the same
from bot.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from bot.i18n import Msg
from bot.ports import ChatCore, GroupMessage, Reply
from bot.ratelimit import Rate, RateLimiter
from config.settings import TeamsSettings

M_MODERATION = Msg(
    "Only the bot may post here (rule 3), and a bot cannot see this channel's settings: turn on "
    "channel moderation (channel, ⋯, Manage channel) with the class's staff as moderators and "
    "with bots allowed to post."
)

__all__ = ["TeamsPlatform"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
START_WAIT = 60.0
"""Seconds a request that comes while klasbot is still starting waits for the platform to run."""


class TeamsPlatform:
    """The `ChatPlatform` for Microsoft Teams (see the module docstring)."""

    name = "teams"

    def __init__(
        self,
        settings: TeamsSettings,
        *,
        port: int | None = None,
        host: str = "0.0.0.0",  # noqa: S104 - Teams calls the bot from outside
        timeout: float = 15.0,
        limiter: RateLimiter | None = None,
    ) -> None:
        if not settings.allow_unauthenticated and not (settings.app_id and settings.app_password):
            raise ValueError(
                "Teams needs KLASBOT_TEAMS__APP_ID and KLASBOT_TEAMS__APP_PASSWORD"
                " (or KLASBOT_TEAMS__ALLOW_UNAUTHENTICATED=true for local testing)"
            )
        self.settings = settings
        self.capabilities = capabilities(settings)
        self.port = port
        self.host = host
        self.timeout = timeout
        # Teams throttles per bot and conversation (about 7 messages a second, 60 in 30 s).
        channel = Rate(1.0, 1.0, burst=5)  # about 60 in 30 s, short bursts allowed
        self.limiter = limiter or RateLimiter(Rate(30.0, 1.0, burst=10), per_chat=lambda c: channel)
        self.errors: list[BaseException] = []  # handler failures (logged too), for tests
        self.url: str | None = None  # http://host:port/api/messages once serving
        self._core: ChatCore | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lost: set[str] = set()
        self._known: set[str] = set()
        # Set while `running`: the endpoint may be served (by `klasbot run`'s shared server)
        # before the platform runs; a request that comes that early waits for it.
        self._ready = asyncio.Event()
        self.adapter, self.app, self.connections = build(settings)
        self.adapter.on_turn_error = self._on_turn_error
        self._register()

    @property
    def core(self) -> ChatCore:
        if self._core is None:
            raise RuntimeError("the Teams platform is not running")
        return self._core

    # ------------------------------------------------------------------------ lifecycle

    def routes(self, web_app: web.Application) -> None:
        """Add `POST /api/messages` (with the SDK's JWT check on that route only) to an app."""
        with warnings.catch_warnings():
            # The SDK's middleware reads this string key (not an `AppKey`).
            warnings.simplefilter("ignore", web.NotAppKeyWarning)
            web_app["agent_configuration"] = self.connections.get_default_connection_configuration()
        web_app.router.add_post(
            "/api/messages",
            jwt_authorization_decorator(self._messages),  # type: ignore[no-untyped-call]
        )

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        try:
            async with asyncio.timeout(START_WAIT):
                await self._ready.wait()
        except TimeoutError:
            # Not running (yet): the connector tries again later.
            return web.Response(status=503, text="starting")
        response = await start_agent_process(request, self.app, self.adapter)
        return response or web.Response(status=202)

    @asynccontextmanager
    async def running(
        self, core: ChatCore, *, receive: bool = True
    ) -> AsyncIterator[TeamsPlatform]:
        """Serve the endpoint on `port` (when receiving and a port is set); sending needs only
        the stored conversation references."""
        self._core = core
        self._ready.set()
        try:
            if receive and self.port is not None:
                web_app = web.Application()
                self.routes(web_app)
                self._runner = web.AppRunner(web_app, access_log=None)
                await self._runner.setup()
                site = web.TCPSite(self._runner, self.host, self.port)
                await site.start()
                server = site._server
                sockets = getattr(server, "sockets", None) or []
                port = sockets[0].getsockname()[1] if sockets else self.port
                self.url = f"http://{self.host}:{port}/api/messages"
                logger.info("teams: serving /api/messages on port %s", port)
            yield self
        finally:
            self._ready.clear()
            await self.settle()
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None
            self._core = None

    async def settle(self) -> None:
        """Wait for the work started after a turn (member synchronisation)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _later(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception as error:
                self.errors.append(error)
                logger.error("teams: background work failed", exc_info=error)

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_turn_error(self, context: TurnContext, error: Exception) -> None:
        # Never the SDK's default, which posts the exception into the conversation.
        self.errors.append(error)
        logger.error("teams: handling a %s activity failed", context.activity.type, exc_info=error)

    # ------------------------------------------------------------------------ proactive calls

    async def _reference(self, chat_id: str) -> str | None:
        return await self.core.platform_state(self.name, f"ref:{chat_id}")

    async def _proactive(
        self,
        stored: str,
        work: Callable[[TurnContext], Awaitable[T]],
        *,
        conversation_id: str | None = None,
        channel: bool = True,
    ) -> T:
        """Run `work` in a stored conversation (a new message, not a reply in a thread); every
        failure becomes the core's delivery error."""
        conversation = Conversation.from_json_to_store_item(json.loads(stored))
        continuation = conversation.conversation_reference.get_continuation_activity()
        continuation.id = None  # else every send is a reply to a random id
        if conversation_id is not None:
            continuation.conversation.id = conversation_id
        results: list[T] = []
        caught: list[BaseException] = []

        async def callback(context: TurnContext) -> None:
            try:
                results.append(await work(context))
            except Exception as error:
                caught.append(error)

        identity = Conversation.identity_from_claims(conversation.claims)
        try:
            async with asyncio.timeout(self.timeout):
                await self.adapter.continue_conversation_with_claims(
                    identity, continuation, callback
                )
        except Exception as error:
            raise delivery_error(error, channel=channel) from error
        if caught:
            raise delivery_error(caught[0], channel=channel) from caught[0]
        return results[0]

    # ------------------------------------------------------------------------ the port

    async def post(self, message: GroupMessage, *, silent: bool = False) -> str:
        """Post an announcement into the bound channel: its text, and the same as an Adaptive
        Card. `silent` has no Teams equivalent (members' channel settings decide)."""
        chat_id = message.chat_id
        stored = await self._reference(chat_id)
        if stored is None:
            raise PermanentDeliveryError("teams: channel not bound here", reason="group-lost")
        await self.limiter.acquire(chat_id)

        async def send(context: TurnContext) -> str:
            response = await context.send_activity(cards.card_activity(message.text))
            if response is None or not response.id:
                raise TransientDeliveryError("teams: the connector gave no message id")
            return str(response.id)

        try:
            return await self._proactive(stored, send)
        except PermanentDeliveryError as error:
            raise await self._lost_or_refused(chat_id, stored, error) from error.__cause__

    async def edit(self, chat_id: str, message_id: str, message: GroupMessage) -> None:
        stored = await self._reference(chat_id)
        if stored is None:
            raise PermanentDeliveryError("teams: channel not bound here", reason="group-lost")
        await self.limiter.acquire(chat_id)
        activity = cards.card_activity(message.text)
        activity.id = message_id

        async def update(context: TurnContext) -> None:
            await context.update_activity(activity)

        try:
            await self._proactive(stored, update)
        except PermanentDeliveryError as error:
            raise await self._lost_or_refused(chat_id, stored, error) from error.__cause__

    async def _lost_or_refused(
        self, chat_id: str, stored: str, error: PermanentDeliveryError
    ) -> DeliveryError:
        """A 404, or a 403 while the team's members cannot be read either: the bot is out of
        the team (the group is lost). A 403 while the members can be read is the channel
        refusing the post (moderation that excludes bots): not lost, staff must fix it."""
        if error.reason != "group-lost":
            return error
        cause = error.__cause__
        if isinstance(cause, aiohttp.ClientResponseError) and cause.status == 403:
            team_id = await self.core.platform_state(self.name, f"channel:{chat_id}") or chat_id

            async def read(context: TurnContext) -> None:
                client: Any = context.services.get(ConnectorClientBase)
                await client.conversations.get_conversation_members(team_id)

            try:
                await self._proactive(stored, read)
            except PermanentDeliveryError:
                pass  # out of the team
            except TransientDeliveryError:
                return TransientDeliveryError("teams: 403 on a post; membership unknown")
            else:
                logger.error(
                    "teams: the channel %s refuses the bot's posts (channel moderation?)", chat_id
                )
                return PermanentDeliveryError("teams: the channel refuses the bot's posts")
        await self._group_lost(chat_id)
        return error

    async def admit(self, chat_id: str, account_id: str) -> bool:
        """A bot cannot add members (the school's administration fills the team): True when
        they are a member already."""
        members = await self._members(chat_id)
        if account_id in members:
            return True
        logger.info("teams: %s is not in the team of %s; the school adds them", account_id, chat_id)
        return False

    async def create_group(self, roster: Any) -> str:
        raise PermanentDeliveryError("teams: a bot cannot create teams")

    async def remove(self, chat_id: str, account_id: str, reason: str) -> None:
        # Never called: the platform declares it cannot remove members.
        logger.warning("teams: cannot remove %s from %s (%s)", account_id, chat_id, reason)

    async def _group_lost(self, chat_id: str) -> None:
        if chat_id in self._lost:
            return
        self._lost.add(chat_id)
        await self.core.group_lost(self.name, chat_id)

    # ------------------------------------------------------------------------ incoming

    def _register(self) -> None:
        app = self.app
        app.activity(ActivityTypes.message)(self._on_message)
        app.conversation_update("membersAdded")(self._on_members)
        app.conversation_update("membersRemoved")(self._on_members)
        app.installation_update()(self._on_installation)

    def _sender(self, context: TurnContext) -> str:
        sender = context.activity.from_property
        return str(sender.aad_object_id or sender.id)

    async def _on_message(self, context: TurnContext, state: TurnState) -> None:
        activity = context.activity
        kind = activity.conversation.conversation_type
        submitted = cards.submitted(activity.value)
        if kind == "personal":
            await self._ensure_linked(context, activity.conversation.id)
            if submitted is not None:
                await self._on_submit(context, submitted)
            else:
                await self._on_personal(context)
        elif kind == "channel":
            await self._on_channel(context)

    async def _say(self, context: TurnContext, reply: Reply) -> None:
        lang = await self.core.language_of(self.name, self._sender(context))
        if reply.confirmation is not None:
            token = reply.confirmation
            actions = [
                cards.submit(texts.SEND_BUTTON(lang), {"action": "send", "token": token}),
                cards.submit(texts.CANCEL_BUTTON(lang), {"action": "cancel", "token": token}),
            ]
            text = texts.PREVIEW(lang, text="\n\n".join(reply.texts))
            await context.send_activity(cards.card_activity(text, actions))
        elif reply.actions:
            actions = [
                cards.submit(label, {"action": "cmd", "command": command})
                for label, command in reply.actions
            ]
            await context.send_activity(cards.card_activity("\n\n".join(reply.texts), actions))
        elif reply.texts:
            await context.send_activity("\n\n".join(reply.texts))

    async def _on_personal(self, context: TurnContext) -> None:
        account_id = self._sender(context)
        await self.core.set_platform_state(
            self.name, f"chat:{account_id}", self._store(Conversation.from_turn_context(context))
        )
        text = clean(context.activity.text)
        reply = await self.core.handle(self.name, account_id, text, preview=True)
        await self._say(context, reply)

    async def _on_submit(self, context: TurnContext, data: dict[str, str]) -> None:
        account_id = self._sender(context)
        action = data.get("action")
        if action == "send":
            reply = await self.core.confirm(self.name, account_id, data.get("token"))
        elif action == "cancel":
            reply = await self.core.cancel(self.name, account_id, data.get("token"))
        elif action == "cmd" and data.get("command"):
            reply = await self.core.handle(self.name, account_id, data["command"], preview=True)
        else:
            return
        await self._say(context, reply)

    async def _on_channel(self, context: TurnContext) -> None:
        activity = context.activity
        chat_id = channel_of(activity)
        team_id = team_of(activity)
        account_id = self._sender(context)
        await self._ensure_linked(context, team_id or chat_id, chat_id)
        if await self.core.is_class_group(self.name, chat_id):
            await self._keep_reference(context, chat_id, team_id)  # serviceUrl may change
        text = clean(activity.text)
        reply = await self.core.handle(
            self.name, account_id, text, chat_id=chat_id, in_group=True, preview=True
        )
        if reply.group is not None:
            # Bound now: keep where to post, and read who is in the team.
            chat_id = reply.group.chat_id
            self._lost.discard(chat_id)
            await self._keep_reference(context, chat_id, team_id)
            lang = await self.core.language_of(self.name, account_id)
            await self._say(context, Reply([*reply.texts, M_MODERATION(lang)]))
            self._later(self._sync(chat_id))
            return
        if reply.delete_original:
            # A bound channel is for the bot's posts: an answer (a staff command's preview
            # too) goes to the sender's personal chat, never into the channel.
            if reply.texts or reply.confirmation:
                personal = await self._personal_chat(context, account_id)
                if personal is not None:
                    await self._proactive(
                        personal, lambda c: self._say_as(c, account_id, reply), channel=False
                    )
            return
        if reply.texts and text.startswith(("/", "!")):
            await self._say(context, reply)

    async def _personal_chat(self, context: TurnContext, account_id: str) -> str | None:
        """The stored reference of the sender's personal chat with the bot; started through
        the connector when there is none yet."""
        stored = await self.core.platform_state(self.name, f"chat:{account_id}")
        if stored is not None:
            return stored
        activity = context.activity
        tenant = activity.conversation.tenant_id or (
            (activity.channel_data or {}).get("tenant", {}).get("id")
            if isinstance(activity.channel_data, dict)
            else None
        )
        client: Any = context.services.get(ConnectorClientBase)
        parameters = ConversationParameters(
            is_group=False,
            bot=activity.recipient or ChannelAccount(id=f"28:{self.settings.app_id}"),
            members=[ChannelAccount(id=activity.from_property.id)],
            tenant_id=str(tenant or ""),
            channel_data={"tenant": {"id": tenant}} if tenant else None,
        )
        try:
            async with asyncio.timeout(self.timeout):
                created = await client.conversations.create_conversation(parameters)
        except Exception as error:
            logger.warning("teams: no personal chat with %s: %s", account_id, error)
            return None
        conversation = Conversation.from_turn_context(context)
        conversation.conversation_reference.conversation = ConversationAccount(
            id=created.id, conversation_type="personal", tenant_id=tenant
        )
        stored = self._store(conversation)
        await self.core.set_platform_state(self.name, f"chat:{account_id}", stored)
        return stored

    async def _say_as(self, context: TurnContext, account_id: str, reply: Reply) -> None:
        # A proactive turn has no sender: `_say` reads the language of `from`.
        context.activity.from_property = ChannelAccount(id=account_id, aad_object_id=account_id)
        await self._say(context, reply)

    @staticmethod
    def _store(conversation: Conversation) -> str:
        return json.dumps(conversation.store_item_to_json())

    async def _keep_reference(
        self, context: TurnContext, chat_id: str, team_id: str | None
    ) -> None:
        conversation = Conversation.from_turn_context(context)
        conversation.conversation_reference.conversation.id = chat_id
        await self.core.set_platform_state(self.name, f"ref:{chat_id}", self._store(conversation))
        if team_id:
            await self.core.set_platform_state(self.name, f"channel:{chat_id}", team_id)
            chats = set(
                json.loads(await self.core.platform_state(self.name, f"team:{team_id}") or "[]")
            )
            if chat_id not in chats:
                chats.add(chat_id)
                await self.core.set_platform_state(
                    self.name, f"team:{team_id}", json.dumps(sorted(chats))
                )

    async def _on_members(self, context: TurnContext, state: TurnState) -> None:
        activity = context.activity
        team_id = team_of(activity) or activity.conversation.id
        bot = activity.recipient.id if activity.recipient else None
        removed = [m.id for m in activity.members_removed or []]
        added = [m.id for m in activity.members_added or []]
        chats = json.loads(await self.core.platform_state(self.name, f"team:{team_id}") or "[]")
        if bot is not None and bot in removed:
            for chat_id in chats:
                await self._group_lost(chat_id)
            return
        if bot is not None and bot in added and not chats:
            return  # installed: staff bind a channel with /koppel
        for chat_id in chats:
            self._later(self._sync(chat_id))

    async def _on_installation(self, context: TurnContext, state: TurnState) -> None:
        activity = context.activity
        team_id = team_of(activity)
        if activity.action == "remove" and team_id:
            chats = json.loads(await self.core.platform_state(self.name, f"team:{team_id}") or "[]")
            for chat_id in chats:
                await self._group_lost(chat_id)

    # ------------------------------------------------------------------------ members

    async def _ensure_linked(
        self, context: TurnContext, conversation_id: str, chat_id: str | None = None
    ) -> None:
        """Link the sender by their school account when klasbot does not know them yet."""
        account_id = self._sender(context)
        if account_id in self._known:
            return
        sender = context.activity.from_property
        client: Any = context.services.get(ConnectorClientBase)
        if client is None:
            return
        try:
            async with asyncio.timeout(self.timeout):
                member = await client.conversations.get_conversation_member(
                    conversation_id, sender.id
                )
        except Exception as error:
            logger.info("teams: cannot read member %s: %s", account_id, type(error).__name__)
            return
        await self._link(account_id, member_names(member), chat_id)

    async def _link(self, account_id: str, names: list[str], chat_id: str | None = None) -> None:
        if account_id in self._known or not names:
            return
        if await self.core.link_school_account(self.name, account_id, names, chat_id):
            self._known.add(account_id)

    async def _members(self, chat_id: str) -> set[str]:
        return set(
            json.loads(await self.core.platform_state(self.name, f"members:{chat_id}") or "[]")
        )

    async def _sync(self, chat_id: str) -> None:
        """Read the team's members and tell the core who joined and who left since last time."""
        stored = await self._reference(chat_id)
        team_id = await self.core.platform_state(self.name, f"channel:{chat_id}") or chat_id
        if stored is None:
            return

        async def read(context: TurnContext) -> list[ChannelAccount]:
            client: Any = context.services.get(ConnectorClientBase)
            members: list[ChannelAccount] = await client.conversations.get_conversation_members(
                team_id
            )
            return members

        try:
            members = await self._proactive(stored, read)
        except PermanentDeliveryError as error:
            if error.reason == "group-lost":
                await self._group_lost(chat_id)
            return
        except TransientDeliveryError as error:
            logger.warning("teams: members of %s not read: %s", chat_id, error)
            return
        now: set[str] = set()
        for member in members:
            if member.id.startswith("28:"):
                continue  # a bot
            account_id = str(member.aad_object_id or member.id)
            now.add(account_id)
            await self._link(account_id, member_names(member), chat_id)
        before = await self._members(chat_id)
        await self.core.set_platform_state(self.name, f"members:{chat_id}", json.dumps(sorted(now)))
        for account_id in sorted(now - before):
            await self.core.member_joined(self.name, chat_id, account_id)
        for account_id in sorted(before - now):
            await self.core.member_left(self.name, chat_id, account_id)
