"""The Teams adapter end to end: activities posted to the bot's real /api/messages endpoint
(Microsoft 365 Agents SDK), everything the bot sends recorded by a fake Bot Connector."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from adapters.teams.cards import CARD
from adapters.teams.platform import TeamsPlatform
from bot import bootstrap
from bot.domain import GroupState
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.ports import GroupMessage
from bot.usecases import linking, membership, queries
from tests.conftest import make_settings
from tests.integration.teams.conftest import APP_ID, BOT, CHANNEL, TEAM, TENANT, Teams, aad

CORE_LINKS_BY_ACCOUNT = hasattr(linking, "link_by_school_account")
CORE_REPORTS = hasattr(membership, "report_not_allowed")


async def bind(teams: Teams) -> None:
    await teams.link("t-devries")
    assert await teams.in_channel("t-devries", "/koppel 2B") == 202
    group = await teams.group()
    assert group is not None, teams.texts_to(CHANNEL)
    assert group.state == GroupState.ACTIVE


async def test_installed_then_bound_by_the_mentor_not_by_a_pupil(teams: Teams) -> None:
    # Installed in the team: the bot itself among the members added; it waits for /koppel.
    assert await teams.members_update(added=[BOT]) == 202
    assert await teams.send(teams.install("add")) == 202
    assert teams.fake.sent() == []
    # A pupil cannot bind the channel.
    await teams.link("p-2b-01")
    assert await teams.in_channel("p-2b-01", "/koppel 2B") == 202
    assert await teams.group() is None
    assert teams.texts_to(CHANNEL), "the pupil is told why not"
    assert await teams.app.chat.platform_state("teams", f"ref:{CHANNEL}") is None

    await bind(teams)
    # Confirmed in the channel, and the reference to post with is the channel (not the thread).
    assert any("2B" in text for text in teams.texts_to(CHANNEL)[1:])
    # … with what the bot cannot check itself: channel moderation (rule 3).
    assert any("kanaalmoderatie aan" in text for text in teams.texts_to(CHANNEL)[1:])
    stored = await teams.app.chat.platform_state("teams", f"ref:{CHANNEL}")
    assert stored is not None
    assert json.loads(stored)["conversation_reference"]["conversation"]["id"] == CHANNEL
    # The team's members were read once the channel was bound.
    assert any(c.method == "GET" and TEAM in c.path for c in teams.fake.calls)
    # No error text and no typing indicator ever went into a conversation.
    for call in teams.fake.sent():
        assert call.body.get("type") == "message"
        assert "Exception" not in str(call.body.get("text"))


async def test_announcement_previewed_confirmed_and_posted_once_signed(teams: Teams) -> None:
    await bind(teams)
    before = len(teams.fake.sent())
    assert await teams.in_private("t-devries", "/herinnering 2B Neem je gymspullen mee") == 202
    [preview] = teams.fake.sent()[before:]
    assert "/a:personal-t-devries/activities" in preview.path  # the answer in the personal chat
    card = preview.body["attachments"][0]
    assert card["contentType"] == CARD
    send = next(a for a in card["content"]["actions"] if a["data"]["klasbot"]["action"] == "send")
    assert not [c for c in teams.fake.sent() if c.path.endswith(f"{CHANNEL}/activities")]

    assert await teams.in_private("t-devries", value=send["data"]) == 202
    [announcement] = await queries.announcements(teams.app.ctx, "2B")
    await teams.app.dispatcher.run_once()
    posts = [c for c in teams.fake.sent() if c.path == f"/v3/conversations/{CHANNEL}/activities"]
    assert len(posts) == 1, [c.path for c in teams.fake.sent()]
    body = posts[0].body
    assert body["text"] == announcement.signed_text  # signed by the mentor
    assert "gymspullen" in body["text"]
    assert "Vries" in body["text"]
    rows = {d.pupil_id: d for d in await queries.deliveries(teams.app.ctx, announcement.id)}
    assert sorted(rows) == [f"p-2b-0{n}" for n in range(1, 8)]  # every pupil exactly once
    if CORE_LINKS_BY_ACCOUNT:  # the pupils in the team, linked by their school account
        assert rows["p-2b-01"].channel == "group"
    assert rows["p-2b-03"].channel != "group"  # not in the team: e-mail or letter
    assert "replyToId" not in body or not body["replyToId"]
    assert body["attachments"][0]["content"]["fallbackText"] == body["text"]
    # Pressing the button again sends nothing more.
    await teams.in_private("t-devries", value=send["data"])
    await teams.app.dispatcher.run_once()
    posts = [c for c in teams.fake.sent() if c.path == f"/v3/conversations/{CHANNEL}/activities"]
    assert len(posts) == 1


@pytest.mark.skipif(not CORE_LINKS_BY_ACCOUNT, reason="core: link_by_school_account missing")
async def test_a_pupil_in_the_team_is_linked_by_school_account(teams: Teams) -> None:
    await bind(teams)
    assert await teams.linked("p-2b-01") == "p-2b-01"  # by the UPN, without a code
    assert await teams.linked("stranger") is None
    group = await teams.group()
    assert group is not None
    async with teams.app.db.transaction() as tx:
        members = await tx.groups.members(group.id)
    assert "p-2b-01" in members


async def test_throttled_then_posted_once(teams: Teams) -> None:
    await bind(teams)
    teams.fake.fail("POST", f"{CHANNEL}/activities$", 429, headers={"Retry-After": "3"})
    message = GroupMessage(CHANNEL, "Morgen geen les.\n\nJan de Vries")
    with pytest.raises(TransientDeliveryError) as raised:
        await teams.platform.post(message)
    assert raised.value.retry_after == 3.0
    message_id = await teams.platform.post(message)
    posts = [c for c in teams.fake.sent() if c.path == f"/v3/conversations/{CHANNEL}/activities"]
    assert len(posts) == 2  # the refused one and the one that went through
    assert message_id
    await teams.platform.edit(CHANNEL, message_id, GroupMessage(CHANNEL, "Ingetrokken"))
    [put] = [c for c in teams.fake.calls if c.method == "PUT"]
    assert put.path.endswith(f"/activities/{message_id}")
    assert put.body["text"] == "Ingetrokken"


async def test_bot_removed_from_the_team_is_a_lost_group(teams: Teams) -> None:
    await bind(teams)
    # A 403 on the post while the team's members can still be read: the channel refuses the
    # bot's posts (moderation), the bot is not out of the team.
    teams.fake.fail("POST", f"{CHANNEL}/activities$", 403)
    with pytest.raises(PermanentDeliveryError) as raised:
        await teams.platform.post(GroupMessage(CHANNEL, "Hallo"))
    assert raised.value.reason is None
    group = await teams.group()
    assert group is not None
    assert group.state == GroupState.ACTIVE
    # Removed from the team: everything answers 403.
    teams.fake.fail("POST", f"{CHANNEL}/activities$", 403)
    teams.fake.fail("GET", f"{TEAM}/members", 403)
    with pytest.raises(PermanentDeliveryError) as raised:
        await teams.platform.post(GroupMessage(CHANNEL, "Hallo"))
    assert raised.value.reason == "group-lost"
    group = await teams.group()
    assert group is not None
    assert group.state == GroupState.LOST


async def test_the_bot_removed_by_a_members_update(teams: Teams) -> None:
    await bind(teams)
    assert await teams.members_update(removed=[BOT]) == 202
    group = await teams.group()
    assert group is not None
    assert group.state == GroupState.LOST


async def test_a_member_who_left_the_team_is_reported_to_the_core(teams: Teams) -> None:
    await bind(teams)
    members = await teams.app.chat.platform_state("teams", f"members:{CHANNEL}")
    assert members is not None
    assert aad("stranger") in json.loads(members)
    teams.fake.members[TEAM] = [m for m in teams.fake.members[TEAM] if m["id"] != "29:stranger"]
    assert await teams.members_update(removed=["29:stranger"]) == 202
    members = await teams.app.chat.platform_state("teams", f"members:{CHANNEL}")
    assert members is not None
    assert aad("stranger") not in json.loads(members)


@pytest.mark.skipif(not CORE_REPORTS, reason="core: reporting members it cannot remove missing")
async def test_a_stranger_in_the_team_is_reported_not_removed(teams: Teams) -> None:
    await bind(teams)
    async with teams.app.db.transaction() as tx:
        events = await tx.audit.events(kind="member-not-allowed")
    assert [e.details.get("account") for e in events] == [aad("stranger")]
    assert not [c for c in teams.fake.calls if c.method == "DELETE"]  # nobody removed
    # A second membership update does not report them again.
    assert await teams.members_update(added=["29:p-2b-02"]) == 202
    async with teams.app.db.transaction() as tx:
        assert len(await tx.audit.events(kind="member-not-allowed")) == 1


async def test_the_bot_uninstalled_from_the_team(teams: Teams) -> None:
    await bind(teams)
    assert await teams.send(teams.install("remove")) == 202
    group = await teams.group()
    assert group is not None
    assert group.state == GroupState.LOST


async def test_authentication_on_refuses_a_request_without_a_token(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'klasbot.db'}",
        KLASBOT_TEAMS__APP_ID=APP_ID,
        KLASBOT_TEAMS__APP_PASSWORD="not-a-real-secret",
        KLASBOT_TEAMS__TENANT_ID=TENANT,
    )
    await bootstrap.migrate(settings)
    platform = TeamsPlatform(settings.teams, port=0, host="127.0.0.1")
    activity = {"type": "message", "serviceUrl": "https://smba.trafficmanager.net/amer/"}
    async with (
        bootstrap.build(settings, extra_platforms={"teams": platform}) as app,
        platform.running(app.chat),
        aiohttp.ClientSession() as http,
    ):
        assert platform.url is not None
        async with http.post(platform.url, json=activity) as response:
            assert response.status == 401
        headers = {"Authorization": "Bearer not.a.token"}
        async with http.post(platform.url, json=activity, headers=headers) as response:
            assert response.status == 401


async def test_a_staff_command_in_the_bound_channel_is_answered_privately(teams: Teams) -> None:
    await bind(teams)
    before = len(teams.fake.sent())
    # Fatima Bakker (staff of 2B) never wrote to the bot: linked by her e-mail address, and a
    # personal chat is started to answer her.
    assert await teams.in_channel("t-bakker", "/herinnering 2B Neem je gymspullen mee") == 202
    assert await teams.linked("t-bakker") == "t-bakker"
    [preview] = teams.fake.sent()[before:]
    [created] = teams.fake.created
    assert [m["id"] for m in created["members"]] == ["29:t-bakker"]
    assert "/a:personal-" in preview.path  # the preview went to a new personal chat
    assert preview.body["attachments"][0]["content"]["actions"]


async def test_a_deleted_channel_is_a_lost_group(teams: Teams) -> None:
    await bind(teams)
    teams.fake.fail("PUT", f"{CHANNEL}/activities/", 404)
    with pytest.raises(PermanentDeliveryError) as raised:
        await teams.platform.edit(CHANNEL, "m1", GroupMessage(CHANNEL, "Ingetrokken"))
    assert raised.value.reason == "group-lost"
    group = await teams.group()
    assert group is not None
    assert group.state == GroupState.LOST
