"""A board's schools in one installation: `[schools."<sourcedId or identifier>"]` tables on top of
`[school]` and `[post]` (issue 14), and the policy each school's classes follow."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.bootstrap import make_policy
from bot.domain import Kind, School
from bot.policy import leadership_for, policy_of_school
from config.settings import ConfigError, load_settings

BOARD = """
[school]
name = ""
leadership_emails = ["bestuur@board.example"]
quiet_hours = "21:00-07:00"

[post]
letterhead = ["Stichting Voorbeeld", "Postbus 1"]
return_address = "Stichting Voorbeeld, Postbus 1, 1000 AA Ergens"

[schools."org-a"]
name = "Lyceum A"
timezone = "Europe/Brussels"
quiet_hours = ""
allowed_kinds = ["homework", "trip"]
urgent_kinds = []
leadership_emails = ["rector@a.example"]
reply_to = "info@a.example"
letterhead = ["Lyceum A", "Laan 1"]
return_address = "Lyceum A, Laan 1"

[schools."12AB"]
lesson_hours = ""
"""


def _load(tmp_path: Path, text: str = BOARD, **env: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "klasbot.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env)


def test_a_school_table_overrides_only_the_keys_it_sets(tmp_path: Path) -> None:
    settings = _load(tmp_path)
    a = settings.school_settings("org-a")
    assert (a.name, a.timezone, a.quiet_hours, a.reply_to) == (
        "Lyceum A",
        "Europe/Brussels",
        "",
        "info@a.example",
    )
    assert a.allowed_kinds == ["homework", "trip"]
    assert a.language == settings.school.language  # not set: the board's
    assert settings.school_settings("12AB").lesson_hours == ""
    assert settings.school_settings("12AB").quiet_hours == "21:00-07:00"
    assert settings.school_settings("elsewhere") == settings.school
    assert settings.school_post("org-a") == (["Lyceum A", "Laan 1"], "Lyceum A, Laan 1")
    assert settings.school_post("12AB") == settings.school_post(None)
    assert settings.school_post(None) == (
        ["Stichting Voorbeeld", "Postbus 1"],
        "Stichting Voorbeeld, Postbus 1, 1000 AA Ergens",
    )


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('quiet_hours = "late"', 'schools."org-a".quiet_hours ([schools."org-a"])'),
        ("bogus = 1", "unknown key 'schools.\"org-a\".bogus'"),
        ('timezone = "Mars/Olympus"', 'schools."org-a".timezone'),
        ("sweep_at = '08:00'", "is the board's alone"),
        ("retention_years = 3", "is the board's alone"),
        ('allowed_kinds = ["homework"]\nurgent_kinds = ["trip"]', "urgent kind 'trip'"),
        ('leadership_emails = ["not an address"]', 'schools."org-a".leadership_emails'),
        ('letterhead = "one line"', None),  # a string is one line: allowed
    ],
)
def test_a_wrong_school_key_is_one_line_naming_the_table(
    tmp_path: Path, table: str, expected: str | None
) -> None:
    text = f'[schools."org-a"]\n{table}\n'
    if expected is None:
        _load(tmp_path, text)
        return
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    message = caught.value.render("en")
    assert "\n" not in message
    assert expected in message
    assert "KLASBOT_SCHOOLS" not in message  # no variable is offered that does not exist


def test_school_tables_come_from_the_file_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, "", KLASBOT_SCHOOLS__ORG_A__NAME="Lyceum A")
    assert "KLASBOT_SCHOOLS__ORG_A__NAME" in caught.value.render("en")


def test_each_school_follows_its_own_policy(tmp_path: Path) -> None:
    policy = make_policy(_load(tmp_path))
    a = School("org-a", "A (roster)")
    b = School("org-b", "B (roster)", identifier="12AB")
    c = School("org-c", "C (roster)", identifier="99ZZ")
    assert policy.for_school(a).timezone == ZoneInfo("Europe/Brussels")
    assert policy.for_school(a).quiet_hours is None
    assert policy.for_school(a).allowed_kinds == (Kind.HOMEWORK, Kind.TRIP)
    assert policy.for_school(a).letterhead == ("Lyceum A", "Laan 1")
    assert policy.for_school(b).lesson_hours is None  # by identifier
    assert policy.for_school(b).quiet_hours is not None
    assert policy.for_school(c) is policy
    assert policy.for_school(None) is policy
    schools = [a, b, c]
    assert policy.name_of_school(schools, "org-a") == "Lyceum A"
    assert policy.name_of_school(schools, "org-b") == "B (roster)"
    assert policy.name_of_school(schools, "org-c") == "C (roster)"
    assert policy.for_school(a).replies_to("teacher@a.example") == "info@a.example"
    assert policy.for_school(c).replies_to("teacher@c.example") == "teacher@c.example"


class _Roster:
    def __init__(self, schools: list[School]) -> None:
        self._schools = schools

    async def classes(self) -> list[object]:
        return []

    async def leadership(self, school_id: str | None) -> list[object]:
        return []

    async def schools(self) -> list[School]:
        return self._schools


async def test_leadership_is_each_schools_own(tmp_path: Path) -> None:
    policy = make_policy(_load(tmp_path))
    roster = _Roster([School("org-a", "A"), School("org-b", "B", identifier="12AB")])
    assert await leadership_for(roster, policy, "org-a") == ("rector@a.example",)  # type: ignore[arg-type]
    assert await leadership_for(roster, policy, "org-b") == ("bestuur@board.example",)  # type: ignore[arg-type]
    everyone = await leadership_for(roster, policy, None)  # type: ignore[arg-type]
    assert set(everyone) == {"rector@a.example", "bestuur@board.example"}
    own = await policy_of_school(roster, policy, "org-b")  # type: ignore[arg-type]
    assert own is policy.own["12AB"]
