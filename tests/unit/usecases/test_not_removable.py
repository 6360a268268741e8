"""Issue 13, item 4: on a platform whose bot cannot remove members (Teams), someone who may not be
in a class group is not removed but reported to the class's staff (one e-mail) and the audit
(`member-not-allowed`), once per group and account until they leave; Telegram and Matrix (which
can remove) are unchanged."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain import Delivery, Group, RosterSnapshot
from bot.notices import ReportNotice
from bot.ports import PlatformCapabilities
from bot.usecases import groups as groups_uc
from bot.usecases import linking, membership
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    DEVRIES_MAIL,
    FakePlatform,
    events,
    link,
    member_states,
    notice_rows,
    person,
)

PLATFORM = "fixed"
CHAT = "19:chan2b@thread.tacv2"


@pytest.fixture
def fixed() -> FakePlatform:
    return FakePlatform(
        PLATFORM,
        PlatformCapabilities(
            min_age=13, creates_groups=False, binds_groups=True, can_remove_members=False
        ),
    )


@pytest.fixture
async def group(ctx: Context, fixed: FakePlatform) -> Group:
    ctx.platforms = {**ctx.platforms, PLATFORM: fixed}
    ctx.policy = replace(
        ctx.policy, platforms={**ctx.policy.platforms, PLATFORM: fixed.capabilities}
    )
    return await groups_uc.bind_group(
        ctx, PLATFORM, CHAT, "2B", actor=await person(ctx, "t-devries")
    )


def text_of(row: Delivery) -> str:
    assert isinstance(row.notice, ReportNotice)
    return row.notice.text


async def not_allowed_rows(ctx: Context) -> list[Delivery]:
    return [
        r
        for r in await notice_rows(ctx, "report")
        if r.idempotency_key.startswith("member-not-allowed")
    ]


async def test_a_stranger_is_reported_to_staff_not_removed(
    ctx: Context, fixed: FakePlatform, group: Group
) -> None:
    assert not await membership.member_joined(ctx, PLATFORM, CHAT, "aad-stranger")
    assert fixed.removed == []
    [row] = await not_allowed_rows(ctx)
    assert DEVRIES_MAIL in {r.email for r in row.recipients}
    text = text_of(row)
    assert "Een account dat aan niemand in het rooster gekoppeld is" in text
    assert "2B" in text
    assert PLATFORM in text
    [event] = await events(ctx, "member-not-allowed")
    assert event.details["account"] == "aad-stranger"
    assert event.details["verdict"] == "stranger"
    assert event.class_ids == ("cls-2b",)
    assert await events(ctx, "member-removed") == []


async def test_reported_once_until_they_leave_then_again(
    ctx: Context, fixed: FakePlatform, group: Group
) -> None:
    for _ in range(3):
        assert not await membership.member_joined(ctx, PLATFORM, CHAT, "aad-stranger")
    assert len(await not_allowed_rows(ctx)) == 1
    assert len(await events(ctx, "member-not-allowed")) == 1
    # Another account in the same group is another report.
    await membership.member_joined(ctx, PLATFORM, CHAT, "aad-other")
    assert len(await not_allowed_rows(ctx)) == 2
    await membership.member_left(ctx, PLATFORM, CHAT, "aad-stranger")
    await membership.member_joined(ctx, PLATFORM, CHAT, "aad-stranger")
    assert len(await not_allowed_rows(ctx)) == 3
    assert fixed.removed == []


async def test_a_pupil_of_another_class_is_named_and_tied_to_the_audit(
    ctx: Context, fixed: FakePlatform, group: Group
) -> None:
    await link(ctx, "p-4c-01", platform=PLATFORM, account="aad-4c")
    pupil = await person(ctx, "p-4c-01")
    assert not await membership.member_joined(ctx, PLATFORM, CHAT, "aad-4c")
    assert fixed.removed == []
    [row] = await not_allowed_rows(ctx)
    assert pupil.full_name in text_of(row)
    assert "zit niet in deze klas" in text_of(row)
    [event] = await events(ctx, "member-not-allowed", "p-4c-01")
    assert event.details["account"] is None
    assert "cls-2b" in event.class_ids
    assert "p-4c-01" not in await member_states(ctx, group.id)


async def test_under_the_platform_minimum_is_reported_with_the_age(
    ctx: Context, fixed: FakePlatform, group: Group
) -> None:
    strict = replace(fixed.capabilities, min_age=16)
    ctx.policy = replace(ctx.policy, platforms={**ctx.policy.platforms, PLATFORM: strict})
    await link(ctx, "p-2b-01", platform=PLATFORM, account="aad-zoe")  # 14
    assert not await membership.member_joined(ctx, PLATFORM, CHAT, "aad-zoe")
    assert fixed.removed == []
    [row] = await not_allowed_rows(ctx)
    assert "jonger dan 16" in text_of(row)
    [event] = await events(ctx, "member-not-allowed", "p-2b-01")
    assert event.details["verdict"] == "platform-age"
    # Not counted as in the group: her messages go by e-mail or letter (rule 6).
    assert (await member_states(ctx, group.id)).get("p-2b-01") != "member"


async def test_an_allowed_member_is_not_reported(ctx: Context, group: Group) -> None:
    await linking.link_by_school_account(ctx, PLATFORM, "aad-zoe", ["zoe.vandenberg"])
    assert await membership.member_joined(ctx, PLATFORM, CHAT, "aad-zoe")
    assert (await member_states(ctx, group.id))["p-2b-01"] == "member"
    assert await not_allowed_rows(ctx) == []
    assert await events(ctx, "member-not-allowed") == []


async def test_a_pupil_who_left_the_class_is_reported_not_removed(
    ctx: Context, fixed: FakePlatform, group: Group, snapshot: RosterSnapshot
) -> None:
    await link(ctx, "p-2b-01", platform=PLATFORM, account="aad-zoe")
    assert await membership.member_joined(ctx, PLATFORM, CHAT, "aad-zoe")
    left = replace(
        snapshot,
        enrollments=tuple(e for e in snapshot.enrollments if e.person_id != "p-2b-01"),
    )
    await roster_uc.import_roster(ctx, left)
    assert fixed.removed == []
    [row] = await not_allowed_rows(ctx)
    assert (await person(ctx, "p-2b-01")).full_name in text_of(row)
    assert await events(ctx, "member-not-allowed", "p-2b-01")


async def test_a_platform_that_can_remove_still_removes(ctx: Context, binder: FakePlatform) -> None:
    await groups_uc.bind_group(ctx, "binder", "-100777", "2B", actor=await person(ctx, "t-devries"))
    assert not await membership.member_joined(ctx, "binder", "-100777", "acc-stranger")
    assert binder.accounts_removed() == ["acc-stranger"]
    assert await not_allowed_rows(ctx) == []
    assert await events(ctx, "member-not-allowed") == []
