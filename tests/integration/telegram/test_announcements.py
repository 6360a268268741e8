"""Announcements on Telegram: preview and confirmation, delivery through the outbox, and the
errors Telegram answers with (429, 403, a migrated chat) mapped onto the core's."""

from __future__ import annotations

import pytest

from adapters.telegram.platform import TelegramPlatform
from bot.domain import AnnouncementDraft
from bot.usecases import announcing, queries
from tests.integration.telegram.conftest import Telegram

SIGNATURE = "— J. de Vries, mentor 2B, De Passie Utrecht"

# python-telegram-bot 22 warns when it builds a RetryAfter (its retry_after turns into a
# timedelta in v23); the adapter reads both forms.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after:telegram.warnings.PTBDeprecationWarning"
)


async def announce(telegram: Telegram, text: str = "Neem je gymspullen mee.") -> int:
    draft = AnnouncementDraft("2B", "t-devries", "reminder", text=text)
    return (await announcing.announce(telegram.app.ctx, draft, source="test")).announcement.id


async def test_announcement_is_previewed_confirmed_posted_and_delivered(telegram: Telegram) -> None:
    emulator, app = telegram.emulator, telegram.app
    chat = await telegram.class_group()
    await telegram.join("p-2b-01", chat)
    await telegram.join("p-2b-03", chat)
    await telegram.link("p-2b-02")  # linked, but never asked to join
    teacher = telegram.account("t-devries")

    await telegram.say("t-devries", "/lesuitval 2B morgen 3 wiskunde Docent is ziek")

    preview = telegram.last("t-devries")
    assert preview.text.startswith("Voorbeeld")
    assert SIGNATURE in preview.text
    assert "Docent is ziek" in preview.text
    assert [b["text"] for b in preview.buttons()] == ["Versturen", "Annuleren"]
    assert await queries.announcements(app.ctx, "2B") == []  # nothing before the button

    emulator.press_button(teacher, preview, preview.buttons()[0]["callback_data"])
    await telegram.settle()

    assert telegram.last("t-devries").text.startswith("Bericht 1 voor 2B is verstuurd")
    assert emulator.messages(teacher)[-2].reply_markup is None  # the buttons are gone
    [announcement] = await queries.announcements(app.ctx, "2B")

    stats = await app.dispatcher.run_once()

    post = emulator.messages(chat)[-1]
    assert post.text == announcement.signed_text
    assert post.text.endswith(SIGNATURE)
    assert "Docent is ziek" in post.text
    rows = await telegram.deliveries(announcement.id)
    assert sorted(rows) == [f"p-2b-0{n}" for n in range(1, 8)]  # every pupil exactly once
    for member in ("p-2b-01", "p-2b-03"):
        assert (rows[member].channel, rows[member].status) == ("group", "sent")
        assert rows[member].external_id == str(post.message_id)
    for other in ("p-2b-02", "p-2b-04", "p-2b-05", "p-2b-06", "p-2b-07"):
        assert rows[other].channel != "group"
        assert rows[other].reason is not None
    assert (rows["p-2b-02"].reason, rows["p-2b-02"].channel) == ("not-joined", "post")
    assert (rows["p-2b-05"].reason, rows["p-2b-05"].channel, rows["p-2b-05"].status) == (
        "under-13",
        "email",
        "sent",
    )
    assert rows["p-2b-06"].channel == "unreachable"
    assert stats.sent >= 3
    assert emulator.rate_limited == 0


