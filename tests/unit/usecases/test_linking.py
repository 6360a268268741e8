"""link_account: a one-time code links an account, then rules 1 and 2 let it into its groups.
Every refusal is said in Dutch (the school's language)."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FrozenClock
from bot.codes import hash_code
from bot.domain import Invite
from bot.errors import TransientDeliveryError
from bot.messages import (
    M_ADMIT_PENDING,
    M_ADMITTED,
    M_CODE_EXPIRED,
    M_CODE_UNDER_AGE,
    M_CODE_UNKNOWN,
    M_CODE_USED,
    M_LINKED,
    M_PLATFORM_AGE,
)
from bot.usecases import groups as groups_uc
from bot.usecases import linking
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    FakePlatform,
    add_invite,
    events,
    member_states,
    person,
)


async def linked_person(ctx: Context, platform: str, account: str) -> str | None:
    async with ctx.db.transaction() as tx:
        found = await tx.accounts.person_of(platform, account)
    return found.id if found else None


async def stored_invite(ctx: Context, code: str) -> Invite:
    async with ctx.db.transaction() as tx:
        invite = await tx.invites.get(hash_code(code))
    assert invite is not None
    return invite


# --- refusals ---------------------------------------------------------------------------------


async def test_unknown_code_is_refused_in_dutch(ctx: Context) -> None:
    reply = await linking.link_account(ctx, "console", "acc-1", "NOSUCHCODE")
    assert reply.texts == [M_CODE_UNKNOWN("nl")]
    assert reply.texts[0].startswith("Deze code kennen we niet")
    assert await linked_person(ctx, "console", "acc-1") is None


async def test_code_used_by_another_account_is_refused(ctx: Context) -> None:
    await add_invite(ctx, "p-2b-01", "ZOECODE")
    await linking.link_account(ctx, "console", "acc-zoe", "ZOECODE")
    reply = await linking.link_account(ctx, "console", "acc-someone-else", "ZOECODE")
    assert reply.texts == [M_CODE_USED("nl")]
    assert "al gebruikt" in reply.texts[0]
    assert await linked_person(ctx, "console", "acc-someone-else") is None


async def test_expired_code_is_refused(ctx: Context, clock: FrozenClock) -> None:
    await add_invite(ctx, "p-2b-01", "ZOECODE", valid=timedelta(days=14))
    clock.advance(days=14)
    reply = await linking.link_account(ctx, "console", "acc-zoe", "ZOECODE")
    assert reply.texts == [M_CODE_EXPIRED("nl")]
    assert "verlopen" in reply.texts[0]
    assert await linked_person(ctx, "console", "acc-zoe") is None


async def test_code_of_a_pupil_under_13_is_refused(ctx: Context) -> None:
    await add_invite(ctx, "p-2b-05", "MILANCODE")
    reply = await linking.link_account(ctx, "console", "acc-milan", "MILANCODE")
    assert reply.texts == [M_CODE_UNDER_AGE("nl")]
    assert "nog geen 13" in reply.texts[0]
    assert await linked_person(ctx, "console", "acc-milan") is None
    assert (await stored_invite(ctx, "MILANCODE")).used_at is None


async def test_under_13_refusal_is_audited(ctx: Context) -> None:
    await add_invite(ctx, "p-2b-05", "MILANCODE")
    await linking.link_account(ctx, "console", "acc-milan", "MILANCODE")
    [event] = await events(ctx, "link-refused", "p-2b-05")
    assert event.details["reason"] == "under-13"


# --- linking ----------------------------------------------------------------------------------


async def test_valid_code_links_the_account_and_uses_the_code(ctx: Context) -> None:
    await add_invite(ctx, "p-2b-01", "ZOECODE")
    reply = await linking.link_account(ctx, "console", "acc-zoe", "ZOECODE")
    assert reply.texts == [M_LINKED("nl", name="Zoë")]
    assert await linked_person(ctx, "console", "acc-zoe") == "p-2b-01"
    assert (await stored_invite(ctx, "ZOECODE")).used_at == ctx.clock.now()
    assert len(await events(ctx, "account-linked", "p-2b-01")) == 1


async def test_code_is_read_case_insensitively_and_trimmed(ctx: Context) -> None:
    await add_invite(ctx, "p-2b-01", "ZOECODE")
    await linking.link_account(ctx, "console", "acc-zoe", "  zoecode ")
    assert await linked_person(ctx, "console", "acc-zoe") == "p-2b-01"


async def test_linking_in_english(ctx: Context) -> None:
    reply = await linking.link_account(ctx, "console", "acc-1", "NOSUCHCODE", lang="en")
    assert reply.texts == [M_CODE_UNKNOWN("en")]


async def test_linking_admits_into_the_class_group(ctx: Context, console: FakePlatform) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await add_invite(ctx, "p-2b-01", "ZOECODE")
    reply = await linking.link_account(ctx, "console", "acc-zoe", "ZOECODE")
    assert reply.texts[-1] == M_ADMITTED("nl", klas="2B")
    assert reply.admitted == [group]
    assert console.admitted == [(group.chat_id, "acc-zoe")]


async def test_linking_on_a_16_plus_platform_tells_the_pupil_why_not(
    ctx: Context, binder: FakePlatform
) -> None:
    await groups_uc.bind_group(ctx, "binder", "-100777", "2B", actor=await person(ctx, "t-devries"))
    await add_invite(ctx, "p-2b-01", "ZOECODE")
    reply = await linking.link_account(ctx, "binder", "acc-zoe", "ZOECODE")
    assert reply.texts[-1] == M_PLATFORM_AGE("nl", platform="binder", age=16, klas="2B")
    assert binder.admitted == []


async def test_linking_when_the_platform_admits_later_says_so(
    ctx: Context, console: FakePlatform
) -> None:
    await groups_uc.create_group(ctx, "2B", "console")
    console.admit_result = False
    await add_invite(ctx, "p-2b-01", "ZOECODE")
    reply = await linking.link_account(ctx, "console", "acc-zoe", "ZOECODE")
    assert reply.texts[-1] == M_ADMIT_PENDING("nl", klas="2B")
    assert reply.admitted == []


async def test_linking_is_not_admission_into_a_lost_group(
    ctx: Context, console: FakePlatform
) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await groups_uc.group_lost(ctx, "console", group.chat_id)
    await add_invite(ctx, "p-2b-01", "ZOECODE")
    reply = await linking.link_account(ctx, "console", "acc-zoe", "ZOECODE")
    assert reply.texts == [M_LINKED("nl", name="Zoë")]
    assert console.admitted == []


# --- sending one's own code again -------------------------------------------------------------


async def test_resending_ones_own_code_readmits(ctx: Context, console: FakePlatform) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await add_invite(ctx, "p-2b-01", "ZOECODE")
    console.admit_errors.append(TransientDeliveryError("platform unavailable"))
    first = await linking.link_account(ctx, "console", "acc-zoe", "ZOECODE")
    assert first.texts[-1] == M_ADMIT_PENDING("nl", klas="2B")
    assert (await member_states(ctx, group.id))["p-2b-01"] == "invited"
    again = await linking.link_account(ctx, "console", "acc-zoe", "ZOECODE")
    assert again.texts[-1] == M_ADMITTED("nl", klas="2B")
    assert (await member_states(ctx, group.id))["p-2b-01"] == "member"


async def test_resending_ones_own_code_links_nothing_new(ctx: Context) -> None:
    await add_invite(ctx, "p-2b-01", "ZOECODE")
    await linking.link_account(ctx, "console", "acc-zoe", "ZOECODE")
    await linking.link_account(ctx, "console", "acc-zoe", "ZOECODE")
    assert len(await events(ctx, "account-linked")) == 1


async def test_resending_ones_own_code_works_after_it_expired(
    ctx: Context, clock: FrozenClock
) -> None:
    await add_invite(ctx, "p-2b-01", "ZOECODE", valid=timedelta(days=1))
    await linking.link_account(ctx, "console", "acc-zoe", "ZOECODE")
    clock.advance(days=2)
    reply = await linking.link_account(ctx, "console", "acc-zoe", "ZOECODE")
    assert reply.texts[0] == M_LINKED("nl", name="Zoë")


async def test_an_account_linked_to_someone_else_cannot_reuse_a_used_code(ctx: Context) -> None:
    await add_invite(ctx, "p-2b-02", "DAANCODE")
    await linking.link_account(ctx, "console", "acc-daan", "DAANCODE")
    await add_invite(ctx, "p-2b-01", "ZOECODE")
    await linking.link_account(ctx, "console", "acc-zoe", "ZOECODE")
    reply = await linking.link_account(ctx, "console", "acc-zoe", "DAANCODE")
    assert reply.texts == [M_CODE_USED("nl")]
    assert await linked_person(ctx, "console", "acc-zoe") == "p-2b-01"
