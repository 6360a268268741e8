"""Withdrawing and correcting on a real Synapse (room versions 11 and 12): the bot's post is
replaced by an `m.replace` edit that a pupil's client receives, carrying the new text in
`m.new_content` (and a "* " fallback for clients without edits); a repeated edit with the same
key is one event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nio import RoomMessagesResponse

from bot.domain import AnnouncementDraft
from bot.ports import GroupMessage
from bot.usecases import announcing, undo
from bot.usecases import groups as group_uc
from tests.integration.matrix.conftest import Klasbot
from tests.integration.matrix.helpers import MatrixUser
from tests.integration.matrix.test_matrix import join_class_room, link

Users = Callable[[str], Awaitable[MatrixUser]]


def replaces(message: object, event_id: str) -> bool:
    content = getattr(message, "source", {}).get("content", {})
    relation = content.get("m.relates_to", {})
    return relation.get("rel_type") == "m.replace" and relation.get("event_id") == event_id


async def test_a_pupil_sees_the_post_withdrawn(klasbot: Klasbot, matrix_users: Users) -> None:
    kb = klasbot
    group = await group_uc.create_group(kb.app.ctx, "2B", "matrix")
    zoe = await matrix_users("zoe")
    await link(kb, zoe, "p-2b-01")
    await join_class_room(kb, zoe, group, "p-2b-01")
    draft = AnnouncementDraft("2B", "t-devries", "reminder", text="Neem je gymspullen mee.")
    aid = (await announcing.announce(kb.app.ctx, draft)).announcement.id
    await kb.app.dispatcher.run_once()
    await zoe.until(lambda: bool(zoe.messages(group.chat_id, kb.bot_id)), what="the post")
    [post] = zoe.messages(group.chat_id, kb.bot_id)

    await undo.withdraw(kb.app.ctx, aid, "t-devries", "de gymles vervalt")
    await kb.app.dispatcher.run_once()
    await kb.app.dispatcher.run_once()

    await zoe.until(
        lambda: any(replaces(m, post.event_id) for m in zoe.messages(group.chat_id, kb.bot_id)),
        what="the edit",
    )
    edits = [m for m in zoe.messages(group.chat_id, kb.bot_id) if replaces(m, post.event_id)]
    assert len(edits) == 1
    content = edits[0].source["content"]
    assert content["m.new_content"]["body"].startswith("❌ INGETROKKEN")
    assert "Reden: de gymles vervalt" in content["m.new_content"]["body"]
    assert "<s>" in content["m.new_content"]["formatted_body"]
    assert content["body"].startswith("* ❌ INGETROKKEN")


async def test_an_edit_resent_with_its_key_is_one_event(klasbot: Klasbot) -> None:
    kb = klasbot
    group = await group_uc.create_group(kb.app.ctx, "2B", "matrix")
    event_id = await kb.platform.post(GroupMessage(group.chat_id, "Eerst.", idempotency_key="1-g1"))
    edit = GroupMessage(group.chat_id, "Daarna.", "<b>Daarna.</b>", idempotency_key="edit-1")
    await kb.platform.edit(group.chat_id, event_id, edit)
    await kb.platform.edit(group.chat_id, event_id, edit)  # a dispatcher that crashed after it
    assert kb.platform.client is not None
    history = await kb.platform.client.room_messages(group.chat_id, limit=20)
    assert isinstance(history, RoomMessagesResponse), history
    edits = [e for e in history.chunk if replaces(e, event_id)]
    assert len(edits) == 1
    assert edits[0].source["content"]["m.new_content"]["body"] == "Daarna."
