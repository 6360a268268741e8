"""Rule 6: exactly one route per pupil, with the fallback order and a reason for every fallback."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import (
    Address,
    Channel,
    ContactPreference,
    Group,
    GroupState,
    Person,
    Reason,
    Role,
)
from bot.routing import GroupView, route_class, route_pupil

TODAY = date(2026, 11, 23)
HOME = Address("Dorpsstraat 1", "1234 AB", "Utrecht")
OTHER_HOME = Address("Kerkweg 9", "5678 CD", "Zeist")


def pupil(pid: str = "p1", born: date | None = date(2012, 1, 1), **kw: object) -> Person:
    return Person(pid, Role.PUPIL, "Zoë", "Berg", birth_date=born, **kw)  # type: ignore[arg-type]


def guardian(gid: str, **kw: object) -> Person:
    return Person(gid, Role.GUARDIAN, "Ouder", gid, **kw)  # type: ignore[arg-type]


def group(state: GroupState = GroupState.ACTIVE, gid: int = 1, platform: str = "console") -> Group:
    return Group(gid, "c1", platform, f"chat{gid}", state)


def view(**kw: object) -> GroupView:
    base: dict[str, object] = {"group": group()}
    base.update(kw)
    return GroupView(**base)  # type: ignore[arg-type]


def test_member_is_reached_in_the_group() -> None:
    route = route_pupil(
        pupil(), today=TODAY, groups=[view(members=frozenset({"p1"}))], guardians=[]
    )
    assert (route.channel, route.reason, route.group_id) == (Channel.GROUP, None, 1)


@pytest.mark.parametrize(
    ("born", "views", "reason"),
    [
        (date(2013, 11, 24), [view(members=frozenset({"p1"}))], Reason.UNDER_13),  # 13 tomorrow
        (None, [view(members=frozenset({"p1"}))], Reason.AGE_UNKNOWN),
        (date(2012, 1, 1), [], Reason.NO_GROUP),
        (
            date(2012, 1, 1),
            [view(group=group(GroupState.LOST), members=frozenset({"p1"}))],
            Reason.GROUP_LOST,
        ),
        (date(2012, 1, 1), [view()], Reason.NOT_LINKED),
        (date(2012, 1, 1), [view(linked=frozenset({"p1"}))], Reason.NOT_JOINED),
        (date(2012, 1, 1), [view(departed=frozenset({"p1"}))], Reason.LEFT_GROUP),
        (date(2012, 1, 1), [view(min_age=16, members=frozenset({"p1"}))], Reason.PLATFORM_AGE),
    ],
)
def test_fallback_reasons(born: date | None, views: list[GroupView], reason: Reason) -> None:
    g = guardian("g1", email="g1@example.org")
    route = route_pupil(
        pupil(born=born, guardian_ids=("g1",)), today=TODAY, groups=views, guardians=[g]
    )
    assert (route.channel, route.reason) == (Channel.EMAIL, reason)


def test_thirteen_today_is_in_the_group() -> None:
    route = route_pupil(
        pupil(born=date(2013, 11, 23)),
        today=TODAY,
        groups=[view(members=frozenset({"p1"}))],
        guardians=[],
    )
    assert route.channel == Channel.GROUP


def test_order_own_email_from_16_then_guardians_then_letters() -> None:
    g_mail = guardian("g1", email="g1@example.org")
    g_post = guardian("g2", address=HOME)
    old = pupil(born=date(2010, 1, 1), email="p@example.org")
    young = pupil(born=date(2011, 1, 1), email="p@example.org")
    assert [
        r.email for r in route_pupil(old, today=TODAY, groups=[], guardians=[g_mail]).recipients
    ] == ["p@example.org"]
    assert [
        r.email for r in route_pupil(young, today=TODAY, groups=[], guardians=[g_mail]).recipients
    ] == ["g1@example.org"]
    assert route_pupil(young, today=TODAY, groups=[], guardians=[g_post]).channel == Channel.POST
    off = route_pupil(old, today=TODAY, groups=[], guardians=[g_mail], pupil_email_from_age=None)
    assert [r.email for r in off.recipients] == ["g1@example.org"]


def test_every_guardian_with_email_and_one_letter_per_household() -> None:
    mails = route_pupil(
        pupil(),
        today=TODAY,
        groups=[],
        guardians=[guardian("g1", email="a@x.org"), guardian("g2", email="b@x.org")],
    )
    assert sorted(r.email for r in mails.recipients) == ["a@x.org", "b@x.org"]
    same_house = [
        guardian("g1", address=HOME),
        guardian("g2", address=Address("dorpsstraat  1", "1234ab", "Utrecht")),
    ]
    assert len(route_pupil(pupil(), today=TODAY, groups=[], guardians=same_house).recipients) == 1
    two_houses = [guardian("g1", address=HOME), guardian("g2", address=OTHER_HOME)]
    assert len(route_pupil(pupil(), today=TODAY, groups=[], guardians=two_houses).recipients) == 2


def test_preferences_post_and_none() -> None:
    post = guardian("g1", email="a@x.org", address=HOME, preference=ContactPreference.POST)
    assert route_pupil(pupil(), today=TODAY, groups=[], guardians=[post]).channel == Channel.POST
    never = guardian("g1", email="a@x.org", address=HOME, preference=ContactPreference.NONE)
    assert (
        route_pupil(pupil(), today=TODAY, groups=[], guardians=[never]).channel
        == Channel.UNREACHABLE
    )
    own_address = pupil(address=OTHER_HOME)
    assert (
        route_pupil(own_address, today=TODAY, groups=[], guardians=[never]).channel == Channel.POST
    )


def test_unreachable_keeps_its_reason() -> None:
    route = route_pupil(pupil(), today=TODAY, groups=[view()], guardians=[])
    assert (route.channel, route.reason, route.recipients) == (
        Channel.UNREACHABLE,
        Reason.NOT_LINKED,
        (),
    )


pupil_strategy = st.builds(
    lambda pid, born, email, addr, pref: Person(
        pid,
        Role.PUPIL,
        "A",
        "B",
        birth_date=born,
        email=email,
        address=addr,
        preference=pref,
        guardian_ids=("g1", "g2"),
    ),
    st.sampled_from([f"p{i}" for i in range(12)]),
    st.one_of(st.none(), st.dates(date(2005, 1, 1), date(2016, 12, 31))),
    st.one_of(st.none(), st.just("p@x.org")),
    st.one_of(st.none(), st.just(HOME)),
    st.sampled_from(list(ContactPreference)),
)
guardian_strategy = st.builds(
    lambda gid, email, addr, pref: Person(
        gid, Role.GUARDIAN, "G", gid, email=email, address=addr, preference=pref
    ),
    st.sampled_from(["g1", "g2"]),
    st.one_of(st.none(), st.just("g@x.org")),
    st.one_of(st.none(), st.sampled_from([HOME, OTHER_HOME])),
    st.sampled_from(list(ContactPreference)),
)


@given(
    pupils=st.lists(pupil_strategy, max_size=20),
    guardians=st.lists(guardian_strategy, max_size=2),
    members=st.frozensets(st.sampled_from([f"p{i}" for i in range(12)])),
    state=st.sampled_from(list(GroupState)),
    has_group=st.booleans(),
)
def test_exactly_one_route_per_distinct_pupil(
    pupils: list[Person],
    guardians: list[Person],
    members: frozenset[str],
    state: GroupState,
    has_group: bool,
) -> None:
    views = [view(group=group(state), members=members)] if has_group else []
    routes = route_class(pupils, today=TODAY, groups=views, guardians={g.id: g for g in guardians})
    assert sorted(r.pupil_id for r in routes) == sorted({p.id for p in pupils})
    for r in routes:
        assert (r.reason is None) == (r.channel == Channel.GROUP)
        assert (r.channel in (Channel.EMAIL, Channel.POST)) == bool(r.recipients)
        if r.channel == Channel.EMAIL:
            assert all(x.email for x in r.recipients)
        if r.channel == Channel.POST:
            assert all(x.address for x in r.recipients)
