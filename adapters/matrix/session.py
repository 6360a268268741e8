"""The bot's session on the homeserver: its login, its device, its transaction ids, and the small
state it keeps in the core (`platform_state`).

Login: a configured access token; else the session of an earlier password login, as any Matrix
client keeps it (logging in on every start would meet Synapse's rc_login limit); else a password
login, whose session is stored for the next start. Nothing logs in before the platform is
attached to the core, which keeps the state.

The device id is stored too and reused on the next password login: Synapse deduplicates a
transaction id per user and device, so a post resent after a crash (same idempotency key, same
device) is not posted twice. Transaction ids must be unique per device forever; a fresh database
must not reuse the keys of an old one, so every installation gets a prefix of its own (`txn`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, LoginResponse, WhoamiResponse

from adapters.matrix.errors import NETWORK_ERRORS, translate_exception
from bot.errors import TransientDeliveryError
from bot.ports import ChatCore

logger = logging.getLogger(__name__)

NAME = "matrix"


@dataclass
class MatrixStats:
    """What the adapter met; the benchmark prints these."""

    logins: int = 0  # password logins (a stored session is reused instead when it is valid)
    requests: int = 0
    commands: int = 0  # messages in direct chats handled
    posts: int = 0
    rate_limited: int = 0
    network_errors: int = 0


class MatrixSession:
    """The logged-in client (`client`, None until the first request or `connect`) and the core
    the platform reports to and keeps its state in (`core`, set by `MatrixPlatform.attach`)."""

    def __init__(
        self,
        *,
        homeserver: str,
        user_id: str,
        password: str | None,
        access_token: str | None,
        device_id: str | None,
        store_path: Path | None,
        stats: MatrixStats,
    ) -> None:
        if not password and not access_token:
            raise ValueError("Matrix needs a password or an access token")
        self.homeserver = homeserver
        self.user_id = user_id  # the homeserver's spelling once logged in
        self._password = password
        self._access_token = access_token
        self._device_id = device_id
        self.store_path = store_path
        self.stats = stats
        self.core: ChatCore | None = None
        self.client: AsyncClient | None = None
        self._txn_prefix = ""
        self._connecting = asyncio.Lock()

    async def connect(self) -> None:
        """Log in, reusing the stored session and device. Idempotent."""
        async with self._connecting:
            if self.client is None:
                self.client = await self._login()

    async def connected(self) -> AsyncClient:
        """The client, logging in first when needed; a failed login is a TransientDeliveryError."""
        if self.client is None:
            try:
                await self.connect()
            except NETWORK_ERRORS as exc:  # ConnectionError (login refused) is an OSError
                raise translate_exception(exc, "login") from exc
        assert self.client is not None
        return self.client

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.close()

    def lang(self) -> str:
        """The school's language, for what the bot says before it knows who reads it."""
        return self.core.language if self.core else "nl"

    def txn(self, key: str) -> str:
        """The transaction id for `key` (only once logged in: the prefix is stored state)."""
        assert self._txn_prefix, "transaction ids need a login"
        return f"klasbot-{self._txn_prefix}-{key}"

    async def state(self, key: str) -> str | None:
        assert self.core is not None
        return await self.core.platform_state(NAME, key)

    async def set_state(self, key: str, value: str) -> None:
        assert self.core is not None
        await self.core.set_platform_state(NAME, key, value)

    async def _login(self) -> AsyncClient:
        if self.core is None:
            raise TransientDeliveryError("the Matrix platform is not attached to klasbot")
        self._txn_prefix = await self.state("txn_prefix") or ""
        if not self._txn_prefix:
            self._txn_prefix = secrets.token_hex(4)
            await self.set_state("txn_prefix", self._txn_prefix)
        device_id = self._device_id or await self.state("device_id") or ""
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
            token = self._access_token or await self.state("session")
            session_user = await self.state("session_user")
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
                await self.set_state("session", response.access_token)
                await self.set_state("session_user", response.user_id)
        except BaseException:
            await client.close()
            raise
        self.user_id = client.user_id or self.user_id
        if device_id:
            await self.set_state("device_id", device_id)
        logger.info("matrix: logged in as %s (device %s)", self.user_id, device_id)
        return client
