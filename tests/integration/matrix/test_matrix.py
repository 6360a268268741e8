"""klasbot on a real Synapse homeserver, end to end, on room versions 11 and 12 (issue 5).

Pupils, staff and strangers are real matrix-nio clients; the bot is `MatrixPlatform` inside a
klasbot built by the bootstrap on a fresh SQLite database with the demo school.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from nio import (
    JoinError,
    JoinResponse,
    RoomGetStateEventError,
    RoomGetStateEventResponse,
    RoomSendError,
)

from adapters.matrix.platform import MatrixPlatform
from bot import bootstrap
from bot.codes import hash_code
from bot.domain import AnnouncementDraft, Group, Invite
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.ports import GroupMessage
from bot.usecases import announcing, queries
from bot.usecases import groups as group_uc
from bot.usecases import invites as invite_uc
from tests.integration.matrix.conftest import Klasbot
from tests.integration.matrix.helpers import (
    NOW,
    MatrixUser,
    matrix_settings,
    member_state,
    running_klasbot,
    unique,
    wait_member,
)
from tests.integration.matrix.synapse import Synapse, free_port

Users = Callable[[str], Awaitable[MatrixUser]]
SIGNATURE = "— J. de Vries, mentor 2B, De Passie Utrecht"


async def link(kb: Klasbot, user: MatrixUser, person: str) -> tuple[str, str]:
    """`person` links `user` in a direct chat with `!start CODE`; returns (room, answer)."""
    [invite] = await invite_uc.create_invites(kb.app.ctx, person_ref=person)
    room = await user.open_direct_chat(kb.bot_id)
    answer = await user.ask(room, f"!start {invite.code}", kb.bot_id)
    return room, answer


async def join_class_room(kb: Klasbot, user: MatrixUser, group: Group, person: str) -> None:
    await user.until(lambda: group.chat_id in user.invites, what="the invitation to the class room")
    assert isinstance(await user.client.join(group.chat_id), JoinResponse)
    await wait_member(kb.app, group, person)


async def state(kb: Klasbot, room_id: str, event_type: str) -> dict[str, object]:
    assert kb.platform.client is not None
    got = await kb.platform.client.room_get_state_event(room_id, event_type)
    assert isinstance(got, RoomGetStateEventResponse), got
    return got.content


# ---------------------------------------------------------------------------- the class room


async def test_class_room_is_private_invite_only_unencrypted_and_only_the_bot_posts(
    klasbot: Klasbot, synapse: Synapse
) -> None:
    group = await group_uc.create_group(klasbot.app.ctx, "2B", "matrix")
    room = group.chat_id
    version = synapse.room_version
    assert (await state(klasbot, room, "m.room.create")).get("room_version") == version
    if version == "12":
        assert ":" not in room  # MSC4291: the room id is the create event's hash, no server part
    else:
        assert room.endswith(":klasbot.test")
    assert (await state(klasbot, room, "m.room.name"))["name"] == "Klas 2B — De Passie Utrecht"
    assert (await state(klasbot, room, "m.room.join_rules"))["join_rule"] == "invite"
    assert (await state(klasbot, room, "m.room.history_visibility"))[
        "history_visibility"
    ] == "joined"
    assert (await state(klasbot, room, "m.room.guest_access"))["guest_access"] == "forbidden"
    assert klasbot.platform.client is not None
    encryption = await klasbot.platform.client.room_get_state_event(room, "m.room.encryption")
    assert isinstance(encryption, RoomGetStateEventError)
    assert encryption.status_code == "M_NOT_FOUND"

    levels = await state(klasbot, room, "m.room.power_levels")
    assert levels["users_default"] == 0
    assert levels["events_default"] == 50
    for key in ("invite", "kick", "ban", "redact", "state_default"):
        assert levels[key] >= 50, key  # type: ignore[operator]
    events = levels["events"]
    assert isinstance(events, dict)
    assert events["m.room.power_levels"] == 100
    assert events["m.room.join_rules"] == 100
    if version == "12":
        # MSC4289: the creator outranks every level and must not be listed.
        assert klasbot.bot_id not in levels.get("users", {})  # type: ignore[operator]
    else:
        assert levels["users"] == {klasbot.bot_id: 100}

    groups = [g for g in await _groups(klasbot.app) if g.platform == "matrix"]
    assert [(g.class_id, g.chat_id, g.state.value) for g in groups] == [("cls-2b", room, "active")]


async def _groups(app: bootstrap.App) -> list[Group]:
    async with app.db.transaction() as store:
        return await store.groups.list()


# ---------------------------------------------------------------------------- end to end


async def test_pupils_link_join_and_receive_a_signed_announcement(
    klasbot: Klasbot, matrix_users: Users
) -> None:
    kb = klasbot
    group = await group_uc.create_group(kb.app.ctx, "2B", "matrix")
    zoe, noor, teacher = (
        await matrix_users("zoe"),
        await matrix_users("noor"),
        await matrix_users("devries"),
    )

    direct: dict[str, str] = {}
    for user, person in ((zoe, "p-2b-01"), (noor, "p-2b-03"), (teacher, "t-devries")):
        direct[person], answer = await link(kb, user, person)
        assert "Gelukt" in answer, answer
        assert "uitnodiging" in answer, answer
        await join_class_room(kb, user, group, person)

    # Staff announce in their direct chat: first a preview, sent only on !ja.
    preview = await teacher.ask(
        direct["t-devries"], "/huiswerk 2B wiskunde morgen Maak opgave 3", kb.bot_id
    )
    assert "Maak opgave 3" in preview, preview
    assert SIGNATURE in preview, preview
    assert "!ja" in preview, preview
    assert await queries.announcements(kb.app.ctx, "2B") == []
    done = await teacher.ask(direct["t-devries"], "!ja", kb.bot_id)
    assert "verstuurd" in done, done
    assert "2 in de groep" in done, done
    [announcement] = await queries.announcements(kb.app.ctx, "2B")

    stats = await kb.app.dispatcher.run_once()
    assert stats.by_channel["group"] == 2

    for pupil in (zoe, noor):
        await pupil.until(
            lambda p=pupil: bool(p.messages(group.chat_id, kb.bot_id)), what="the announcement"
        )
        [message] = pupil.messages(group.chat_id, kb.bot_id)
        assert message.body.endswith(SIGNATURE)  # type: ignore[attr-defined]
        assert "Maak opgave 3" in message.body  # type: ignore[attr-defined]
        assert message.source["content"]["format"] == "org.matrix.custom.html"
        assert f"<i>{SIGNATURE}</i>" in message.source["content"]["formatted_body"]

    deliveries = {d.pupil_id: d for d in await queries.deliveries(kb.app.ctx, announcement.id)}
    for pupil in ("p-2b-01", "p-2b-03"):
        assert (deliveries[pupil].channel.value, deliveries[pupil].status.value) == (
            "group",
            "sent",
        )
    assert (deliveries["p-2b-05"].channel.value, deliveries["p-2b-05"].reason.value) == (
        "email",
        "under-13",
    )  # type: ignore[union-attr]

    # Rule 3: the power levels refuse a member's message; staff may not post either by default.
    for member in (zoe, teacher):
        refused = await member.client.room_send(
            group.chat_id, "m.room.message", {"msgtype": "m.text", "body": "Hoi allemaal!"}
        )
        assert isinstance(refused, RoomSendError), refused
        assert refused.status_code == "M_FORBIDDEN", refused


async def test_a_pupil_who_may_not_post_but_whose_message_gets_through_is_redacted(
    klasbot: Klasbot, matrix_users: Users
) -> None:
    kb = klasbot
    group = await group_uc.create_group(kb.app.ctx, "2B", "matrix")
    zoe = await matrix_users("zoe")
    await link(kb, zoe, "p-2b-01")
    await join_class_room(kb, zoe, group, "p-2b-01")
    # An administrator lowered the bar by hand; the bot still enforces rule 3.
    assert kb.platform.client is not None
    levels = await state(kb, group.chat_id, "m.room.power_levels")
    await kb.platform.client.room_put_state(
        group.chat_id, "m.room.power_levels", {**levels, "events_default": 0}
    )
    sent = await zoe.say(group.chat_id, "Wie heeft de sommen?")

    def redacted() -> bool:
        return any(
            getattr(e, "source", {}).get("type") == "m.room.redaction"
            and getattr(e, "source", {}).get(
                "redacts", getattr(e, "source", {}).get("content", {}).get("redacts")
            )
            == sent.event_id
            for e in zoe.timeline[group.chat_id]
        )

    await zoe.until(redacted, what="the bot to redact the member's message")


async def test_a_stranger_who_gets_in_is_kicked(klasbot: Klasbot, matrix_users: Users) -> None:
    kb = klasbot
    group = await group_uc.create_group(kb.app.ctx, "2B", "matrix")
    stranger, lucas = await matrix_users("stranger"), await matrix_users("lucas")

    # Invite-only: the homeserver refuses a join without an invitation.
    refused = await stranger.client.join(group.chat_id)
    assert isinstance(refused, JoinError), refused
    assert refused.status_code == "M_FORBIDDEN", refused

    # A pupil of another class links (4C has no room, so no invitation).
    _, answer = await link(kb, lucas, "p-4c-01")
    assert "Gelukt" in answer
    assert "uitnodiging" not in answer

    # Someone with power invites them anyway: each is kicked on joining (rule 2).
    assert kb.platform.client is not None
    for user in (stranger, lucas):
        await kb.platform.client.room_invite(group.chat_id, user.user_id)
        await user.until(lambda u=user: group.chat_id in u.invites, what="an invitation")
        assert isinstance(await user.client.join(group.chat_id), JoinResponse)

    for user in (stranger, lucas):

        def kicked(u: MatrixUser = user) -> bool:
            m = u.membership(group.chat_id)
            return m is not None and m.membership == "leave" and m.sender == kb.bot_id

        await user.until(kicked, what="being kicked")
        reason = user.membership(group.chat_id).content.get("reason", "")  # type: ignore[union-attr]
        assert "13+" in reason, reason
        assert "B.1" in reason, reason

    async with kb.app.db.transaction() as store:
        removed = await store.audit.events(kind="member-removed")
    assert {e.details.get("verdict") for e in removed} == {"stranger"}
    assert await member_state(kb.app, group, "p-4c-01") == "removed"


async def test_an_under_13_pupil_is_refused_told_privately_and_served_by_email(
    klasbot: Klasbot, matrix_users: Users, tmp_path: Path
) -> None:
    kb = klasbot
    group = await group_uc.create_group(kb.app.ctx, "2B", "matrix")
    milan = await matrix_users("milan")

    # Milan (12) gets no code; a code made for him anyway (say, before a birth date was corrected)
    # is refused kindly, and nothing is linked.
    assert await invite_uc.create_invites(kb.app.ctx, person_ref="p-2b-05") == []
    async with kb.app.db.transaction() as store:
        await store.invites.add(
            Invite(hash_code("MLNCODE234"), "p-2b-05", NOW, NOW + timedelta(days=14))
        )
    room = await milan.open_direct_chat(kb.bot_id)
    answer = await milan.ask(room, "!start MLNCODE234", kb.bot_id)
    assert "nog geen 13" in answer, answer
    assert "e-mail" in answer, answer
    async with kb.app.db.transaction() as store:
        assert await store.accounts.person_of("matrix", milan.user_id) is None

    # Had his account been linked and had someone with power let him in, he is removed at once
    # and told why in private (the room only sees a reason without his age).
    async with kb.app.db.transaction() as store:
        await store.accounts.link("matrix", milan.user_id, "p-2b-05", NOW)
    assert kb.platform.client is not None
    await kb.platform.client.room_invite(group.chat_id, milan.user_id)
    await milan.until(lambda: group.chat_id in milan.invites, what="an invitation")
    await milan.client.join(group.chat_id)
    await milan.until(
        lambda: any("minstens 13" in t for t in milan.texts(room, kb.bot_id)),
        what="a private explanation",
    )
    kick = milan.membership(group.chat_id)
    assert kick is not None
    assert kick.membership == "leave"
    assert "13" not in kick.content.get("reason", "").replace("13+", "")

    # Every announcement reaches him by e-mail to his guardian instead (rule 6).
    result = await announcing.announce(
        kb.app.ctx,
        AnnouncementDraft(
            "2B",
            "t-devries",
            "homework",
            date=date(2026, 11, 24),
            subject="wiskunde",
            text="Maak opgave 3.",
        ),
    )
    [delivery] = [
        d
        for d in await queries.deliveries(kb.app.ctx, result.announcement.id)
        if d.pupil_id == "p-2b-05"
    ]
    assert (delivery.channel.value, delivery.reason.value) == ("email", "under-13")  # type: ignore[union-attr]
    await kb.app.dispatcher.run_once()
    [delivery] = [
        d
        for d in await queries.deliveries(kb.app.ctx, result.announcement.id)
        if d.pupil_id == "p-2b-05"
    ]
    assert delivery.status.value == "sent"
    mails = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in (tmp_path / "outbox").glob("*.eml")
    ]
    assert any(
        "ayse.celik@mail.example" in str(m["To"]) and "Maak opgave 3" in m.get_body().get_content()
        for m in mails
    )  # type: ignore[union-attr]


async def test_a_restart_replays_nothing_and_loses_nothing(
    tmp_path: Path, synapse: Synapse, matrix_users: Users
) -> None:
    bot = synapse.register(unique("klasbot"))
    settings = matrix_settings(tmp_path, synapse, bot)
    await bootstrap.migrate(settings)
    zoe = await matrix_users("zoe")
    async with running_klasbot(settings) as (app, platform):
        await group_uc.create_group(app.ctx, "2B", "matrix")
        [invite] = await invite_uc.create_invites(app.ctx, person_ref="p-2b-01")
        room = await zoe.open_direct_chat(bot.user_id)
        assert "Gelukt" in await zoe.ask(room, f"!start {invite.code}", bot.user_id)
        assert platform.client is not None
        device = platform.client.device_id
        token = platform.next_batch

    # While the bot is down, Zoë asks for help and repeats her (used) code.
    await zoe.say(room, "!help")

    restarted = None
    async with running_klasbot(settings, roster=None) as (app, platform):
        restarted = platform
        assert platform.client is not None
        assert platform.client.device_id == device
        assert platform.stats.logins == 0  # the stored session was still good
        await zoe.until(lambda: len(zoe.texts(room, bot.user_id)) >= 2, what="the answer to !help")
        # Give a bot that would replay old commands every chance to do so.
        await asyncio.sleep(1.0)
        await zoe.sync(500)
        answers = zoe.texts(room, bot.user_id)
        assert len(answers) == 2, answers
        assert "Gelukt" in answers[0], answers
        assert "Dit kan hier:" in answers[1], answers
        assert platform.stats.commands == 1  # only !help: nothing before the stored token
        async with app.db.transaction() as store:
            assert len(await store.audit.events(kind="account-linked")) == 1
            assert await store.state.get("matrix", "next_batch") not in (None, token)
    assert restarted is not None
    assert restarted.client is None


# ---------------------------------------------------------------------------- the port itself


async def test_post_is_deduplicated_by_its_key_and_errors_become_core_errors(
    klasbot: Klasbot, matrix_users: Users
) -> None:
    kb = klasbot
    group = await group_uc.create_group(kb.app.ctx, "2B", "matrix")
    message = GroupMessage(
        group.chat_id, "Gymles vervalt.", "<b>Gymles vervalt.</b>", idempotency_key="7-g1"
    )
    first = await kb.platform.post(message)
    assert await kb.platform.post(message) == first  # the homeserver saw the same transaction

    # A room the bot is not in: it cannot post there, for good.
    outsider = await matrix_users("outsider")
    created = await outsider.client.room_create(name="elders")
    with pytest.raises(PermanentDeliveryError) as lost:
        await kb.platform.post(GroupMessage(created.room_id, "x", idempotency_key="8-g1"))  # type: ignore[union-attr]
    assert lost.value.reason == "group-lost"

    # The homeserver unreachable: try again later.
    assert kb.platform.client is not None
    homeserver = kb.platform.client.homeserver
    kb.platform.client.homeserver = f"http://127.0.0.1:{free_port()}"
    try:
        with pytest.raises(TransientDeliveryError):
            await kb.platform.post(GroupMessage(group.chat_id, "x", idempotency_key="9-g1"))
    finally:
        kb.platform.client.homeserver = homeserver
    assert kb.platform.stats.network_errors == 1

    # A platform that was only attached (a CLI command) logs in on its first request, reusing
    # the session and device of the running one.
    from adapters.matrix.platform import matrix_platform_from_settings

    other = matrix_platform_from_settings(kb.app.settings.matrix, kb.app.settings.data_dir)
    assert other is not None
    other.attach(kb.app.chat)
    try:
        event_id = await other.post(
            GroupMessage(group.chat_id, "Nog een.", idempotency_key="10-g1")
        )
        assert event_id.startswith("$")
        assert other.stats.logins == 0
        assert other.client is not None
        assert other.client.device_id == kb.platform.client.device_id
    finally:
        await other.stop()


async def test_staff_may_post_when_the_school_allows_it(
    tmp_path: Path, synapse: Synapse, matrix_users: Users
) -> None:
    bot = synapse.register(unique("klasbot"))
    settings = matrix_settings(tmp_path, synapse, bot, KLASBOT_MATRIX__STAFF_CAN_POST="true")
    await bootstrap.migrate(settings)
    teacher, zoe = await matrix_users("devries"), await matrix_users("zoe")
    async with running_klasbot(settings) as (app, platform):
        kb = Klasbot(app, platform, bot, synapse)
        group = await group_uc.create_group(app.ctx, "2B", "matrix")
        for user, person in ((teacher, "t-devries"), (zoe, "p-2b-01")):
            await link(kb, user, person)
            await join_class_room(kb, user, group, person)

        async def teacher_level() -> int:
            levels = await state(kb, group.chat_id, "m.room.power_levels")
            return int(levels.get("users", {}).get(teacher.user_id, 0))  # type: ignore[union-attr]

        deadline = asyncio.get_running_loop().time() + 20
        while await teacher_level() != 50:
            assert asyncio.get_running_loop().time() < deadline, "the teacher never got level 50"
            await asyncio.sleep(0.1)
        assert isinstance(await teacher.say(group.chat_id, "Tot morgen!"), object)
        refused = await zoe.client.room_send(
            group.chat_id, "m.room.message", {"msgtype": "m.text", "body": "hoi"}
        )
        assert isinstance(refused, RoomSendError)
        assert refused.status_code == "M_FORBIDDEN"
        await asyncio.sleep(1.0)
        await zoe.sync(500)
        assert "Tot morgen!" in zoe.texts(group.chat_id, teacher.user_id)  # not redacted


async def test_unconfigured_matrix_gives_no_platform(tmp_path: Path) -> None:
    from adapters.matrix.platform import matrix_platform_from_settings
    from config.settings import MatrixSettings

    assert matrix_platform_from_settings(MatrixSettings(), tmp_path) is None
    assert (
        matrix_platform_from_settings(
            MatrixSettings(homeserver="http://127.0.0.1:1", user_id="@b:x"), tmp_path
        )
        is None
    )
    platform = matrix_platform_from_settings(
        MatrixSettings(
            homeserver="http://127.0.0.1:1", user_id="@b:x", access_token="t", min_age=16
        ),
        tmp_path,
    )
    assert isinstance(platform, MatrixPlatform)
    assert platform.capabilities.min_age == 16


async def test_the_pace_comes_from_the_settings(tmp_path: Path) -> None:
    from adapters.matrix.platform import matrix_platform_from_settings
    from config.settings import MatrixSettings

    settings = MatrixSettings(
        homeserver="http://127.0.0.1:1",
        user_id="@b:x",
        password="p",
        rate_per_second=0.2,
        rate_burst=10,
    )
    platform = matrix_platform_from_settings(settings, tmp_path)
    assert platform is not None
    assert platform.limiter.overall is not None
    assert platform.limiter.overall.rate.tokens == 0.2
    assert platform.limiter.overall.rate.capacity == 10


async def test_the_bot_declines_invitations_to_rooms_that_are_not_direct_chats(
    klasbot: Klasbot, matrix_users: Users
) -> None:
    organiser = await matrix_users("organiser")
    created = await organiser.client.room_create(name="Feestcommissie", invite=[klasbot.bot_id])
    room = created.room_id  # type: ignore[union-attr]

    def declined() -> bool:
        m = organiser.membership(room, klasbot.bot_id)
        return m is not None and m.membership == "leave"

    await organiser.until(declined, what="the bot to decline")


async def test_an_ended_session_means_a_new_login_on_the_same_device(
    tmp_path: Path, synapse: Synapse
) -> None:
    bot = synapse.register(unique("klasbot"))
    settings = matrix_settings(tmp_path, synapse, bot)
    await bootstrap.migrate(settings)
    async with running_klasbot(settings) as (app, platform):
        assert platform.stats.logins == 1
        assert platform.client is not None
        device = platform.client.device_id
        async with app.db.transaction() as store:
            await store.state.set("matrix", "session", "syt_no_longer_valid")
    async with running_klasbot(settings, roster=None) as (app, platform):
        assert platform.stats.logins == 1
        assert platform.client is not None
        assert platform.client.device_id == device
