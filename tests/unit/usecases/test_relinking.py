"""An account linked to a second person takes its group memberships along only where that person
may be; the first person's memberships through it end, and their next announcement goes by
fallback (a shared family phone; a pupil who uses a classmate's code)."""

from __future__ import annotations

from bot.domain import Channel, Group, GroupState, Membership, MemberState, Reason
from bot.routing import group_view
from bot.usecases import announcing, linking
from bot.usecases import groups as groups_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    FakePlatform,
    add_invite,
    by_pupil,
    events,
    homework,
    link,
    member_states,
)

PHONE = "family-phone"


async def zoe_in_the_group(ctx: Context) -> Group:
    """A console group for 2B with Zoë (p-2b-01) in it through the account PHONE."""
    group = await groups_uc.create_group(ctx, "2B", "console")
    await link(ctx, "p-2b-01", account=PHONE)
    assert (await member_states(ctx, group.id))["p-2b-01"] == "member"
    return group


async def person_of(ctx: Context, account: str, platform: str = "console") -> str | None:
    async with ctx.db.transaction() as tx:
        found = await tx.accounts.person_of(platform, account)
    return found.id if found else None


async def routes(ctx: Context) -> dict[str, tuple[str, str | None]]:
    # A probe of the routes, made more than once per test: a repeat on purpose.
    result = await announcing.announce(ctx, homework(), again=True)
    rows = await by_pupil(ctx, result.announcement.id)
    return {p: (d.channel.value, d.reason.value if d.reason else None) for p, d in rows.items()}


async def test_a_parent_linking_the_childs_phone_takes_it_out_of_the_group(
    ctx: Context, console: FakePlatform
) -> None:
    group = await zoe_in_the_group(ctx)
    await add_invite(ctx, "g-01", "MOTHERCODE")

    reply = await linking.link_account(ctx, "console", PHONE, "MOTHERCODE")

    assert reply.texts[0].startswith("Gelukt, Marieke!")
    assert await person_of(ctx, PHONE) == "g-01"
    # A guardian may not be in a class group (rule 2): the account leaves it on the platform.
    assert (group.chat_id, PHONE, "stranger") in console.removed
    assert (await member_states(ctx, group.id))["p-2b-01"] == "removed"
    assert "g-01" not in await member_states(ctx, group.id)
    [removed] = await events(ctx, "member-removed")
    assert set(removed.person_ids) == {"p-2b-01", "g-01"}
    assert removed.details["reason"] == "account-relinked"
    [moved] = await events(ctx, "account-moved")
    assert set(moved.person_ids) == {"p-2b-01", "g-01"}


async def test_after_the_parent_linked_the_childs_phone_the_child_gets_a_fallback(
    ctx: Context,
) -> None:
    await zoe_in_the_group(ctx)
    assert (await routes(ctx))["p-2b-01"] == ("group", None)
    await add_invite(ctx, "g-01", "MOTHERCODE")
    await linking.link_account(ctx, "console", PHONE, "MOTHERCODE")

    # Zoë has no account any more: her guardian gets it by e-mail.
    assert (await routes(ctx))["p-2b-01"] == (Channel.EMAIL.value, Reason.NOT_LINKED.value)


async def test_a_classmates_code_moves_the_membership_to_the_classmate(
    ctx: Context, console: FakePlatform
) -> None:
    group = await zoe_in_the_group(ctx)
    await add_invite(ctx, "p-2b-03", "NOORCODE")

    await linking.link_account(ctx, "console", PHONE, "NOORCODE")

    assert await person_of(ctx, PHONE) == "p-2b-03"
    # Noor may be in 2B's group: the account stays, now as Noor's.
    assert console.removed == []
    states = await member_states(ctx, group.id)
    assert states["p-2b-01"] == "removed"
    assert states["p-2b-03"] == "member"
    [moved] = await events(ctx, "membership-moved")
    assert set(moved.person_ids) == {"p-2b-01", "p-2b-03"}
    got = await routes(ctx)
    assert got["p-2b-03"] == ("group", None)
    assert got["p-2b-01"] == ("email", Reason.NOT_LINKED.value)


async def test_a_code_of_another_class_takes_the_account_out_of_this_classs_group(
    ctx: Context, console: FakePlatform
) -> None:
    group = await zoe_in_the_group(ctx)
    await add_invite(ctx, "p-4c-01", "PUPIL4CCODE")

    await linking.link_account(ctx, "console", PHONE, "PUPIL4CCODE")

    assert [account for _, account, _ in console.removed] == [PHONE]
    assert (await member_states(ctx, group.id))["p-2b-01"] == "removed"


async def test_a_person_may_hold_several_accounts(ctx: Context, console: FakePlatform) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    # Zoë's phone links first, then her laptop (the group's membership follows the newest).
    await add_invite(ctx, "p-2b-01", "ZOEPHONE")
    await linking.link_account(ctx, "console", "zoe-phone", "ZOEPHONE")
    await add_invite(ctx, "p-2b-01", "ZOELAPTOP")
    await linking.link_account(ctx, "console", "zoe-laptop", "ZOELAPTOP")
    await link(ctx, "p-2b-01", platform="binder", account="zoe-elsewhere")
    async with ctx.db.transaction() as tx:
        accounts = {(a.platform, a.account_id) for a in await tx.accounts.of_person("p-2b-01")}
    assert accounts == {
        ("console", "zoe-phone"),
        ("console", "zoe-laptop"),
        ("binder", "zoe-elsewhere"),
    }

    # The phone goes to her mother; the laptop still holds Zoë's membership.
    await add_invite(ctx, "g-01", "MOTHERCODE")
    await linking.link_account(ctx, "console", "zoe-phone", "MOTHERCODE")

    assert console.removed == []
    assert (await member_states(ctx, group.id))["p-2b-01"] == "member"
    assert (await routes(ctx))["p-2b-01"] == ("group", None)


async def test_resending_ones_own_code_moves_nothing(ctx: Context, console: FakePlatform) -> None:
    group = await zoe_in_the_group(ctx)
    await linking.link_account(ctx, "console", PHONE, "CP2B01CONSOLE")
    assert console.removed == []
    assert (await member_states(ctx, group.id))["p-2b-01"] == "member"
    assert await events(ctx, "account-moved") == []


def test_a_member_without_an_account_on_the_platform_is_not_reached_in_the_group() -> None:
    group = Group(1, "2B", "console", "chat", GroupState.ACTIVE)
    members = {
        "p-1": Membership("a-1", MemberState.MEMBER),
        "p-2": Membership("a-2", MemberState.MEMBER),
        "p-3": Membership("a-3", MemberState.LEFT),
    }
    view = group_view(group, 13, members, ["p-1"])
    assert view.members == frozenset({"p-1"})
    # Someone who has no account any more is not linked, whatever their last membership was.
    assert view.departed == frozenset()
