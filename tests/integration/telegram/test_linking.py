"""Linking through the real Telegram adapter: a re-linked account takes nobody's place in a class
group, a stranger guessing codes is throttled, and no link code reaches a log line."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.cli.logs import RedactingFilter
from bot.domain import AnnouncementDraft
from bot.notices import ReportNotice
from bot.usecases import announcing
from bot.usecases import invites as invite_uc
from bot.usecases.throttling import account_ref
from tests.integration.telegram.conftest import Telegram

WRONG = [f"WRONG{n}CODE" for n in range(6)]


async def announce(telegram: Telegram) -> int:
    draft = AnnouncementDraft("2B", "t-devries", "reminder", text="Neem je gymspullen mee.")
    # A probe of the routes, made more than once per test: a repeat on purpose.
    result = await announcing.announce(telegram.app.ctx, draft, source="test", again=True)
    return result.announcement.id


async def test_a_parent_linking_the_childs_phone_takes_it_out_of_the_class_group(
    telegram: Telegram,
) -> None:
    emulator = telegram.emulator
    chat = await telegram.class_group()
    phone = await telegram.join("p-2b-01", chat)
    assert emulator.status(chat, phone) == "member"
    assert (await telegram.deliveries(await announce(telegram)))["p-2b-01"].channel == "group"

    # The family shares the phone: Zoë's mother links it with her own code.
    telegram.accounts["g-01"] = phone
    await telegram.link("g-01")

    assert telegram.last("g-01").text.startswith("Gelukt, Marieke!")
    assert (chat, phone) in emulator.banned
    assert emulator.status(chat, phone) == "left"
    assert (await telegram.members(chat))["p-2b-01"] == "removed"
    [removed] = await telegram.audit("member-removed")
    assert set(removed.person_ids) == {"p-2b-01", "g-01"}
    # Zoë's next announcement goes to her mother's address instead of the group.
    zoe = (await telegram.deliveries(await announce(telegram)))["p-2b-01"]
    assert (zoe.channel, zoe.reason) == ("email", "not-linked")


async def test_a_classmates_code_keeps_the_account_in_the_group_as_the_classmate(
    telegram: Telegram,
) -> None:
    emulator = telegram.emulator
    chat = await telegram.class_group()
    phone = await telegram.join("p-2b-01", chat)

    telegram.accounts["p-2b-03"] = phone
    await telegram.link("p-2b-03")

    assert (chat, phone) not in emulator.banned
    assert await telegram.members(chat) == {
        "t-devries": "member",
        "p-2b-01": "removed",
        "p-2b-03": "member",
    }
    rows = await telegram.deliveries(await announce(telegram))
    assert (rows["p-2b-03"].channel, rows["p-2b-01"].channel) == ("group", "email")
    assert rows["p-2b-01"].reason == "not-linked"


async def test_a_stranger_guessing_codes_is_throttled_and_the_school_is_told(
    telegram: Telegram, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = telegram.emulator
    ctx = telegram.app.ctx
    ctx.policy = replace(ctx.policy, leadership_emails=("directie@passie-utrecht.example",))
    stranger = emulator.user("Onbekend")
    telegram.accounts["stranger"] = stranger
    [invite] = await invite_uc.create_invites(telegram.app.ctx, person_ref="p-2b-01")
    caplog.set_level(logging.DEBUG)

    for code in WRONG:
        await telegram.say("stranger", f"/start {code}")
    await telegram.say("stranger", f"/start {invite.code}")  # the right code, too late

    texts = emulator.texts(stranger)
    assert len(texts) == 7
    assert all(t.startswith("Deze code kennen we niet") for t in texts[:5])
    assert "Te veel verkeerde pogingen" in texts[4]
    assert all(t.startswith("Te veel verkeerde pogingen") for t in texts[5:])
    assert "na 11:15" in texts[6]
    async with telegram.app.db.transaction() as store:
        assert await store.accounts.person_of("telegram", str(stranger)) is None
    ref = account_ref("telegram", str(stranger))
    refused = await telegram.audit("link-refused")
    assert [e.details["account"] for e in refused] == [ref] * 5
    assert len(await telegram.audit("attempt-throttled")) == 2
    async with telegram.app.db.transaction() as store:
        rows = await store.outbox.get(range(1, 1000))
    notices = [r.notice for r in rows if isinstance(r.notice, ReportNotice)]
    [row] = [r for r in rows if isinstance(r.notice, ReportNotice)]
    # The roster's administrator and the configured address: a stranger concerns every school.
    assert [r.email for r in row.recipients] == [
        "a.visser@passie-utrecht.example",
        "directie@passie-utrecht.example",
    ]
    assert ref in notices[0].text
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(ref in w for w in warnings)

    # After the cooling-off period the right code links.
    telegram.clock.advance(minutes=15)
    await telegram.say("stranger", f"/start {invite.code}")
    assert telegram.last("stranger").text.startswith("Gelukt, Zoë!")

    # No code in klasbot's own log lines at any level; the libraries' (python-telegram-bot logs
    # every update at DEBUG) once they pass the redacting filter every handler has.
    redactor = RedactingFilter()
    codes = [*WRONG, invite.code]
    for record in caplog.records:
        line = record.getMessage()
        if record.name.startswith(("bot", "adapters")):
            assert not [c for c in codes if c in line], line
        assert not [c for c in codes if c in redactor.redact(line)], line
    assert any("[redacted]" in redactor.redact(r.getMessage()) for r in caplog.records)


def test_cooling_off_is_fifteen_minutes() -> None:
    from bot.usecases import throttling

    assert throttling.COOLING_OFF == timedelta(minutes=15)
    assert (throttling.LIMIT, throttling.WINDOW) == (5, timedelta(minutes=15))