async def test_a_teacher_who_chose_english_gets_an_english_preview_and_cancel_sends_nothing(
    telegram: Telegram,
) -> None:
    emulator = telegram.emulator
    await telegram.class_group()
    teacher = telegram.account("t-devries")

    # An English command word does not switch a Dutch teacher to English.
    await telegram.say("t-devries", "/homework 2B maths friday Exercises 1 to 12")
    dutch = telegram.last("t-devries")
    assert dutch.text.startswith("Voorbeeld")
    assert [b["text"] for b in dutch.buttons()] == ["Versturen", "Annuleren"]
    emulator.press_button(teacher, dutch, dutch.buttons()[1]["callback_data"])
    await telegram.settle()
    assert telegram.last("t-devries").text == "Geannuleerd; er is niets verstuurd."

    await telegram.say("t-devries", "/taal en")
    assert telegram.last("t-devries").text.startswith("From now on I use English")
    await telegram.say("t-devries", "/huiswerk 2B wiskunde vrijdag Opgave 1 tot en met 12")

    preview = telegram.last("t-devries")
    assert preview.text.startswith("Preview")
    assert [b["text"] for b in preview.buttons()] == ["Send", "Cancel"]
    send, cancel = (b["callback_data"] for b in preview.buttons())
    emulator.press_button(teacher, preview, cancel)
    await telegram.settle()
    assert telegram.last("t-devries").text == "Cancelled; nothing was sent."
    assert await queries.announcements(telegram.app.ctx, "2B") == []

    # A second press (an old preview) is answered, and sends nothing either.
    assert preview.buttons() == []  # removed once pressed
    emulator.press_button(teacher, preview, send)
    await telegram.settle()
    assert emulator.answered[-1]["show_alert"] is True
    assert await queries.announcements(telegram.app.ctx, "2B") == []


async def test_only_the_author_can_press_the_button(telegram: Telegram) -> None:
    emulator = telegram.emulator
    await telegram.class_group()
    await telegram.say("t-devries", "/herinnering 2B Neem je gymspullen mee")
    preview = telegram.last("t-devries")

    emulator.press_button(
        telegram.account("p-2b-01"), preview, preview.buttons()[0]["callback_data"]
    )
    await telegram.settle()

    assert emulator.answered[-1]["text"] == "Dit voorbeeld is niet van jou."
    assert await queries.announcements(telegram.app.ctx, "2B") == []


async def test_refused_announcement_says_which_rule(telegram: Telegram) -> None:
    await telegram.class_group()
    await telegram.link("p-2b-01")

    await telegram.say("t-devries", "/herinnering 2B Bel mij op 06-12345678")
    refusal = telegram.last("t-devries")
    assert "telefoonnummer" in refusal.text
    assert refusal.buttons() == []

    await telegram.say("p-2b-01", "/lesuitval 2B morgen 3")
    assert telegram.last("p-2b-01").text.startswith("Alleen docenten")
    assert await queries.announcements(telegram.app.ctx, "2B") == []


async def test_rate_limited_post_is_retried_later_and_not_lost(telegram: Telegram) -> None:
    emulator, app = telegram.emulator, telegram.app
    chat = await telegram.class_group()
    await telegram.join("p-2b-01", chat)
    announcement_id = await announce(telegram)
    emulator.fail_next(
        "sendMessage",
        chat_id=chat,
        code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
    )

    stats = await app.dispatcher.run_once()

    assert stats.retried == 1
    assert emulator.rate_limited == 1
    zoe = (await telegram.deliveries(announcement_id))["p-2b-01"]
    assert (zoe.channel, zoe.status, zoe.attempts) == ("group", "pending", 1)
    assert zoe.due_at is not None
    assert zoe.due_at > telegram.clock.now()
    assert "retry" in (zoe.last_error or "").lower()

    telegram.clock.advance(minutes=5)
    await app.dispatcher.run_once()

    zoe = (await telegram.deliveries(announcement_id))["p-2b-01"]
    assert (zoe.channel, zoe.status) == ("group", "sent")
    assert "gymspullen" in emulator.texts(chat)[-1]


