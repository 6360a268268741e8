"""Fixtures for the Teams adapter: a fake Bot Connector on loopback and a klasbot whose
TeamsPlatform serves /api/messages through the real Microsoft 365 Agents SDK (authentication
off, as `KLASBOT_TEAMS__ALLOW_UNAUTHENTICATED` allows for local testing)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.oneroster.reader import read_roster
from adapters.teams.platform import TeamsPlatform
from bot import bootstrap
from bot.clock import FrozenClock
from bot.domain import Group
from bot.usecases import invites as invite_uc
from bot.usecases import roster as roster_uc
from tests.conftest import DEMO_ROSTER, make_settings
from tests.support.fake_connector import FakeConnector

APP_ID = "00000000-0000-0000-0000-00000000b07"
BOT = f"28:{APP_ID}"
TENANT = "11111111-1111-1111-1111-111111111111"
TEAM = "19:team2b@thread.tacv2"
CHANNEL = "19:chan2b@thread.tacv2"
DOMAIN = "passie-utrecht.example"
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)  # 11:00 in Amsterdam on a Monday
# Roster person -> (Teams name, user principal name); the account id is "aad-<person>". The
# demo roster's pupils have a username without a domain; a school's OneRoster export carries
# the sign-in name (the UPN) there, so the pupils' UPNs here are those usernames.
USERS = {
    "t-devries": ("Jan de Vries", f"j.devries@{DOMAIN}"),
    "t-bakker": ("Fatima Bakker", f"f.bakker@{DOMAIN}"),
    "p-2b-01": ("Zoë van den Berg", "zoe.vandenberg"),
    "p-2b-02": ("Daan de Jong", "daan.dejong"),
    "stranger": ("Iemand Anders", f"iemand.anders@{DOMAIN}"),
}
_ids = itertools.count(1_700_000_000_000)


def aad(person: str) -> str:
    return f"aad-{person}"


def member(person: str) -> dict[str, Any]:
    name, upn = USERS[person]
    return {
        "id": f"29:{person}",
        "name": name,
        "aadObjectId": aad(person),
        "userPrincipalName": upn,
        "email": upn,
        "tenantId": TENANT,
        "userRole": "user",
    }


@dataclass
class Teams:
    fake: FakeConnector
    platform: TeamsPlatform
    app: bootstrap.App
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        assert self.platform.url is not None
        return self.platform.url

    def _base(self, person: str) -> dict[str, Any]:
        return {
            "id": str(next(_ids)),
            "channelId": "msteams",
            "serviceUrl": self.fake.base_url,
            "timestamp": "2026-11-23T10:00:00.000Z",
            "locale": "nl-NL",
            "from": {"id": f"29:{person}", "name": USERS[person][0], "aadObjectId": aad(person)},
            "recipient": {"id": BOT, "name": "Klasbot"},
        }

    async def send(self, activity: dict[str, Any]) -> int:
        body = {k: v for k, v in activity.items() if v is not None}
        async with self.http.post(self.url, json=body) as response:
            status = response.status
        await self.platform.settle()
        return status

    async def in_channel(self, person: str, text: str) -> int:
        base = self._base(person)
        return await self.send(
            {
                **base,
                "type": "message",
                "conversation": {
                    "id": f"{CHANNEL};messageid={base['id']}",
                    "conversationType": "channel",
                    "isGroup": True,
                    "tenantId": TENANT,
                },
                "text": f"<at>Klasbot</at> {text}",
                "entities": [
                    {"type": "mention", "text": "<at>Klasbot</at>", "mentioned": {"id": BOT}}
                ],
                "channelData": {
                    "teamsChannelId": CHANNEL,
                    "teamsTeamId": TEAM,
                    "channel": {"id": CHANNEL},
                    "team": {"id": TEAM},
                    "tenant": {"id": TENANT},
                },
            }
        )

    def personal_chat(self, person: str) -> str:
        chat = f"a:personal-{person}"
        self.fake.members[chat] = [member(person)]
        return chat

    async def in_private(
        self, person: str, text: str | None = None, value: dict[str, Any] | None = None
    ) -> int:
        return await self.send(
            {
                **self._base(person),
                "type": "message",
                "conversation": {
                    "id": self.personal_chat(person),
                    "conversationType": "personal",
                    "tenantId": TENANT,
                },
                "text": text,
                "value": value,
                "channelData": {"tenant": {"id": TENANT}},
            }
        )

    async def members_update(
        self,
        *,
        added: Sequence[str] = (),
        removed: Sequence[str] = (),
    ) -> int:
        return await self.send(
            {
                **self._base("t-devries"),
                "type": "conversationUpdate",
                "conversation": {
                    "id": TEAM,
                    "conversationType": "channel",
                    "isGroup": True,
                    "tenantId": TENANT,
                },
                "membersAdded": [{"id": m} for m in added] or None,
                "membersRemoved": [{"id": m} for m in removed] or None,
                "channelData": {
                    "eventType": "teamMemberAdded" if added else "teamMemberRemoved",
                    "team": {"id": TEAM, "name": "Klas 2B"},
                    "tenant": {"id": TENANT},
                },
            }
        )

    def install(self, action: str) -> dict[str, Any]:
        """The bot installed in (`add`) or removed from (`remove`) the team."""
        return {
            **self._base("t-devries"),
            "type": "installationUpdate",
            "action": action,
            "conversation": {"id": TEAM, "conversationType": "channel", "tenantId": TENANT},
            "channelData": {"team": {"id": TEAM}, "tenant": {"id": TENANT}},
        }

    async def link(self, person: str) -> None:
        """Link `person` as a pupil does when their account does not match: /start CODE."""
        async with self.app.db.transaction() as tx:
            if await tx.accounts.person_of("teams", aad(person)) is not None:
                return
        [invite] = await invite_uc.create_invites(self.app.ctx, person_ref=person)
        assert await self.in_private(person, f"/start {invite.code}") == 202
        assert await self.linked(person) == person

    async def linked(self, person: str) -> str | None:
        async with self.app.db.transaction() as tx:
            found = await tx.accounts.person_of("teams", aad(person))
        return found.id if found else None

    async def group(self) -> Group | None:
        async with self.app.db.transaction() as tx:
            return await tx.groups.by_chat("teams", CHANNEL)

    def texts_to(self, conversation: str) -> list[str]:
        """The text of every activity the bot posted into a conversation (thread or channel)."""
        return [
            str(c.body.get("text") or "")
            for c in self.fake.sent()
            if c.path.split("/")[3].split(";")[0] == conversation
        ]


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[Teams]:
    settings = make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'klasbot.db'}",
        KLASBOT_TEAMS__ALLOW_UNAUTHENTICATED="true",
    )
    await bootstrap.migrate(settings)
    platform = TeamsPlatform(settings.teams, port=0, host="127.0.0.1", timeout=5)
    async with (
        FakeConnector() as fake,
        aiohttp.ClientSession() as http,
        bootstrap.build(
            settings, clock=FrozenClock(NOW), extra_platforms={"teams": platform}
        ) as app,
    ):
        await roster_uc.import_roster(app.ctx, read_roster(DEMO_ROSTER))
        fake.members[TEAM] = [
            member(p) for p in ("t-devries", "t-bakker", "p-2b-01", "p-2b-02", "stranger")
        ]
        async with platform.running(app.chat):
            yield Teams(fake, platform, app, http)
    assert platform.errors == [], platform.errors
