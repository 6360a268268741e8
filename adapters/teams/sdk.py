"""The Agents SDK wired for klasbot: the CloudAdapter, the AgentApplication and the token
provider (client credentials against Microsoft Entra, without MSAL)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import (
    AgentApplication,
    AgentAuthConfiguration,
    AnonymousTokenProvider,
    ConnectionManager,
    MemoryStorage,
    OutboundHostValidator,
    TurnState,
)

from config.settings import TeamsSettings

logger = logging.getLogger(__name__)

# The SDK logs every connector failure at ERROR with the URL (conversation ids): keep it quiet,
# klasbot logs what it makes of the failure.
logging.getLogger("microsoft_agents").setLevel(logging.CRITICAL)

TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"


class ClientCredentials:
    """App-only tokens for the Bot Connector (OAuth2 client credentials), cached until a minute
    before they expire: the SDK's `AccessTokenProviderBase` without MSAL (which needs Python
    3.12 together with the rest of the SDK)."""

    def __init__(self, config: AgentAuthConfiguration, *, timeout: float = 15.0) -> None:
        self._config = config
        self._timeout = timeout
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._config

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        scope = " ".join(scopes) or f"{resource_url.rstrip('/')}/.default"
        async with self._lock:
            cached = self._tokens.get(scope)
            if cached and not force_refresh and cached[1] > time.monotonic():
                return cached[0]
            c = self._config
            url = TOKEN_URL.format(tenant=c.TENANT_ID or "botframework.com")
            form = {
                "grant_type": "client_credentials",
                "client_id": c.CLIENT_ID or "",
                "client_secret": c.CLIENT_SECRET or "",
                "scope": scope,
            }
            timeout = aiohttp.ClientTimeout(total=self._timeout)
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(url, data=form) as response,
            ):
                body: dict[str, Any] = await response.json(content_type=None)
                if response.status != 200 or "access_token" not in body:
                    raise ValueError(
                        f"no token from Entra ({response.status}: {body.get('error')})"
                    )
            token = str(body["access_token"])
            self._tokens[scope] = (token, time.monotonic() + float(body.get("expires_in", 0)) - 60)
            return token

    def get_token_credential(self) -> Any:
        raise NotImplementedError("klasbot needs only app-only tokens")

    async def acquire_token_on_behalf_of(self, scopes: list[str], user_assertion: str) -> str:
        raise NotImplementedError("klasbot needs only app-only tokens")


def build(
    settings: TeamsSettings,
) -> tuple[CloudAdapter, AgentApplication[TurnState], ConnectionManager]:
    anonymous = settings.allow_unauthenticated
    config = AgentAuthConfiguration(
        client_id=settings.app_id,
        tenant_id=settings.tenant_id,
        client_secret=settings.app_password,
        anonymous_allowed=anonymous,
    )

    def provider(c: AgentAuthConfiguration) -> Any:
        return AnonymousTokenProvider() if anonymous else ClientCredentials(c)

    connections = ConnectionManager(
        provider_factory=provider, connections_configurations={"SERVICE_CONNECTION": config}
    )
    adapter = CloudAdapter(
        connection_manager=connections,
        host_validator=OutboundHostValidator(enabled=not anonymous),
    )
    app = AgentApplication[TurnState](
        storage=MemoryStorage(), connection_manager=connections, start_typing_timer=False
    )
    return adapter, app, connections
