"""Class groups: create, bind, the bot removed from a group, a chat that moved."""

from __future__ import annotations

import pytest

from bot.domain import GroupState
from bot.errors import InvalidInput, NotFound, RuleViolation
from bot.notices import ReportNotice
from bot.usecases import groups as groups_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    DEVRIES_MAIL,
    LEADERSHIP,
    VISSER_MAIL,
    FakePlatform,
    events,
    group_of,
    link,
    member_states,
    notice_of,
    notice_rows,
    person,
)

# --- create -----------------------------------------------------------------------------------


async def test_create_on_a_platform_that_creates_groups(
    ctx: Context, console: FakePlatform
) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console", actor="admin")
    assert console.created == ["cls-2b"]
    assert group.chat_id == "console:cls-2b"
    assert group.state == GroupState.ACTIVE


async def test_create_is_audited(ctx: Context) -> None:
    await groups_uc.create_group(ctx, "2B", "console")
    [event] = await events(ctx, "group-created")
    assert event.details["chat"] == "console:cls-2b"


async def test_create_admits_the_linked_people_of_the_class(
    ctx: Context, console: FakePlatform
) -> None:
    await link(ctx, "p-2b-01")
    await link(ctx, "t-devries")
    await link(ctx, "p-4c-01")  # another class: not admitted
    group = await groups_uc.create_group(ctx, "2B", "console")
    assert sorted(console.admitted) == [
        (group.chat_id, "p-2b-01"),
        (group.chat_id, "t-devries"),
    ]
    assert await member_states(ctx, group.id) == {"p-2b-01": "member", "t-devries": "member"}


async def test_create_twice_is_refused(ctx: Context) -> None:
    await groups_uc.create_group(ctx, "2B", "console")
    with pytest.raises(InvalidInput, match="console:cls-2b"):
        await groups_uc.create_group(ctx, "2B", "console")


