"""Class groups on Telegram: binding with /koppel, linking, join requests and removals, the
command menus — end to end through python-telegram-bot and the Bot API emulator."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adapters.oneroster.reader import read_roster
from bot.usecases import invites as invite_uc
from bot.usecases import roster as roster_uc
from tests.conftest import DEMO_ROSTER
from tests.integration.telegram.conftest import NOW, Telegram

# python-telegram-bot 22 warns when it builds a RetryAfter (its retry_after turns into a
# timedelta in v23); the adapter reads both forms.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after:telegram.warnings.PTBDeprecationWarning"
)


async def test_command_menus_are_scoped_by_role_in_dutch_and_english(telegram: Telegram) -> None:
    menu = telegram.emulator.menu
    for scope in ({"type": "default"}, {"type": "all_private_chats"}):
        assert menu(scope) == ["start", "help", "melden", "taal"]
        assert menu(scope, "nl") == ["start", "help", "melden", "taal"]
        assert menu(scope, "en") == ["start", "help", "report", "language"]
    assert menu({"type": "all_group_chats"}) == []
    assert menu({"type": "all_chat_administrators"})[0] == "koppel"
    assert menu({"type": "all_chat_administrators"}, "en")[0] == "link"

    teacher = await telegram.link("t-devries")
    pupil = await telegram.link("p-2b-01")

    staff_menu = menu({"type": "chat", "chat_id": teacher})
    assert {
        "lesuitval",
        "huiswerk",
        "herinnering",
        "uitje",
        "intrekken",
        "correctie",
        "escaleren",
        "taal",
    } <= set(staff_menu)
    assert {"cancelled", "homework", "reminder", "trip", "withdraw", "correct", "escalate"} <= set(
        menu({"type": "chat", "chat_id": teacher}, "en")
    )
    assert menu({"type": "chat", "chat_id": pupil}) == []


async def test_koppel_by_staff_binds_the_group_read_only_with_a_join_request_link(
    telegram: Telegram,
) -> None:
    emulator = telegram.emulator
    chat = await telegram.class_group("2B")

    group = await telegram.group(chat)
    assert group is not None
    assert group.class_id == "cls-2b"
    assert group.state == "active"
    permissions = emulator.chats[chat].permissions
    assert permissions
    assert not any(permissions.values())
    [link] = emulator.invite_links[chat]
    assert link["creates_join_request"] is True
    answer = emulator.texts(chat)[-1]
    assert "klassengroep van 2B" in answer
    assert "alleen-lezen" in answer
    assert link["invite_link"] in answer
    events = await telegram.audit("group-bound")
    assert [e.actor_id for e in events] == ["t-devries"]


async def test_koppel_by_a_pupil_is_refused_and_binds_nothing(telegram: Telegram) -> None:
    emulator = telegram.emulator
    await telegram.link("p-2b-01")
    chat = emulator.group("Klas 2B", owner=telegram.account("t-devries"))
    await telegram.settle()

    await telegram.say("p-2b-01", "/koppel 2B", chat)

    assert await telegram.group(chat) is None
    assert emulator.texts(chat)[-1].startswith("Alleen docenten mogen /koppel gebruiken.")
    assert emulator.chats[chat].permissions is None
    assert not emulator.invite_links[chat]
    [refusal] = await telegram.audit("refusal")
    assert refusal.details["code"] == "not-staff"


async def test_koppel_names_the_missing_admin_right_and_binds_once_it_is_granted(
    telegram: Telegram,
) -> None:
    emulator = telegram.emulator
    teacher = await telegram.link("t-devries")
    chat = emulator.group("Klas 2B", owner=teacher, can_restrict_members=False)
    await telegram.settle()
    assert "can_restrict_members" in emulator.texts(chat)[-1]  # said when it was added

    await telegram.say("t-devries", "/koppel 2B", chat)

    answer = emulator.texts(chat)[-1]
    assert "Gebruikers verbannen" in answer
    assert "(can_restrict_members)" in answer
    assert "can_invite_users" not in answer
    assert "can_delete_messages" not in answer
    assert await telegram.group(chat) is None

    emulator.set_bot_rights(chat, can_restrict_members=True)
    await telegram.say("t-devries", "/koppel 2B", chat)
    assert await telegram.group(chat) is not None

    # Not an administrator at all: every right is named, in the teacher's language (the
    # English command word does not change it).
    other = emulator.group("Class 2B", owner=teacher, bot_admin=False)
    await telegram.settle()
    await telegram.say("t-devries", "/link 2B", other)
    assert "ik ben geen beheerder" in emulator.texts(other)[-1]
    await telegram.say("t-devries", "/taal en")
    await telegram.say("t-devries", "/koppel 2B", other)
    answer = emulator.texts(other)[-1]
    assert "not an administrator" in answer
    assert all(
        r in answer for r in ("can_restrict_members", "can_invite_users", "can_delete_messages")
    )
    assert await telegram.group(other) is None


async def test_deep_link_start_code_links_the_account_and_sends_the_group_link(
    telegram: Telegram,
) -> None:
    emulator = telegram.emulator
    chat = await telegram.class_group()
    [invite] = await invite_uc.create_invites(telegram.app.ctx, person_ref="p-2b-01")

    # t.me/<bot>?start=CODE makes the app send "/start CODE".
    await telegram.say("p-2b-01", f"/start {invite.code}")

    zoe = telegram.account("p-2b-01")
    linked, link_message = emulator.messages(zoe)
    assert linked.text.startswith("Gelukt, Zoë! Dit account is nu gekoppeld.")
    [link] = emulator.invite_links[chat]
    assert link["invite_link"] in link_message.text
    assert link_message.buttons() == [{"text": "Naar de klassengroep", "url": link["invite_link"]}]
    async with telegram.app.db.transaction() as store:
        person = await store.accounts.person_of("telegram", str(zoe))
    assert person is not None
    assert person.id == "p-2b-01"
    assert (await telegram.members(chat))["p-2b-01"] == "invited"


async def test_used_code_is_refused_and_links_nothing(telegram: Telegram) -> None:
    [invite] = await invite_uc.create_invites(telegram.app.ctx, person_ref="p-2b-01")
    await telegram.say("p-2b-01", f"/start {invite.code}")
    await telegram.say("p-2b-03", f"/start {invite.code}")

    assert "al gebruikt" in telegram.last("p-2b-03").text
    async with telegram.app.db.transaction() as store:
        assert await store.accounts.person_of("telegram", str(telegram.account("p-2b-03"))) is None


async def test_join_request_of_a_linked_eligible_pupil_is_approved(telegram: Telegram) -> None:
    emulator = telegram.emulator
    chat = await telegram.class_group()

    zoe = await telegram.join("p-2b-01", chat)

    assert (chat, zoe) in emulator.approved
    assert emulator.status(chat, zoe) == "member"
    assert (await telegram.members(chat))["p-2b-01"] == "member"
    assert [e.person_ids for e in await telegram.audit("member-joined")] == [("p-2b-01",)]


async def test_join_request_of_a_stranger_is_declined_and_explained(telegram: Telegram) -> None:
    emulator = telegram.emulator
    chat = await telegram.class_group()
    stranger = emulator.user("Onbekend")

    emulator.join_request(stranger, chat)
    await telegram.settle()

    assert (chat, stranger) in emulator.declined
    assert emulator.status(chat, stranger) == "left"
    assert "afgewezen" in emulator.texts(stranger)[-1]
    [declined] = await telegram.audit("join-declined")
    assert declined.details["verdict"] == "stranger"
    assert declined.details["account"] == str(stranger)


async def test_under_13_pupil_is_declined_and_removed_when_they_appear(telegram: Telegram) -> None:
    emulator = telegram.emulator
    chat = await telegram.class_group()
    # Milan (12) gets no code at all ...
    assert await invite_uc.create_invites(telegram.app.ctx, person_ref="p-2b-05") == []
    # ... so say his account was linked some other way: the age rule still keeps him out.
    milan = telegram.account("p-2b-05")
    async with telegram.app.db.transaction() as store:
        await store.accounts.link("telegram", str(milan), "p-2b-05", NOW)

    emulator.join_request(milan, chat)
    await telegram.settle()
    assert (chat, milan) in emulator.declined
    assert (await telegram.audit("join-declined"))[-1].details["verdict"] == "under-13"

    emulator.user_joins(milan, chat)
    await telegram.settle()
    assert (chat, milan) in emulator.banned
    assert (chat, milan) in emulator.unbanned
    assert emulator.status(chat, milan) == "left"
    assert (await telegram.members(chat))["p-2b-05"] == "removed"
    removed = (await telegram.audit("member-removed"))[-1]
    assert removed.person_ids == ("p-2b-05",)
    assert removed.details["verdict"] == "under-13"


async def test_stranger_who_appears_in_the_group_is_removed_at_once(telegram: Telegram) -> None:
    emulator = telegram.emulator
    chat = await telegram.class_group()
    stranger = emulator.user("Indringer")

    emulator.user_joins(stranger, chat)
    await telegram.settle()

    assert (chat, stranger) in emulator.banned
    assert emulator.status(chat, stranger) == "left"  # kicked, not banned for ever
    [removed] = await telegram.audit("member-removed")
    assert removed.details == {**removed.details, "verdict": "stranger", "account": str(stranger)}


async def test_a_members_post_is_deleted_and_explained_once(telegram: Telegram) -> None:
    emulator = telegram.emulator
    chat = await telegram.class_group()
    zoe = await telegram.join("p-2b-01", chat)

    emulator.user_sends(zoe, chat, "Hoi allemaal!")
    emulator.user_sends(zoe, chat, "Hallo?")
    await telegram.settle()

    assert not [
        m for m in emulator.chats[chat].messages.values() if m["from"]["id"] == zoe and "text" in m
    ]
    assert len([d for d in emulator.deleted if d[0] == chat]) == 2
    assert sum("alleen de bot" in t for t in emulator.texts(zoe)) == 1
    events = await telegram.audit("member-post-deleted")
    assert [e.person_ids for e in events] == [("p-2b-01",), ("p-2b-01",)]


async def test_staff_command_in_the_group_is_deleted_and_previewed_privately(
    telegram: Telegram,
) -> None:
    emulator = telegram.emulator
    chat = await telegram.class_group()
    posted_before = len(emulator.texts(chat))

    await telegram.say("t-devries", "/huiswerk 2B wiskunde vrijdag Opgave 1 tot en met 12", chat)

    remaining = [m.get("text", "") for m in emulator.chats[chat].messages.values()]
    assert not [t for t in remaining if t.startswith("/huiswerk")]
    assert len(emulator.texts(chat)) == posted_before  # nothing posted in the group yet
    preview = telegram.last("t-devries")
    assert "Opgave 1 tot en met 12" in preview.text
    assert [b["text"] for b in preview.buttons()] == ["Versturen", "Annuleren"]


async def test_member_who_leaves_is_recorded(telegram: Telegram) -> None:
    emulator = telegram.emulator
    chat = await telegram.class_group()
    zoe = await telegram.join("p-2b-01", chat)

    emulator.user_leaves(zoe, chat)
    await telegram.settle()

    assert (await telegram.members(chat))["p-2b-01"] == "left"


async def test_pupil_who_leaves_the_class_in_a_roster_import_is_removed(
    telegram: Telegram, tmp_path: Path
) -> None:
    emulator = telegram.emulator
    chat = await telegram.class_group()
    zoe = await telegram.join("p-2b-01", chat)
    roster = tmp_path / "roster-after"
    shutil.copytree(DEMO_ROSTER, roster)
    enrollments = roster / "enrollments.csv"
    lines = enrollments.read_text(encoding="utf-8").splitlines(keepends=True)
    enrollments.write_text(
        "".join(x for x in lines if not x.startswith("e-2b-01,")), encoding="utf-8"
    )

    await roster_uc.import_roster(telegram.app.ctx, read_roster(roster))
    await telegram.settle()

    assert (chat, zoe) in emulator.banned
    assert emulator.status(chat, zoe) == "left"
    assert (await telegram.members(chat))["p-2b-01"] == "removed"
