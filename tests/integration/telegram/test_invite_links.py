"""Invitations link to the running Telegram bot: when the adapter connects it keeps the bot's
username (getMe) in the platform state, and an invitation made then carries the deep link
`https://t.me/<bot>?start=CODE` that sends the code to that bot."""

from __future__ import annotations

from bot.usecases import invites as invite_uc
from tests.integration.telegram.conftest import Telegram
from tests.support.telegram_emulator import BOT_USERNAME


async def test_the_bots_username_is_kept_when_the_adapter_connects(telegram: Telegram) -> None:
    async with telegram.app.db.transaction() as tx:
        assert await tx.state.get("telegram", "username") == BOT_USERNAME


async def test_an_invitation_links_to_the_bot_and_the_link_links_the_account(
    telegram: Telegram,
) -> None:
    [invite] = await invite_uc.create_invites(telegram.app.ctx, person_ref="p-2b-01")
    await telegram.app.dispatcher.run_once()

    link = f"https://t.me/{BOT_USERNAME}?start={invite.code}"
    [(to, text)] = [m for m in telegram.mails() if invite.code in m[1]]
    assert to == "marieke@vandenberg.example"
    assert link in text
    # Opening the link makes Telegram send `/start CODE` to the bot: that links Zoë's account.
    await telegram.say("p-2b-01", f"/start {invite.code}")
    assert "Gelukt, Zoë!" in telegram.last("p-2b-01").text