async def test_create_on_a_platform_that_only_binds_is_refused_naming_it(
    ctx: Context, binder: FakePlatform
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await groups_uc.create_group(ctx, "2B", "binder")
    assert "binder" in str(caught.value)
    assert "/koppel 2B" in str(caught.value)
    assert binder.created == []


async def test_create_on_a_binding_platform_with_an_existing_chat_id(
    ctx: Context, binder: FakePlatform
) -> None:
    group = await groups_uc.create_group(ctx, "2B", "binder", chat_id="-100123")
    assert group.chat_id == "-100123"
    assert binder.created == []


async def test_create_on_an_unknown_platform_lists_the_known_ones(ctx: Context) -> None:
    with pytest.raises(InvalidInput, match="console, binder"):
        await groups_uc.create_group(ctx, "2B", "whatsapp")


async def test_create_on_a_platform_not_running_here_needs_a_chat_id(ctx: Context) -> None:
    del ctx.platforms["console"]
    with pytest.raises(InvalidInput, match="console"):
        await groups_uc.create_group(ctx, "2B", "console")


async def test_create_for_an_unknown_class(ctx: Context) -> None:
    with pytest.raises(NotFound, match="9Z"):
        await groups_uc.create_group(ctx, "9Z", "console")


async def test_create_with_a_chat_bound_to_another_class_is_refused(ctx: Context) -> None:
    await groups_uc.create_group(ctx, "2B", "binder", chat_id="-100123")
    with pytest.raises(InvalidInput, match="-100123"):
        await groups_uc.create_group(ctx, "4C", "binder", chat_id="-100123")


# --- bind -------------------------------------------------------------------------------------


async def test_staff_binds_a_group(ctx: Context) -> None:
    group = await groups_uc.bind_group(
        ctx, "binder", "-100777", "2B", actor=await person(ctx, "t-devries")
    )
    assert group.state == GroupState.ACTIVE
    assert await group_of(ctx, "binder", "-100777") == group


async def test_bind_is_audited_for_the_teacher(ctx: Context) -> None:
    await groups_uc.bind_group(ctx, "binder", "-100777", "2B", actor=await person(ctx, "t-devries"))
    [event] = await events(ctx, "group-bound")
    assert event.actor_id == "t-devries"


async def test_bind_admits_linked_staff(ctx: Context, binder: FakePlatform) -> None:
    await link(ctx, "t-devries", platform="binder", account="b-devries")
    await groups_uc.bind_group(ctx, "binder", "-100777", "2B", actor=await person(ctx, "t-devries"))
    assert binder.admitted == [("-100777", "b-devries")]


@pytest.mark.parametrize("actor", ["p-2b-01", "t-jansen", "g-01"])
async def test_bind_by_someone_not_staff_of_the_class_is_refused(ctx: Context, actor: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        await groups_uc.bind_group(ctx, "binder", "-100777", "2B", actor=await person(ctx, actor))
    assert caught.value.code == "not-staff"
    assert await group_of(ctx, "binder", "-100777") is None


async def test_bind_refusal_is_audited(ctx: Context) -> None:
    with pytest.raises(RuleViolation):
        await groups_uc.bind_group(
            ctx, "binder", "-100777", "2B", actor=await person(ctx, "p-2b-01")
        )
    [event] = await events(ctx, "refusal")
    assert event.actor_id == "p-2b-01"
    assert event.details["code"] == "not-staff"
    assert event.details["command"] == "koppel"


async def test_binding_a_chat_of_another_class_is_refused(ctx: Context) -> None:
    await groups_uc.bind_group(ctx, "binder", "-100777", "4C", actor=await person(ctx, "t-bakker"))
    with pytest.raises(InvalidInput, match="-100777"):
        await groups_uc.bind_group(
            ctx, "binder", "-100777", "2B", actor=await person(ctx, "t-bakker")
        )


async def test_binding_a_lost_group_again_makes_it_active(ctx: Context) -> None:
    devries = await person(ctx, "t-devries")
    first = await groups_uc.bind_group(ctx, "binder", "-100777", "2B", actor=devries)
    await groups_uc.group_lost(ctx, "binder", "-100777")
    again = await groups_uc.bind_group(ctx, "binder", "-100777", "2B", actor=devries)
    assert again.id == first.id
    assert again.state == GroupState.ACTIVE
    stored = await group_of(ctx, "binder", "-100777")
    assert stored is not None
    assert stored.state == GroupState.ACTIVE


# --- lost -------------------------------------------------------------------------------------


async def test_group_lost_marks_the_group_lost(ctx: Context) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    found = await groups_uc.group_lost(ctx, "console", group.chat_id)
    assert found is not None
    assert found[0].state == GroupState.LOST
    stored = await group_of(ctx, "console", group.chat_id)
    assert stored is not None
    assert stored.state == GroupState.LOST


async def test_group_lost_twice_audits_once_and_tells_staff_once(ctx: Context) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await groups_uc.group_lost(ctx, "console", group.chat_id)
    second = await groups_uc.group_lost(ctx, "console", group.chat_id)
    assert second is not None  # still the class's group, reported again
    assert len(await events(ctx, "group-lost")) == 1
    assert len(await notice_rows(ctx, "report")) == 1


async def test_group_lost_notice_goes_to_staff_and_leadership(ctx: Context) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await groups_uc.group_lost(ctx, "console", group.chat_id)
    [row] = await notice_rows(ctx, "report")
    notice = notice_of(row)
    assert isinstance(notice, ReportNotice)
    assert notice.kind == "notice"
    assert notice.class_code == "2B"
    assert {r.email for r in row.recipients} == {
        DEVRIES_MAIL,
        "f.bakker@passie-utrecht.example",
        VISSER_MAIL,  # the roster's administrator of the class's school
        LEADERSHIP,
    }


async def test_group_lost_for_a_chat_that_is_no_class_group(ctx: Context) -> None:
    assert await groups_uc.group_lost(ctx, "console", "somewhere-else") is None
    assert await events(ctx, "group-lost") == []


# --- migrated ---------------------------------------------------------------------------------


async def test_chat_migrated_changes_the_chat_id(ctx: Context) -> None:
    group = await groups_uc.create_group(ctx, "2B", "binder", chat_id="-123")
    moved = await groups_uc.chat_migrated(ctx, "binder", "-123", "-100123")
    assert moved is not None
    assert moved.id == group.id
    assert moved.chat_id == "-100123"
    assert await group_of(ctx, "binder", "-123") is None
    assert await group_of(ctx, "binder", "-100123") == moved


async def test_chat_migrated_is_audited(ctx: Context) -> None:
    await groups_uc.create_group(ctx, "2B", "binder", chat_id="-123")
    await groups_uc.chat_migrated(ctx, "binder", "-123", "-100123")
    [event] = await events(ctx, "chat-migrated")
    assert event.details["new"] == "-100123"


async def test_chat_migrated_of_an_unknown_chat(ctx: Context) -> None:
    assert await groups_uc.chat_migrated(ctx, "binder", "-1", "-2") is None
