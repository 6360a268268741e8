"""Rule 4 (B.1): permitted kinds, their fields and the announcement text."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.dates import format_date
from bot.domain import AnnouncementDraft, Kind
from bot.errors import RuleViolation
from bot.rules.kinds import (
    DEFAULT_ALLOWED_KINDS,
    KINDS,
    SUBJECT_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    KindSpec,
    kind_title,
    parse_period,
    render_body,
    validate_draft,
)

TUESDAY = date(2026, 12, 1)
FRIDAY = date(2026, 12, 11)

VALID: dict[str, AnnouncementDraft] = {
    "lesson-cancelled": AnnouncementDraft(
        "c2b", "t1", "lesson-cancelled", date=TUESDAY, period="3", subject="wiskunde",
        text="Docent is ziek.",
    ),
    "homework": AnnouncementDraft(
        "c2b", "t1", "homework", date=TUESDAY, subject="wiskunde", text="Maak opgave 1 t/m 5."
    ),
    "reminder": AnnouncementDraft("c2b", "t1", "reminder", text="Neem je gymspullen mee."),
    "trip": AnnouncementDraft(
        "c2b", "t1", "trip", date=FRIDAY, text="Excursie naar het Rijksmuseum."
    ),
}  # fmt: skip


def refusal(
    draft: AnnouncementDraft, allowed: tuple[str, ...] = DEFAULT_ALLOWED_KINDS
) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        validate_draft(draft, allowed)
    assert caught.value.rule == "B.1"
    return caught.value


def test_default_allow_list() -> None:
    assert DEFAULT_ALLOWED_KINDS == ("lesson-cancelled", "homework", "reminder", "trip")
    assert set(DEFAULT_ALLOWED_KINDS) == {k.value for k in Kind} == set(KINDS)


@pytest.mark.parametrize(
    ("kind", "required", "optional"),
    [
        ("lesson-cancelled", {"date", "period"}, {"subject", "text"}),
        ("homework", {"subject", "date", "text"}, set()),
        ("reminder", {"text"}, {"date"}),
        ("trip", {"date", "text"}, {"subject"}),
    ],
)
def test_kind_fields(kind: str, required: set[str], optional: set[str]) -> None:
    spec = KINDS[kind]
    assert isinstance(spec, KindSpec)
    assert spec.name == kind
    assert spec.required == required
    assert spec.optional == optional


@pytest.mark.parametrize("kind", DEFAULT_ALLOWED_KINDS)
def test_valid_drafts_pass(kind: str) -> None:
    validate_draft(VALID[kind], DEFAULT_ALLOWED_KINDS)


@pytest.mark.parametrize(
    "draft",
    [
        AnnouncementDraft("c2b", "t1", "lesson-cancelled", date=TUESDAY, period="3"),
        AnnouncementDraft("c2b", "t1", "lesson-cancelled", date=TUESDAY, period="3-4", text="Ziek"),
        AnnouncementDraft("c2b", "t1", "reminder", date=TUESDAY, text="Gymspullen"),
        AnnouncementDraft("c2b", "t1", "trip", date=FRIDAY, subject="geschiedenis", text="Museum"),
    ],
)
def test_optional_fields_may_be_given_or_left_out(draft: AnnouncementDraft) -> None:
    validate_draft(draft, DEFAULT_ALLOWED_KINDS)


@pytest.mark.parametrize(
    ("kind", "field", "nl", "en"),
    [
        ("lesson-cancelled", "date", "Lesuitval: veld 'datum' ontbreekt (optie --date).",
         "Lesson cancelled: field 'date' is missing (option --date)."),
        ("lesson-cancelled", "period", "Lesuitval: veld 'lesuur' ontbreekt (optie --period).",
         "Lesson cancelled: field 'period' is missing (option --period)."),
        ("homework", "date", "Huiswerk: veld 'datum' ontbreekt (optie --date).",
         "Homework: field 'date' is missing (option --date)."),
        ("homework", "subject", "Huiswerk: veld 'vak' ontbreekt (optie --subject).",
         "Homework: field 'subject' is missing (option --subject)."),
        ("homework", "text", "Huiswerk: veld 'tekst' ontbreekt (optie --text).",
         "Homework: field 'text' is missing (option --text)."),
        ("reminder", "text", "Herinnering: veld 'tekst' ontbreekt (optie --text).",
         "Reminder: field 'text' is missing (option --text)."),
        ("trip", "date", "Uitje: veld 'datum' ontbreekt (optie --date).",
         "School trip: field 'date' is missing (option --date)."),
        ("trip", "text", "Uitje: veld 'tekst' ontbreekt (optie --text).",
         "School trip: field 'text' is missing (option --text)."),
    ],
)  # fmt: skip
def test_each_missing_required_field(kind: str, field: str, nl: str, en: str) -> None:
    error = refusal(replace(VALID[kind], **{field: None}))
    assert error.code == "missing-field"
    assert error.params["field"] == field
    assert error.params["flag"] == f"--{field}"
    assert str(error) == nl
    assert error.render("en") == en


def test_missing_fields_are_reported_in_a_fixed_order() -> None:
    error = refusal(AnnouncementDraft("c2b", "t1", "homework"))
    assert error.params["field"] == "date"


@pytest.mark.parametrize("kind", ["feest", "", "Homework", "lesuitval", "media"])
def test_unknown_kinds_are_refused(kind: str) -> None:
    error = refusal(replace(VALID["reminder"], kind=kind))
    assert error.code == "kind-not-allowed"
    assert str(error) == (
        f"Soort '{kind}' is niet toegestaan. "
        "Toegestaan: lesson-cancelled, homework, reminder, trip."
    )
    assert error.render("en") == (
        f"Kind '{kind}' is not allowed. Allowed: lesson-cancelled, homework, reminder, trip."
    )


def test_known_kind_outside_the_schools_allow_list_is_refused() -> None:
    error = refusal(VALID["trip"], ("homework", "reminder"))
    assert error.code == "kind-not-allowed"
    assert str(error) == "Soort 'trip' is niet toegestaan. Toegestaan: homework, reminder."


def test_allow_list_entries_the_bot_does_not_know_are_not_offered() -> None:
    error = refusal(replace(VALID["trip"], kind="feest"), ("feest", "homework"))
    assert error.code == "kind-not-allowed"
    assert str(error).endswith("Toegestaan: homework.")


def test_empty_allow_list_refuses_everything() -> None:
    error = refusal(VALID["homework"], ())
    assert error.code == "kind-not-allowed"
    assert str(error).endswith("Toegestaan: -.")


@pytest.mark.parametrize("allowed", [set(DEFAULT_ALLOWED_KINDS), list(DEFAULT_ALLOWED_KINDS)])
def test_allow_list_may_be_any_collection(allowed: set[str] | list[str]) -> None:
    validate_draft(VALID["homework"], allowed)


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("homework", "period", "3"),
        ("reminder", "subject", "gym"),
        ("reminder", "period", "3"),
        ("trip", "period", "1-8"),
    ],
)
def test_fields_a_kind_does_not_have_are_refused(kind: str, field: str, value: str) -> None:
    error = refusal(replace(VALID[kind], **{field: value}))
    assert error.code == "bad-field"
    assert error.params["field"] == field
    assert f"--{field}" in str(error)
    assert "laat het weg" in str(error)
    assert "leave it out" in error.render("en")


@pytest.mark.parametrize(
    "period", ["3", "1", "10", "3-4", "3 - 4", "3\u20134", " 5 ", "1-8", "8-9"]
)
def test_good_periods(period: str) -> None:
    validate_draft(replace(VALID["lesson-cancelled"], period=period), DEFAULT_ALLOWED_KINDS)


@pytest.mark.parametrize(
    "period", ["0", "3-3", "4-3", "abc", "3e", "3,4", "3-", "-4", "123", "3-4-5", "drie", "3/4"]
)
def test_bad_periods(period: str) -> None:
    error = refusal(replace(VALID["lesson-cancelled"], period=period))
    assert error.code == "bad-field"
    assert str(error) == (
        f"Lesuur '{period}' is ongeldig: geef een lesuur als 3 of een reeks als 3-4 "
        "(optie --period)."
    )


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("homework", "text"),
        ("homework", "subject"),
        ("reminder", "text"),
        ("trip", "text"),
        ("trip", "subject"),
        ("lesson-cancelled", "text"),
        ("lesson-cancelled", "subject"),
        ("lesson-cancelled", "period"),
    ],
)
@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_blank_fields_are_refused(kind: str, field: str, blank: str) -> None:
    error = refusal(replace(VALID[kind], **{field: blank}))
    assert error.code == "bad-field"
    assert error.params["field"] == field


@pytest.mark.parametrize("kind", ["homework", "reminder", "trip", "lesson-cancelled"])
def test_text_length_limit(kind: str) -> None:
    validate_draft(replace(VALID[kind], text="x" * TEXT_MAX_LENGTH), DEFAULT_ALLOWED_KINDS)
    error = refusal(replace(VALID[kind], text="x" * (TEXT_MAX_LENGTH + 1)))
    assert error.code == "bad-field"
    assert TEXT_MAX_LENGTH == 1000
    assert str(error) == "Veld 'tekst' is te lang: 1001 tekens, maximaal 1000 (optie --text)."
    assert error.render("en") == (
        "Field 'text' is too long: 1001 characters, at most 1000 (option --text)."
    )


def test_subject_length_limit() -> None:
    validate_draft(replace(VALID["homework"], subject="s" * SUBJECT_MAX_LENGTH), ["homework"])
    error = refusal(replace(VALID["homework"], subject="s" * (SUBJECT_MAX_LENGTH + 1)))
    assert error.code == "bad-field"
    assert error.params["field"] == "subject"


@pytest.mark.parametrize(
    ("period", "expected"),
    [("3", (3, 3)), ("3-4", (3, 4)), (" 3 \u2013 5 ", (3, 5)), ("0", None), ("5-2", None)],
)
def test_parse_period(period: str, expected: tuple[int, int] | None) -> None:
    assert parse_period(period) == expected


@pytest.mark.parametrize(
    ("kind", "nl", "en"),
    [
        ("lesson-cancelled", "Lesuitval", "Lesson cancelled"),
        ("homework", "Huiswerk", "Homework"),
        ("reminder", "Herinnering", "Reminder"),
        ("trip", "Uitje", "School trip"),
        ("feest", "feest", "feest"),
    ],
)
def test_kind_title(kind: str, nl: str, en: str) -> None:
    assert kind_title(kind) == nl
    assert kind_title(kind, "nl") == nl
    assert kind_title(kind, "en") == en


def body(draft: AnnouncementDraft, lang: str = "nl") -> str:
    return render_body(
        draft.kind,
        class_code="2B",
        date=draft.date,
        period=draft.period,
        subject=draft.subject,
        text=draft.text,
        lang=lang,
    )


@pytest.mark.parametrize(
    ("draft", "nl", "en"),
    [
        (VALID["lesson-cancelled"],
         "Lesuitval 2B: dinsdag 1 december 2026, 3e uur (wiskunde). Docent is ziek.",
         "Lesson cancelled 2B: Tuesday 1 December 2026, period 3 (wiskunde). Docent is ziek."),
        (replace(VALID["lesson-cancelled"], subject=None, text=None),
         "Lesuitval 2B: dinsdag 1 december 2026, 3e uur.",
         "Lesson cancelled 2B: Tuesday 1 December 2026, period 3."),
        (replace(VALID["lesson-cancelled"], period="3-4", text=None),
         "Lesuitval 2B: dinsdag 1 december 2026, 3e en 4e uur (wiskunde).",
         "Lesson cancelled 2B: Tuesday 1 December 2026, periods 3 and 4 (wiskunde)."),
        (replace(VALID["lesson-cancelled"], period="5 \u2013 7", subject=None),
         "Lesuitval 2B: dinsdag 1 december 2026, 5e t/m 7e uur. Docent is ziek.",
         "Lesson cancelled 2B: Tuesday 1 December 2026, periods 5 to 7. Docent is ziek."),
        (VALID["homework"],
         "Huiswerk 2B voor wiskunde, af op dinsdag 1 december 2026: Maak opgave 1 t/m 5.",
         "Homework 2B for wiskunde, due Tuesday 1 December 2026: Maak opgave 1 t/m 5."),
        (VALID["reminder"],
         "Herinnering 2B: Neem je gymspullen mee.",
         "Reminder 2B: Neem je gymspullen mee."),
        (replace(VALID["reminder"], date=FRIDAY),
         "Herinnering 2B voor vrijdag 11 december 2026: Neem je gymspullen mee.",
         "Reminder 2B for Friday 11 December 2026: Neem je gymspullen mee."),
        (VALID["trip"],
         "Uitje 2B op vrijdag 11 december 2026: Excursie naar het Rijksmuseum.",
         "School trip 2B on Friday 11 December 2026: Excursie naar het Rijksmuseum."),
        (replace(VALID["trip"], subject="geschiedenis"),
         "Uitje 2B (geschiedenis) op vrijdag 11 december 2026: Excursie naar het Rijksmuseum.",
         "School trip 2B (geschiedenis) on Friday 11 December 2026: "
         "Excursie naar het Rijksmuseum."),
        (replace(VALID["reminder"], text="  {niet} een {template}  "),
         "Herinnering 2B: {niet} een {template}",
         "Reminder 2B: {niet} een {template}"),
    ],
)  # fmt: skip
def test_render_body(draft: AnnouncementDraft, nl: str, en: str) -> None:
    assert body(draft) == nl
    assert body(draft, "nl") == nl
    assert body(draft, "en") == en


@pytest.mark.parametrize(
    ("day", "nl", "en"),
    [
        (date(2026, 1, 5), "maandag 5 januari 2026", "Monday 5 January 2026"),
        (date(2026, 2, 3), "dinsdag 3 februari 2026", "Tuesday 3 February 2026"),
        (date(2026, 3, 4), "woensdag 4 maart 2026", "Wednesday 4 March 2026"),
        (date(2026, 4, 2), "donderdag 2 april 2026", "Thursday 2 April 2026"),
        (date(2026, 5, 1), "vrijdag 1 mei 2026", "Friday 1 May 2026"),
        (date(2026, 6, 6), "zaterdag 6 juni 2026", "Saturday 6 June 2026"),
        (date(2026, 7, 5), "zondag 5 juli 2026", "Sunday 5 July 2026"),
        (date(2026, 8, 31), "maandag 31 augustus 2026", "Monday 31 August 2026"),
        (date(2026, 9, 1), "dinsdag 1 september 2026", "Tuesday 1 September 2026"),
        (date(2026, 10, 1), "donderdag 1 oktober 2026", "Thursday 1 October 2026"),
        (date(2026, 11, 30), "maandag 30 november 2026", "Monday 30 November 2026"),
        (date(2028, 2, 29), "dinsdag 29 februari 2028", "Tuesday 29 February 2028"),
    ],
)
def test_dates_are_written_out(day: date, nl: str, en: str) -> None:
    draft = AnnouncementDraft("c2b", "t1", "trip", date=day, text="Kamp.")
    assert body(draft) == f"Uitje 2B op {nl}: Kamp."
    assert body(draft, "en") == f"School trip 2B on {en}: Kamp."


def test_render_body_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        body(replace(VALID["reminder"], kind="feest"))


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("lesson-cancelled", "period"),
        ("homework", "subject"),
        ("reminder", "text"),
        ("trip", "date"),
    ],
)
def test_render_body_refuses_a_draft_that_was_not_validated(kind: str, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        body(replace(VALID[kind], **{field: None}))


# --- dates in the past (B.1: what is coming, not what is over) --------------------------------


@pytest.mark.parametrize("kind", ["lesson-cancelled", "homework", "trip"])
def test_a_date_before_today_is_refused_with_the_date_and_what_to_do(kind: str) -> None:
    draft = VALID[kind]
    assert draft.date is not None
    with pytest.raises(RuleViolation) as caught:
        validate_draft(draft, DEFAULT_ALLOWED_KINDS, today=draft.date + timedelta(days=1))
    error = caught.value
    assert (error.rule, error.code) == ("B.1", "date-in-past")
    title = KINDS[kind].title
    assert error.render("en") == (
        f"{title('en')}: {body_date(draft.date, 'en')} has already passed; give today or a later "
        "date (option --date)."
    )
    assert error.render("nl").startswith(f"{title('nl')}: {body_date(draft.date, 'nl')} is al")


@pytest.mark.parametrize("kind", ["lesson-cancelled", "homework", "trip"])
def test_today_and_later_are_allowed(kind: str) -> None:
    draft = VALID[kind]
    assert draft.date is not None
    validate_draft(draft, DEFAULT_ALLOWED_KINDS, today=draft.date)
    validate_draft(draft, DEFAULT_ALLOWED_KINDS, today=date(2026, 1, 1))


def test_a_reminder_without_a_date_has_no_past_and_one_with_a_date_has() -> None:
    validate_draft(VALID["reminder"], DEFAULT_ALLOWED_KINDS, today=FRIDAY)
    dated = replace(VALID["reminder"], date=TUESDAY)
    with pytest.raises(RuleViolation, match="--date"):
        validate_draft(dated, DEFAULT_ALLOWED_KINDS, today=FRIDAY)


def test_without_today_no_date_is_in_the_past() -> None:
    """A correction of an earlier announcement (`bot.usecases.undo`) checks the fields only."""
    validate_draft(VALID["trip"], DEFAULT_ALLOWED_KINDS)


def test_other_problems_come_before_the_past() -> None:
    draft = replace(VALID["homework"], text=None)
    with pytest.raises(RuleViolation) as caught:
        validate_draft(draft, DEFAULT_ALLOWED_KINDS, today=FRIDAY)
    assert caught.value.code == "missing-field"


def body_date(day: date, lang: str) -> str:
    return format_date(day, lang)
