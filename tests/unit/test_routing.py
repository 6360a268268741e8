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
    Route,
)
from bot.routing import (
    GroupView,
    route_after_failure,
    route_class,
    route_invite,
    route_pupil,
)

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


# -- adults (rule 6): 18 or older, guardians only with the pupil's consent -----------------------

# Born on TODAY's date 18 years before: 18 today. One day later: still 17 today.
EIGHTEEN_TODAY = date(2008, 11, 23)
SEVENTEEN = date(2008, 11, 24)
MAILING_PARENT = guardian("g1", email="g1@example.org", address=HOME)
POSTED_PARENT = guardian("g2", address=OTHER_HOME)


def adult(born: date = EIGHTEEN_TODAY, **kw: object) -> Person:
    return pupil(born=born, guardian_ids=("g1", "g2"), **kw)


def recipients(route: Route) -> list[str]:
    return [r.person_id for r in route.recipients]


def routed(person: Person, today: date = TODAY, from_age: int | None = 16) -> Route:
    return route_pupil(
        person,
        today=today,
        groups=[view()],
        guardians=[MAILING_PARENT, POSTED_PARENT],
        pupil_email_from_age=from_age,
    )


@pytest.mark.parametrize("from_age", [None, 16, 21])
def test_eighteen_on_the_birthday_gets_their_own_mail_and_seventeen_the_guardians(
    from_age: int | None,
) -> None:
    route = routed(adult(email="p@example.org"), from_age=from_age)
    assert (route.channel, route.reason, recipients(route)) == (
        Channel.EMAIL,
        Reason.NOT_LINKED,
        ["p1"],
    )
    minor = routed(adult(SEVENTEEN, email="p@example.org"), from_age=None)
    assert recipients(minor) == ["g1"]


def test_a_leap_day_adult_is_eighteen_on_the_first_of_march() -> None:
    born = date(2008, 2, 29)  # 2026 has no 29 February
    leap = adult(born, address=OTHER_HOME)
    assert recipients(routed(leap, date(2026, 2, 28), from_age=None)) == ["g1"]
    on_first = routed(leap, date(2026, 3, 1), from_age=None)
    assert (on_first.channel, recipients(on_first)) == (Channel.POST, ["p1"])


def test_with_consent_an_adult_has_the_ordinary_ladder() -> None:
    consenting = adult(email="p@example.org", share_with_guardians=True)
    assert recipients(routed(consenting, from_age=None)) == ["g1"]
    assert recipients(routed(consenting, from_age=16)) == ["p1"]
    no_own = adult(share_with_guardians=True)
    assert recipients(routed(no_own)) == ["g1"]


def test_an_adult_without_own_contact_is_unreachable_never_the_guardians() -> None:
    route = routed(adult())
    assert (route.channel, route.reason, route.recipients) == (
        Channel.UNREACHABLE,
        Reason.ADULT_NO_CONTACT,
        (),
    )


def test_an_adults_own_preference_is_respected() -> None:
    both = {"email": "p@example.org", "address": OTHER_HOME}
    post = routed(adult(preference=ContactPreference.POST, **both))
    assert (post.channel, recipients(post)) == (Channel.POST, ["p1"])
    assert post.recipients[0].email is None
    none = routed(adult(preference=ContactPreference.NONE, **both))
    assert (none.channel, none.reason) == (
        Channel.UNREACHABLE,
        Reason.ADULT_NO_CONTACT,
    )
    mail = routed(adult(**both), from_age=None)
    assert (mail.channel, recipients(mail)) == (Channel.EMAIL, ["p1"])


def test_an_adult_in_the_group_is_reached_there() -> None:
    route = route_pupil(
        adult(), today=TODAY, groups=[view(members=frozenset({"p1"}))], guardians=[MAILING_PARENT]
    )
    assert route.channel == Channel.GROUP