async def test_forbidden_post_loses_the_group_tells_staff_and_reroutes_pupils(
    telegram: Telegram,
) -> None:
    emulator, app = telegram.emulator, telegram.app
    chat = await telegram.class_group()
    await telegram.join("p-2b-01", chat)
    await telegram.join("p-2b-03", chat)
    announcement_id = await announce(telegram)
    emulator.kick_bot(chat, notify=False)  # the bot was down when it happened

    await app.dispatcher.run_once()

    group = await telegram.group(chat)
    assert group is not None
    assert group.state == "lost"
    rows = await telegram.deliveries(announcement_id)
    for pupil in ("p-2b-01", "p-2b-03"):
        assert (rows[pupil].channel, rows[pupil].reason, rows[pupil].status) == (
            "email",
            "group-lost",
            "sent",
        )
    told = [text for to, text in telegram.mails() if "j.devries@passie-utrecht.example" in to]
    assert any("uit de klassengroep van 2B" in text for text in told)

    # The next announcement goes by fallback from the start.
    later = await telegram.deliveries(await announce(telegram, "Morgen geen gym."))
    assert later["p-2b-01"].channel == "email"


async def test_bot_removed_from_the_group_loses_it_and_rebinding_restores_it(
    telegram: Telegram,
) -> None:
    emulator = telegram.emulator
    chat = await telegram.class_group()

    emulator.kick_bot(chat)
    await telegram.settle()

    group = await telegram.group(chat)
    assert group is not None
    assert group.state == "lost"
    await telegram.app.dispatcher.run_once()  # the notice to staff is in the outbox
    assert len([to for to, text in telegram.mails() if "uit de klassengroep" in text]) == 1

    emulator.add_bot(chat)
    await telegram.settle()
    await telegram.say("t-devries", "/koppel 2B", chat)
    group = await telegram.group(chat)
    assert group is not None
    assert group.state == "active"


async def test_migrated_chat_on_post_updates_the_binding_and_resends(telegram: Telegram) -> None:
    emulator, app = telegram.emulator, telegram.app
    chat = await telegram.class_group(supergroup=False)
    await telegram.join("p-2b-01", chat)
    announcement_id = await announce(telegram)
    new_chat = emulator.migrate(chat, notify=False)

    await app.dispatcher.run_once()

    assert await telegram.group(chat) is None
    group = await telegram.group(new_chat)
    assert group is not None
    assert group.state == "active"
    assert "gymspullen" in emulator.texts(new_chat)[-1]
    zoe = (await telegram.deliveries(announcement_id))["p-2b-01"]
    assert (zoe.channel, zoe.status) == ("group", "sent")
    assert [e.details["new"] for e in await telegram.audit("chat-migrated")] == [str(new_chat)]


async def test_migration_update_moves_the_binding(telegram: Telegram) -> None:
    emulator, app = telegram.emulator, telegram.app
    chat = await telegram.class_group(supergroup=False)
    await telegram.join("p-2b-01", chat)

    new_chat = emulator.migrate(chat)
    await telegram.settle()

    assert await telegram.group(chat) is None
    assert await telegram.group(new_chat) is not None
    await announce(telegram)
    await app.dispatcher.run_once()
    assert "gymspullen" in emulator.texts(new_chat)[-1]
    assert emulator.texts(chat)[-1] != emulator.texts(new_chat)[-1]


async def test_a_preview_survives_a_restart_of_the_bot(telegram: Telegram) -> None:
    emulator, app = telegram.emulator, telegram.app
    await telegram.class_group()
    teacher = telegram.account("t-devries")
    await telegram.say("t-devries", "/herinnering 2B Neem je gymspullen mee")
    preview = telegram.last("t-devries")
    send = preview.buttons()[0]["callback_data"]

    # A deploy between the preview and the button: a new process, the same database.
    await telegram.platform.stop()
    restarted = TelegramPlatform(app.settings.telegram)
    app.platforms["telegram"] = restarted
    async with restarted.running(app.chat):
        telegram.platform = restarted
        emulator.press_button(teacher, preview, send)
        await telegram.settle()
        assert telegram.last("t-devries").text.startswith("Bericht 1 voor 2B is verstuurd")
        emulator.press_button(teacher, preview, send)  # a second press sends nothing
        await telegram.settle()
        assert emulator.answered[-1]["show_alert"] is True
    assert len(await queries.announcements(app.ctx, "2B")) == 1
