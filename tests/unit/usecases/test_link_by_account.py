"""Issue 13, item 3: an account is linked without a code by the school account its platform
reports (Teams: user principal name and e-mail), matched to the roster's username or e-mail
without regard to case; exactly one person must match, and a code's link is never overruled."""

from __future__ import annotations

from dataclasses import replace

from bot.domain import RosterSnapshot
from bot.usecases import groups as groups_uc
from bot.usecases import linking
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import FakePlatform, events, link, member_states


async def linked(ctx: Context, account_id: str, platform: str = "console") -> str | None:
    async with ctx.db.transaction() as tx:
        person = await tx.accounts.person_of(platform, account_id)
    return person.id if person else None


async def with_username(
    ctx: Context, snapshot: RosterSnapshot, person_id: str, username: str
) -> None:
    persons = tuple(
        replace(p, username=username) if p.id == person_id else p for p in snapshot.persons
    )
    await roster_uc.import_roster(ctx, replace(snapshot, persons=persons))


async def test_upn_links_the_pupil_and_lets_her_into_her_class_group(
    ctx: Context, console: FakePlatform, snapshot: RosterSnapshot
) -> None:
    await with_username(ctx, snapshot, "p-2b-01", "zoe.vandenberg@passie-utrecht.example")
    group = await groups_uc.create_group(ctx, "2B", "console")
    person = await linking.link_by_school_account(
        ctx, "console", "aad-zoe", ["zoe.vandenberg@passie-utrecht.example"]
    )
    assert person is not None
    assert person.id == "p-2b-01"
    assert await linked(ctx, "aad-zoe") == "p-2b-01"
    assert console.admitted == [(group.chat_id, "aad-zoe")]
    assert (await member_states(ctx, group.id))["p-2b-01"] == "member"
    [event] = await events(ctx, "account-linked", "p-2b-01")
    assert event.details["via"] == "school-account"
    assert event.details["platform"] == "console"


async def test_email_links_and_case_does_not_matter(ctx: Context) -> None:
    # The mentor's e-mail in the roster is j.devries@passie-utrecht.example.
    person = await linking.link_by_school_account(
        ctx,
        "console",
        "aad-jan",
        ["JAN.SOMETHING@tenant.example", "J.DeVries@Passie-Utrecht.EXAMPLE"],
    )
    assert person is not None
    assert person.id == "t-devries"
    assert await linked(ctx, "aad-jan") == "t-devries"


async def test_username_matches_in_any_case(ctx: Context) -> None:
    person = await linking.link_by_school_account(ctx, "console", "aad-noor", ["Noor.ElAmrani"])
    assert person is not None
    assert person.id == "p-2b-03"


async def test_no_match_links_nothing(ctx: Context) -> None:
    assert await linking.link_by_school_account(ctx, "console", "aad-x", ["x@else.example"]) is None
    assert await linking.link_by_school_account(ctx, "console", "aad-x", []) is None
    assert await linked(ctx, "aad-x") is None
    assert await events(ctx, "account-linked") == []


async def test_two_matches_link_nobody_and_are_audited(ctx: Context) -> None:
    # One member's UPN is one person's username, its e-mail another person's address.
    person = await linking.link_by_school_account(
        ctx, "console", "aad-two", ["a.visser", "j.devries@passie-utrecht.example"]
    )
    assert person is None
    assert await linked(ctx, "aad-two") is None
    [event] = await events(ctx, "link-refused", "l-visser")
    assert event.details["reason"] == "ambiguous-school-account"
    assert event.details["matches"] == 2
    assert set(event.person_ids) == {"l-visser", "t-devries"}


async def test_same_username_twice_on_the_roster_is_ambiguous(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    await with_username(ctx, snapshot, "p-2b-02", "zoe.vandenberg")
    assert await linking.link_by_school_account(ctx, "console", "aad-z", ["zoe.vandenberg"]) is None
    assert await linked(ctx, "aad-z") is None


async def test_a_person_linked_with_another_account_gets_no_second_one(ctx: Context) -> None:
    await link(ctx, "p-2b-01", account="phone-zoe")
    person = await linking.link_by_school_account(ctx, "console", "aad-zoe", ["zoe.vandenberg"])
    assert person is None
    assert await linked(ctx, "aad-zoe") is None
    assert await linked(ctx, "phone-zoe") == "p-2b-01"
    refused = await events(ctx, "link-refused", "p-2b-01")
    assert [e.details["reason"] for e in refused] == ["other-account"]
    # Another platform is another matter: one account there.
    assert await linking.link_by_school_account(ctx, "binder", "aad-zoe", ["zoe.vandenberg"])


async def test_an_account_linked_by_code_stays_with_that_person(ctx: Context) -> None:
    await link(ctx, "p-2b-03", account="aad-shared")
    person = await linking.link_by_school_account(ctx, "console", "aad-shared", ["zoe.vandenberg"])
    assert person is None
    assert await linked(ctx, "aad-shared") == "p-2b-03"
    assert await events(ctx, "account-moved") == []


async def test_linking_again_is_a_no_op(ctx: Context, console: FakePlatform) -> None:
    await groups_uc.create_group(ctx, "2B", "console")
    first = await linking.link_by_school_account(ctx, "console", "aad-zoe", ["zoe.vandenberg"])
    again = await linking.link_by_school_account(ctx, "console", "aad-zoe", ["ZOE.VANDENBERG"])
    assert first == again
    assert again is not None
    assert len(await events(ctx, "account-linked", "p-2b-01")) == 1
    assert len(console.admitted) == 1


async def test_a_pupil_under_13_is_not_linked(ctx: Context, snapshot: RosterSnapshot) -> None:
    await with_username(ctx, snapshot, "p-2b-05", "milan@passie-utrecht.example")
    person = await linking.link_by_school_account(
        ctx, "console", "aad-milan", ["milan@passie-utrecht.example"]
    )
    assert person is None
    assert await linked(ctx, "aad-milan") is None
    [event] = await events(ctx, "link-refused", "p-2b-05")
    assert event.details["reason"] == "under-13"


async def test_in_a_class_group_only_that_schools_persons_match(
    ctx: Context, console: FakePlatform, snapshot: RosterSnapshot
) -> None:
    """A board's installation: two schools each have a `z.berg`. Seen in 2B's group (De Passie
    Utrecht), the account is the Utrecht pupil's; seen nowhere in particular, it is ambiguous."""
    other = next(p for p in snapshot.persons if p.id == "p-4c-01")
    zeist = replace(
        other, id="p-zeist-01", username="z.berg", school_ids=("org-passie-zeist",), email=None
    )
    persons = tuple(
        replace(p, username="z.berg") if p.id == "p-2b-01" else p for p in snapshot.persons
    )
    await roster_uc.import_roster(ctx, replace(snapshot, persons=(*persons, zeist)))
    assert await linking.link_by_school_account(ctx, "console", "aad-z", ["Z.Berg"]) is None
    [refused] = await events(ctx, "link-refused", "p-2b-01")
    assert refused.details["reason"] == "ambiguous-school-account"

    group = await groups_uc.create_group(ctx, "2B", "console")
    person = await linking.link_by_school_account(
        ctx, "console", "aad-z", ["Z.Berg"], chat_id=group.chat_id
    )
    assert person is not None
    assert person.id == "p-2b-01"
    assert await linked(ctx, "aad-z") == "p-2b-01"
