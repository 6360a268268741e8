"""Fixtures for the Telegram adapter: a Bot API emulator on loopback and a klasbot whose
TelegramPlatform talks to it through the real python-telegram-bot library."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.oneroster.reader import read_roster
from adapters.telegram.platform import TelegramPlatform
from bot import bootstrap
from bot.clock import FrozenClock
from bot.domain import AuditEvent, Delivery, Group
from bot.usecases import invites as invite_uc
from bot.usecases import queries
from bot.usecases import roster as roster_uc
from tests.conftest import DEMO_ROSTER, make_settings
from tests.support.telegram_emulator import BotApiEmulator, SentMessage

TOKEN = "123456:TEST-TOKEN"
# 11:00 in Amsterdam on a Monday: outside quiet hours.
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
NAMES = {
    "t-devries": ("Jan", "de Vries"),
    "t-bakker": ("Fatima", "Bakker"),
    "p-2b-01": ("Zoë", "van den Berg"),
    "p-2b-02": ("Daan", "de Jong"),
    "p-2b-03": ("Noor", "El Amrani"),
    "p-2b-04": ("Sem", "Bakker"),
    "p-2b-05": ("Milan", "Çelik"),
    "p-2b-06": ("Sophie", "Mulder"),
    "p-2b-07": ("Lotte", "'t Hart"),
}


@dataclass
class Telegram:
    """The emulator, the platform and the klasbot behind it, with the moves a test makes."""

    emulator: BotApiEmulator
    platform: TelegramPlatform
    app: bootstrap.App
    clock: FrozenClock
    outbox: Path
    accounts: dict[str, int] = field(default_factory=dict)

    def account(self, person: str) -> int:
        """The Telegram account of a roster person (created on first use)."""
        if person not in self.accounts:
            first, last = NAMES.get(person, (person, None))
            self.accounts[person] = self.emulator.user(first, last)
        return self.accounts[person]

    async def settle(self) -> None:
        """Wait until the bot has handled every update, including those its own calls caused."""
        async with asyncio.timeout(20):
            while True:
                last = self.emulator.last_update_id
                await self.platform.wait_handled(last)
                if self.emulator.last_update_id == last:
                    return

    async def say(self, person: str, text: str, chat: int | None = None) -> None:
        self.emulator.user_sends(self.account(person), chat, text)
        await self.settle()

    async def link(self, person: str) -> int:
        """Link `person`'s account the way a pupil does: the code from school, then /start."""
        [invite] = await invite_uc.create_invites(self.app.ctx, person_ref=person)
        await self.say(person, f"/start {invite.code}")
        return self.account(person)

    async def class_group(
        self, klas: str = "2B", *, owner: str = "t-devries", supergroup: bool = True
    ) -> int:
        """The teacher links, creates a group with the bot as administrator and binds it."""
        await self.link(owner)
        chat = self.emulator.group(f"Klas {klas}", owner=self.account(owner), supergroup=supergroup)
        await self.settle()
        await self.say(owner, f"/koppel {klas}", chat)
        assert await self.group(chat) is not None, self.emulator.texts(chat)
        return chat

    async def join(self, person: str, chat: int) -> int:
        """Link `person` and let them ask to join with the link they got."""
        account = await self.link(person)
        self.emulator.join_request(account, chat)
        await self.settle()
        return account

    async def group(self, chat: int) -> Group | None:
        async with self.app.db.transaction() as store:
            return await store.groups.by_chat("telegram", str(chat))

    async def members(self, chat: int) -> dict[str, str]:
        group = await self.group(chat)
        assert group is not None
        async with self.app.db.transaction() as store:
            return {
                person: membership.state.value
                for person, membership in (await store.groups.members(group.id)).items()
            }

    async def audit(self, kind: str) -> list[AuditEvent]:
        async with self.app.db.transaction() as store:
            return await store.audit.events(kind=kind)

    async def deliveries(self, announcement_id: int) -> dict[str, Delivery]:
        return {d.pupil_id: d for d in await queries.deliveries(self.app.ctx, announcement_id)}

    def last(self, person: str) -> SentMessage:
        return self.emulator.messages(self.account(person))[-1]

    def mails(self) -> list[tuple[str, str]]:
        """(To, text) of every e-mail in the outbox."""
        out = []
        for path in sorted(self.outbox.glob("*.eml")):
            message: Any = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            body = message.get_body(preferencelist=("plain",))
            out.append((str(message["To"]), body.get_content() if body else ""))
        return out


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(TOKEN) as served:
        yield served


@pytest.fixture
async def telegram(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[Telegram]:
    settings = make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'klasbot.db'}",
        KLASBOT_TELEGRAM__TOKEN=TOKEN,
        KLASBOT_TELEGRAM__BASE_URL=emulator.base_url,
        KLASBOT_TELEGRAM__BASE_FILE_URL=emulator.base_file_url,
    )
    await bootstrap.migrate(settings)
    platform = TelegramPlatform(settings.telegram)
    clock = FrozenClock(NOW)
    async with bootstrap.build(
        settings, clock=clock, extra_platforms={"telegram": platform}
    ) as app:
        await roster_uc.import_roster(app.ctx, read_roster(DEMO_ROSTER))
        async with platform.running(app.chat):
            yield Telegram(emulator, platform, app, clock, settings.mail.outbox_dir)
    assert platform.errors == [], "a handler failed; see the log"
