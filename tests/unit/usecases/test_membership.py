"""Who is in a class group: rule 1 (13+, or the platform's higher minimum from the policy) and
rule 2 (only the roster)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain import Channel, Group, Reason
from bot.errors import TransientDeliveryError
from bot.ports import PlatformCapabilities
from bot.rules.membership import Verdict
from bot.usecases import announcing, membership
from bot.usecases import groups as groups_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    FakePlatform,
    by_pupil,
    events,
    homework,
    link,
    member_states,
    person,
)


async def console_group(ctx: Context) -> Group:
    return await groups_uc.create_group(ctx, "2B", "console")


async def binder_group(ctx: Context) -> Group:
    return await groups_uc.bind_group(
        ctx, "binder", "-100777", "2B", actor=await person(ctx, "t-devries")
    )


def with_binder_minimum(ctx: Context, min_age: int) -> None:
    capabilities = PlatformCapabilities(min_age=min_age, creates_groups=False, binds_groups=True)
    ctx.policy = replace(ctx.policy, platforms={**ctx.policy.platforms, "binder": capabilities})


# --- rule 1 -----------------------------------------------------------------------------------


async def test_fourteen_year_old_is_admitted_on_a_13_plus_platform(
    ctx: Context, console: FakePlatform
) -> None:
    group = await console_group(ctx)
    verdict = await membership.admit(ctx, group, await person(ctx, "p-2b-01"), "acc-zoe")
    assert verdict == Verdict.PUPIL
    assert console.admitted == [(group.chat_id, "acc-zoe")]
    assert (await member_states(ctx, group.id))["p-2b-01"] == "member"


async def test_fourteen_year_old_is_refused_on_a_16_plus_platform(
    ctx: Context, binder: FakePlatform
) -> None:
    group = await binder_group(ctx)
    verdict = await membership.admit(ctx, group, await person(ctx, "p-2b-01"), "acc-zoe")
    assert verdict == Verdict.PLATFORM_AGE
    assert binder.admitted == []
    assert "p-2b-01" not in await member_states(ctx, group.id)


async def test_platform_age_refusal_is_audited(ctx: Context) -> None:
    group = await binder_group(ctx)
    await membership.admit(ctx, group, await person(ctx, "p-2b-01"), "acc-zoe")
    [event] = await events(ctx, "admission-refused", "p-2b-01")
    assert event.details["verdict"] == "platform-age"


async def test_announce_routes_the_refused_pupils_with_reason_platform_age(ctx: Context) -> None:
    await binder_group(ctx)
    await link(ctx, "p-2b-01", platform="binder", account="acc-zoe")
    result = await announcing.announce(ctx, homework())
    rows = await by_pupil(ctx, result.announcement.id)
    # Zoë (14) has a guardian with e-mail; Daan (13) a guardian with only an address.
    assert (rows["p-2b-01"].channel, rows["p-2b-01"].reason) == (
        Channel.EMAIL,
        Reason.PLATFORM_AGE,
    )
    assert (rows["p-2b-02"].channel, rows["p-2b-02"].reason) == (Channel.POST, Reason.PLATFORM_AGE)
    assert rows["p-2b-05"].reason == Reason.UNDER_13  # under 13 whatever the platform


@pytest.mark.parametrize(
    ("min_age", "admitted"), [(13, True), (14, True), (15, False), (16, False)]
)
async def test_admit_and_announce_read_the_same_minimum_from_the_policy(
    ctx: Context, binder: FakePlatform, min_age: int, admitted: bool
) -> None:
    with_binder_minimum(ctx, min_age)
    group = await binder_group(ctx)
    verdict = await membership.admit(ctx, group, await person(ctx, "p-2b-01"), "acc-zoe")
    await link(ctx, "p-2b-01", platform="binder", account="acc-zoe")
    result = await announcing.announce(ctx, homework())
    zoe = (await by_pupil(ctx, result.announcement.id))["p-2b-01"]
    assert (verdict == Verdict.PUPIL) is admitted
    assert (zoe.channel == Channel.GROUP) is admitted
    assert (zoe.reason == Reason.PLATFORM_AGE) is (not admitted)


async def test_under_13_is_refused_on_every_platform(ctx: Context, console: FakePlatform) -> None:
    group = await console_group(ctx)
    verdict = await membership.admit(ctx, group, await person(ctx, "p-2b-05"), "acc-milan")
    assert verdict == Verdict.UNDER_13
    assert console.admitted == []


async def test_admit_when_the_platform_answers_later_records_invited(
    ctx: Context, console: FakePlatform
) -> None:
    group = await console_group(ctx)
    console.admit_result = False
    await membership.admit(ctx, group, await person(ctx, "p-2b-01"), "acc-zoe")
    assert (await member_states(ctx, group.id))["p-2b-01"] == "invited"
    assert len(await events(ctx, "member-invited", "p-2b-01")) == 1


async def test_admit_that_fails_on_the_platform_leaves_them_invited(
    ctx: Context, console: FakePlatform
) -> None:
    group = await console_group(ctx)
    console.admit_errors.append(TransientDeliveryError("429 too many requests"))
    verdict = await membership.admit(ctx, group, await person(ctx, "p-2b-01"), "acc-zoe")
    assert verdict == Verdict.PUPIL
    assert (await member_states(ctx, group.id))["p-2b-01"] == "invited"


# --- rule 2: joins ----------------------------------------------------------------------------


async def test_a_stranger_who_joins_is_removed(ctx: Context, console: FakePlatform) -> None:
    group = await console_group(ctx)
    allowed = await membership.member_joined(ctx, "console", group.chat_id, "acc-unknown")
    assert allowed is False
    assert console.removed == [(group.chat_id, "acc-unknown", "stranger")]


async def test_a_strangers_removal_is_audited_with_the_account(ctx: Context) -> None:
    group = await console_group(ctx)
    await membership.member_joined(ctx, "console", group.chat_id, "acc-unknown")
    [event] = await events(ctx, "member-removed")
    assert event.details["account"] == "acc-unknown"
    assert event.details["verdict"] == "stranger"


async def test_a_pupil_of_another_class_who_joins_is_removed(
    ctx: Context, console: FakePlatform
) -> None:
    group = await console_group(ctx)
    await link(ctx, "p-4c-01", account="acc-lucas")
    allowed = await membership.member_joined(ctx, "console", group.chat_id, "acc-lucas")
    assert allowed is False
    assert console.removed == [(group.chat_id, "acc-lucas", "stranger")]
    assert (await member_states(ctx, group.id))["p-4c-01"] == "removed"
    assert len(await events(ctx, "member-removed", "p-4c-01")) == 1


async def test_a_pupil_under_the_platform_minimum_who_joins_is_removed(
    ctx: Context, binder: FakePlatform
) -> None:
    await binder_group(ctx)
    await link(ctx, "p-2b-01", platform="binder", account="acc-zoe")
    allowed = await membership.member_joined(ctx, "binder", "-100777", "acc-zoe")
    assert allowed is False
    assert binder.removed == [("-100777", "acc-zoe", "platform-age")]


async def test_a_pupil_of_the_class_who_joins_is_a_member(
    ctx: Context, console: FakePlatform
) -> None:
    group = await console_group(ctx)
    await link(ctx, "p-2b-03", account="acc-noor")
    allowed = await membership.member_joined(ctx, "console", group.chat_id, "acc-noor")
    assert allowed is True
    assert console.removed == []
    assert len(await events(ctx, "member-joined", "p-2b-03")) == 1


async def test_staff_of_the_class_who_joins_is_a_member(ctx: Context) -> None:
    group = await console_group(ctx)
    await link(ctx, "t-bakker", account="acc-bakker")
    allowed = await membership.member_joined(ctx, "console", group.chat_id, "acc-bakker")
    assert allowed is True
    assert (await member_states(ctx, group.id))["t-bakker"] == "member"


async def test_a_join_in_a_chat_that_is_no_class_group_is_left_alone(
    ctx: Context, console: FakePlatform
) -> None:
    allowed = await membership.member_joined(ctx, "console", "random-chat", "acc-unknown")
    assert allowed is True
    assert console.removed == []


# --- join requests ----------------------------------------------------------------------------


async def test_join_request_of_an_eligible_pupil_is_granted(ctx: Context) -> None:
    group = await console_group(ctx)
    await link(ctx, "p-2b-07", account="acc-lotte")
    assert await membership.join_requested(ctx, "console", group.chat_id, "acc-lotte") is True


async def test_join_request_of_a_stranger_is_declined_and_audited(ctx: Context) -> None:
    group = await console_group(ctx)
    assert await membership.join_requested(ctx, "console", group.chat_id, "acc-x") is False
    [event] = await events(ctx, "join-declined")
    assert event.details["account"] == "acc-x"


async def test_join_request_in_a_chat_that_is_no_class_group(ctx: Context) -> None:
    assert await membership.join_requested(ctx, "console", "random-chat", "acc-x") is None


# --- leaving ----------------------------------------------------------------------------------


async def test_a_member_who_leaves_is_recorded_as_left(ctx: Context) -> None:
    group = await console_group(ctx)
    await link(ctx, "p-2b-01", account="acc-zoe")
    await membership.member_left(ctx, "console", group.chat_id, "acc-zoe")
    assert (await member_states(ctx, group.id))["p-2b-01"] == "left"
    assert len(await events(ctx, "member-left", "p-2b-01")) == 1


async def test_someone_who_was_no_member_leaving_records_nothing(ctx: Context) -> None:
    group = await console_group(ctx)
    await link(ctx, "p-4c-01", account="acc-lucas")  # linked, but of another class
    await membership.member_left(ctx, "console", group.chat_id, "acc-lucas")
    await membership.member_left(ctx, "console", group.chat_id, "acc-nobody")
    assert await member_states(ctx, group.id) == {}
    assert await events(ctx, "member-left") == []


async def test_leaving_twice_is_recorded_once(ctx: Context) -> None:
    group = await console_group(ctx)
    await link(ctx, "p-2b-01", account="acc-zoe")
    await membership.member_left(ctx, "console", group.chat_id, "acc-zoe")
    await membership.member_left(ctx, "console", group.chat_id, "acc-zoe")
    assert len(await events(ctx, "member-left")) == 1


async def test_a_pupil_who_left_is_reached_by_fallback_with_reason_left_group(
    ctx: Context,
) -> None:
    group = await console_group(ctx)
    await link(ctx, "p-2b-01", account="acc-zoe")
    await membership.member_left(ctx, "console", group.chat_id, "acc-zoe")
    result = await announcing.announce(ctx, homework())
    zoe = (await by_pupil(ctx, result.announcement.id))["p-2b-01"]
    assert zoe.channel == Channel.EMAIL
    assert zoe.reason == Reason.LEFT_GROUP