def test_an_adults_code_and_retries_stay_with_the_adult() -> None:
    guardians = [MAILING_PARENT, POSTED_PARENT]
    invite = route_invite(
        adult(), adult(), today=TODAY, guardians=guardians, pupil_email_from_age=16
    )
    assert (invite.channel, invite.reason) == (Channel.UNREACHABLE, Reason.ADULT_NO_CONTACT)
    own = adult(email="p@example.org", address=OTHER_HOME)
    code = route_invite(own, own, today=TODAY, guardians=guardians, pupil_email_from_age=None)
    assert (code.channel, recipients(code)) == (Channel.EMAIL, ["p1"])
    bounced = route_after_failure(
        own,
        failed=Channel.EMAIL,
        why="bounced",
        reason=Reason.NOT_LINKED,
        today=TODAY,
        guardians=guardians,
        pupil_email_from_age=16,
    )
    assert bounced is not None
    assert (bounced.channel, bounced.reason, recipients(bounced)) == (
        Channel.POST,
        Reason.BOUNCED,
        ["p1"],
    )
    mail_only = adult(email="p@example.org")
    assert (
        route_after_failure(
            mail_only,
            failed=Channel.EMAIL,
            why="bounced",
            reason=Reason.NOT_LINKED,
            today=TODAY,
            guardians=guardians,
            pupil_email_from_age=16,
        )
        is None
    )


contacts = st.fixed_dictionaries(
    {
        "email": st.one_of(st.none(), st.just("x@example.org")),
        "address": st.one_of(st.none(), st.sampled_from([HOME, OTHER_HOME])),
        "preference": st.sampled_from(list(ContactPreference)),
    }
)


@given(
    born=st.dates(date(2003, 1, 1), date(2012, 12, 31)),
    today=st.dates(date(2024, 1, 1), date(2030, 12, 31)),
    consent=st.booleans(),
    own=contacts,
    parents=st.lists(contacts, min_size=0, max_size=3),
    from_age=st.one_of(st.none(), st.integers(12, 21)),
    reason=st.sampled_from([r for r in Reason if r != Reason.ADULT_NO_CONTACT]),
    failed=st.sampled_from([Channel.GROUP, Channel.EMAIL]),
    why=st.sampled_from([None, "blocked", "group-lost", "bounced"]),
)
def test_no_route_of_an_adult_without_consent_names_a_guardian(
    born: date,
    today: date,
    consent: bool,
    own: dict[str, object],
    parents: list[dict[str, object]],
    from_age: int | None,
    reason: Reason,
    failed: Channel,
    why: str | None,
) -> None:
    """The done-when of issue 12: an 18-year-old pupil's announcements (and codes, and the
    retries after a failed channel) never go to a guardian without recorded consent."""
    guardians = [
        Person(f"g{i}", Role.GUARDIAN, "Ouder", f"G{i}", **c)  # type: ignore[arg-type]
        for i, c in enumerate(parents)
    ]
    person = Person(
        "p1",
        Role.PUPIL,
        "Zoë",
        "Berg",
        birth_date=born,
        guardian_ids=tuple(g.id for g in guardians),
        share_with_guardians=consent,
        **own,  # type: ignore[arg-type]
    )
    routes = [
        route_class(
            [person],
            today=today,
            groups=[],
            guardians={g.id: g for g in guardians},
            pupil_email_from_age=from_age,
        )[0],
        route_invite(
            person, person, today=today, guardians=guardians, pupil_email_from_age=from_age
        ),
    ]
    retry = route_after_failure(
        person,
        failed=failed,
        why=why,
        reason=reason,
        today=today,
        guardians=guardians,
        pupil_email_from_age=from_age,
    )
    routes += [retry] if retry is not None else []
    eighteenth = (
        date(born.year + 18, 3, 1)
        if (born.month, born.day) == (2, 29)
        else (born.replace(year=born.year + 18))
    )
    for route in routes:
        assert route.pupil_id == "p1"
        if today >= eighteenth and not consent:
            assert {r.person_id for r in route.recipients} <= {"p1"}
            reachable = (own["email"] and own["preference"] == ContactPreference.DEFAULT) or (
                own["address"] and own["preference"] != ContactPreference.NONE
            )
            if route is routes[0]:
                assert (route.channel == Channel.UNREACHABLE) == (not reachable)
        if route.channel == Channel.UNREACHABLE:
            assert route.recipients == ()
