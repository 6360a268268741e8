"""Withdrawing and correcting on Telegram, through python-telegram-bot against the Bot API
emulator: the group post is edited in place (editMessageText), once; an edit that Telegram says
changes nothing (a resend after a crash) counts as done; a post that is gone is recorded failed
without touching the pupils' own copies; every e-mail recipient gets the withdrawal."""

from __future__ import annotations

from adapters.telegram.platform import TelegramPlatform
from bot.domain import AnnouncementDraft
from bot.ports import GroupMessage
from bot.usecases import announcing, undo
from tests.integration.telegram.conftest import Telegram


async def posted_announcement(telegram: Telegram) -> tuple[int, int, int]:
    """(chat, announcement id, message id) of an announcement posted in 2B's group."""
    chat = await telegram.class_group()
    await telegram.join("p-2b-01", chat)
    await telegram.join("p-2b-03", chat)
    draft = AnnouncementDraft("2B", "t-devries", "reminder", text="Neem je gymspullen mee.")
    aid = (await announcing.announce(telegram.app.ctx, draft)).announcement.id
    await telegram.app.dispatcher.run_once()
    post = telegram.emulator.messages(chat)[-1]
    assert "gymspullen" in post.text
    return chat, aid, post.message_id


async def test_a_withdrawal_edits_the_post_in_place_once(telegram: Telegram) -> None:
    emulator, app = telegram.emulator, telegram.app
    chat, aid, message_id = await posted_announcement(telegram)
    posts_before = len(emulator.messages(chat))
    mails_before = len(telegram.mails())

    result = await undo.withdraw(app.ctx, aid, "t-devries", "de les gaat door")
    await app.dispatcher.run_once()
    await app.dispatcher.run_once()

    assert result.group_edits == 1
    messages = emulator.messages(chat)
    assert len(messages) == posts_before  # edited, not posted again
    edited = next(m for m in messages if m.message_id == message_id)
    assert edited.text.startswith("❌ INGETROKKEN: dit bericht geldt niet meer.")
    assert "Reden: de les gaat door" in edited.text
    assert edited.text.endswith("— J. de Vries, mentor 2B, De Passie Utrecht")
    withdrawals = [text for _, text in telegram.mails()[mails_before:] if "ingetrokken" in text]
    by_mail = [d for d in (await telegram.deliveries(aid)).values() if d.channel == "email"]
    assert by_mail
    assert len(withdrawals) == len(by_mail)  # the others got theirs on a letter
    assert result.follow_ups == len(by_mail) + len(
        [d for d in (await telegram.deliveries(aid)).values() if d.channel == "post"]
    )


async def test_a_correction_edits_the_post_and_a_repeated_edit_is_not_an_error(
    telegram: Telegram,
) -> None:
    emulator, app = telegram.emulator, telegram.app
    chat, aid, message_id = await posted_announcement(telegram)
    await undo.correct(app.ctx, aid, "t-bakker", "Neem je zwemspullen mee.")
    await app.dispatcher.run_once()
    edited = next(m for m in emulator.messages(chat) if m.message_id == message_id)
    assert edited.text.startswith("✏️ GECORRIGEERD")
    assert "zwemspullen" in edited.text
    assert "gymspullen" not in edited.text

    # A dispatcher that crashed after Telegram edited the post sends the same edit again.
    platform = telegram.platform
    assert isinstance(platform, TelegramPlatform)
    await platform.edit(
        str(chat), str(message_id), GroupMessage(chat_id=str(chat), text=edited.text)
    )
    assert next(m for m in emulator.messages(chat) if m.message_id == message_id).text == (
        edited.text
    )


async def test_a_post_that_is_gone_is_recorded_failed(telegram: Telegram) -> None:
    emulator, app = telegram.emulator, telegram.app
    chat, aid, _ = await posted_announcement(telegram)
    emulator.fail_next(
        "editMessageText",
        chat_id=chat,
        code=400,
        description="Bad Request: message to edit not found",
    )
    await undo.withdraw(app.ctx, aid, None)
    await app.dispatcher.run_once()
    edits = [e for e in await telegram.audit("group-edit-failed")]
    assert len(edits) == 1
    rows = await telegram.deliveries(aid)
    assert rows["p-2b-01"].status == "sent"  # the pupils' copies stay what they were
