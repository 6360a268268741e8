"""Rule 5 (A.2, AVG art. 4): personal data is found, and what only looks like it is not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.domain import Person, Role
from bot.errors import RuleViolation
from bot.rules.content import (
    Finding,
    PublicContacts,
    bsn_is_valid,
    check_content,
    find_personal_data,
    iban_is_valid,
)


def pupil(given: str, family: str, middle: str = "", pid: str = "p") -> Person:
    return Person(pid, Role.PUPIL, given, family, middle)


CLASS = (
    pupil("Zoë", "Berg", "van der", "p1"),
    pupil("Bas", "van den Heuvel", "", "p2"),
    pupil("Yasmina", "El Amrani", "", "p3"),
    pupil("Anne-Marie", "Jansen", "", "p4"),
    pupil("Daan", "Vries", "de", "p5"),
    pupil("Sem", "Hof", "van 't", "p6"),
)


def found(text: str, pupils: tuple[Person, ...] = ()) -> list[tuple[str, str]]:
    findings = find_personal_data(text, pupils)
    for f in findings:
        assert text[f.start : f.end] == f.value
    return [(f.category, f.value) for f in findings]


# --- e-mail -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Mail jan@school.nl voor vragen.", "jan@school.nl"),
        ("Mail: J.de.Vries+klas@passie.example.org.", "J.de.Vries+klas@passie.example.org"),
        ("(anne_m@x-y.nl)", "anne_m@x-y.nl"),
        ("MAIL ANNE@SCHOOL.NL", "ANNE@SCHOOL.NL"),
        ("zoë@voorbeeld.nl", "zoë@voorbeeld.nl"),
    ],
)
def test_email_addresses_are_found(text: str, value: str) -> None:
    assert found(text) == [("email", value)]


@pytest.mark.parametrize("text", ["volg @klas2b", "a@b", "jan@school", "5 @ 10 euro", "@ 12:00"])
def test_things_that_are_not_email_addresses(text: str) -> None:
    assert found(text) == []


# --- phone numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "06-12345678",
        "06 12345678",
        "06 1234 5678",
        "06-1234 5678",
        "06 12 34 56 78",
        "0612345678",
        "06 - 12345678",
        "+31 6 12345678",
        "+31612345678",
        "+31 (0)6 12345678",
        "+31(0)612345678",
        "+31 06 12345678",
        "0031 6 12345678",
        "0031612345678",
        "020-1234567",
        "020 123 4567",
        "030 123 4567",
        "0201234567",
        "0299-123456",
        "010-123 45 67",
        "088-1234567",
        "+32 470 12 34 56",
        "+32470123456",
        "0032 470 123456",
        "+49 30 1234567",
        "+44 20 7946 0958",
        "+1 212 555 0123",
        "06\u00a012345678",
    ],
)
@pytest.mark.parametrize("template", ["{}", "Bel {} als je ziek bent.", "Bel ({}).", "tel:{}"])
def test_phone_numbers_are_found(number: str, template: str) -> None:
    assert found(template.format(number)) == [("phone", number)]


@pytest.mark.parametrize(
    "text",
    [
        "Toets op 2026-12-01.",
        "Toets op 01-12-2026.",
        "Toets op 1-12-2026 om 08:30.",
        "Toets op 01-12-2026 08.30 in lokaal 12.",
        "Toets op 06-12-2026 08.30.",  # a date that starts like a mobile number
        "Op 06-12 en 07-12 is er geen les.",
        "Op 1/12 om 8.30 uur.",
        "De les van 08:30-09:20 vervalt.",
        "Het 3-4e uur vervalt.",
        "uur 3-4",
        "Maak opgave 12 en 13.",
        "Maak opgave 1 t/m 5, blz. 134-135.",
        "Schooljaar 2026-2027",
        "In 2026 en 2027.",
        "12345678",  # eight digits
        "0800-1234",
        "Bel 0900 - 1113111 (Vertrouwensinspectie)",  # eleven digits: not a personal number
        "Opgaven 01 02 03 04 05",
        "lokaal 0.12",
        "kosten: € 12,50",
        "postcode 3511 AB",
        "klas 2B, 3e uur, lokaal B012",
        "+5 punten",
        "06-1234",
        "06 1234 567",
        "Score 10-0",
    ],
)
def test_things_that_are_not_phone_numbers(text: str) -> None:
    assert found(text) == []


def test_two_numbers_in_one_sentence() -> None:
    assert found("Bel 06-12345678 of 020-1234567.") == [
        ("phone", "06-12345678"),
        ("phone", "020-1234567"),
    ]


def test_a_number_next_to_a_short_number() -> None:
    assert found("Lokaal 12 0612345678 3") == [("phone", "0612345678")]


# --- BSN ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bsn", ["123456782", "111222333", "1234.56.782", "123 456 782", "123.456.782", "1112-22-333"]
)
@pytest.mark.parametrize("template", ["{}", "BSN: {}.", "Het nummer ({}) klopt."])
def test_bsns_are_found(bsn: str, template: str) -> None:
    assert found(template.format(bsn)) == [("bsn", bsn)]


@pytest.mark.parametrize(
    "text",
    [
        "123456789",  # fails the 11-check
        "123456781",
        "000000000",  # passes the sum, but is not a BSN
        "12345678",  # eight digits
        "1234567820",  # ten digits
        "BSN 1234.56.789",
        "1 2 3 4 5 6 7 8 2",  # counting, not a grouped number
        "A123456782",
        "123456782B",
    ],
)
def test_things_that_are_not_bsns(text: str) -> None:
    assert [c for c, _ in found(text)] != ["bsn"]
    assert "bsn" not in {c for c, _ in found(text)}


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("123456782", True),
        ("111222333", True),
        ("123456789", False),
        ("000000000", False),
        ("12345678", False),
        ("12345678a", False),
    ],
)
def test_bsn_is_valid(digits: str, valid: bool) -> None:
    assert bsn_is_valid(digits) is valid


@st.composite
def valid_bsns(draw: st.DrawFn) -> str:
    digits = draw(st.lists(st.integers(0, 9), min_size=8, max_size=8))
    last = sum(w * d for w, d in zip((9, 8, 7, 6, 5, 4, 3, 2), digits, strict=True)) % 11
    assume(last <= 9 and (any(digits) or last))
    return "".join(map(str, digits)) + str(last)


@given(valid_bsns(), st.sampled_from(["compact", "dotted", "spaced"]))
def test_every_valid_bsn_is_found(bsn: str, layout: str) -> None:
    written = {
        "compact": bsn,
        "dotted": f"{bsn[:4]}.{bsn[4:6]}.{bsn[6:]}",
        "spaced": f"{bsn[:3]} {bsn[3:6]} {bsn[6:]}",
    }[layout]
    assert bsn_is_valid(bsn)
    assert found(f"Het BSN is {written}.") == [("bsn", written)]


# --- IBAN ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iban",
    [
        "NL91ABNA0417164300",
        "NL91 ABNA 0417 1643 00",
        "nl91abna0417164300",
        "nl91 abna 0417 1643 00",
        "Nl91 AbNa 0417 1643 00",
        "DE89 3704 0044 0532 0130 00",
        "GB29NWBK60161331926819",
        "BE68539007547034",
        "BE68 5390 0754 7034",
        "NO9386011117947",
        "AT61 1904 3002 3457 3201",
        "FR1420041010050500013M02606",
    ],
)
@pytest.mark.parametrize(
    "template", ["{}", "Maak het geld over naar {} t.n.v. de school.", "IBAN: {}.", "({})"]
)
def test_ibans_are_found(iban: str, template: str) -> None:
    assert found(template.format(iban)) == [("iban", iban)]


def test_iban_followed_by_a_four_letter_word() -> None:
    assert found("AT61 1904 3002 3457 3201 voor de reis") == [("iban", "AT61 1904 3002 3457 3201")]


@pytest.mark.parametrize(
    "text",
    ["NL92ABNA0417164300", "NL91ABNA0417164301", "HA12 is het lokaal", "NL91", "AB12CD34"],
)
def test_things_that_are_not_ibans(text: str) -> None:
    assert "iban" not in {c for c, _ in found(text)}


def test_iban_with_a_wrong_checksum_in_groups_is_still_caught_as_a_number() -> None:
    # Better refuse with the wrong category than let an account number through.
    assert found("NL92 ABNA 0417 1643 00") == [("phone", "0417 1643 00")]


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("NL91ABNA0417164300", True),
        ("NL91 ABNA 0417 1643 00", True),
        ("nl91abna0417164300", True),
        ("NL91ABNA041716430", False),
        ("NL00ABNA0417164300", False),
        ("9191ABNA0417164300", False),
        ("NL9AABNA0417164300", False),
        ("NL91ABNA04171643\u00e9", False),
    ],
)
def test_iban_is_valid(iban: str, valid: bool) -> None:
    assert iban_is_valid(iban) is valid


def _with_checksum(country: str, bban: str) -> str:
    numeric = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
    return f"{country}{98 - numeric % 97:02d}{bban}"


@given(
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=11, max_size=30),
    st.sampled_from(["compact", "grouped", "lower"]),
)
def test_every_iban_with_a_correct_checksum_is_found(country: str, bban: str, layout: str) -> None:
    iban = _with_checksum(country, bban)
    written = {
        "compact": iban,
        "grouped": " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)),
        "lower": iban.lower(),
    }[layout]
    assert iban_is_valid(written)
    assert found(f"Rekening {written}.") == [("iban", written)]


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Zoë is jarig.", "Zoë"),
        ("zoe is jarig.", "zoe"),
        ("ZOË is jarig.", "ZOË"),
        ("Zoé is jarig.", "Zoé"),
        ("Zoe\u0308 is jarig.", "Zoe\u0308"),  # decomposed diaeresis
        ("Goed gedaan, Bas!", "Bas"),
        ("Bas' tas", "Bas"),
        ("Yasmina", "Yasmina"),
        ("Anne-Marie was er niet.", "Anne-Marie"),
        ("Anne Marie was er niet.", "Anne Marie"),
        ("anne-marie", "anne-marie"),
        ("Daan", "Daan"),
    ],
)
def test_given_names_are_found(text: str, value: str) -> None:
    assert found(text, CLASS) == [("name", value)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("van der Berg", "van der Berg"),
        ("Van der Berg", "Van der Berg"),
        ("VAN DER BERG", "VAN DER BERG"),
        ("Heuvel", "Heuvel"),
        ("van den Heuvel", "van den Heuvel"),
        ("Van den Heuvel", "Van den Heuvel"),
        ("El Amrani", "El Amrani"),
        ("el-amrani", "el-amrani"),
        ("Amrani", "Amrani"),
        ("de Vries", "de Vries"),
        ("De Vries", "De Vries"),
        ("van 't Hof", "van 't Hof"),
        ("van \u2019t Hof", "van \u2019t Hof"),
        ("Jansen", "Jansen"),
    ],
)
def test_family_names_are_found_with_and_without_tussenvoegsel(text: str, value: str) -> None:
    assert found(f"Vandaag: {text}.", CLASS) == [("name", value)]


@pytest.mark.parametrize("core", ["Berg", "Vries", "Hof"])
def test_a_family_name_that_is_a_word_is_found_where_it_is_a_name(core: str) -> None:
    assert found(f"Vandaag is {core} er niet.", CLASS) == [("name", core)]
    assert found(f"Vandaag: {core.lower()}.", CLASS) == []
    assert found(f"{core} is een woord.", CLASS) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Zoë van der Berg", "Zoë van der Berg"),
        ("zoe berg", "zoe berg"),
        ("Bas van den Heuvel", "Bas van den Heuvel"),
        ("Yasmina El Amrani", "Yasmina El Amrani"),
        ("Anne-Marie Jansen", "Anne-Marie Jansen"),
        ("Daan de Vries", "Daan de Vries"),
    ],
)
def test_full_names_are_one_finding(text: str, value: str) -> None:
    assert found(f"Gefeliciteerd {text}!", CLASS) == [("name", value)]


@pytest.mark.parametrize(
    "text",
    [
        "We gaan basketballen.",  # Bas
        "Alle bassen en basketbal",
        "Zoëken",
        "De Bergen op Zoom",  # Berg inside a longer word
        "van de docent, van der, van den, de, der, het, 't, el, op",  # tussenvoegsels alone
        "Anne kwam, Marie ook.",  # parts of Anne-Marie
        "Jan en Piet",
        "Yasminaschool",
        "de vriesvakken",
        "Daantje",
        "Hofje",
    ],
)
def test_words_that_only_resemble_names(text: str) -> None:
    assert found(text, CLASS) == []


def test_names_of_pupils_outside_the_class_are_not_looked_for() -> None:
    assert found("Zoë en Bas", ()) == []
    assert found("Zoë en Bas", (CLASS[1],)) == [("name", "Bas")]


@pytest.mark.parametrize(
    ("person", "text", "expected"),
    [
        (pupil("O", "Li"), "O. Li is er niet", [("name", "O. Li")]),
        (pupil("O", "Li"), "O is er niet", []),  # 1 letter: ignored
        (pupil("Ö", "Xu"), "Ö is er", []),
        (pupil("Jo", "De"), "De docent is er", []),  # a family name of prefix words only
        (pupil("Jo", "De"), "Jo is er", [("name", "Jo")]),
        (pupil("Roos", "Smit"), "Een roos voor de juf", []),  # the word
        (pupil("Roos", "Smit"), "Een bos voor Roos", [("name", "Roos")]),
        (pupil("Roos", "Smit"), "roos smit", [("name", "roos smit")]),
        (pupil("Jan Willem", "Smit"), "Jan en Willem", []),  # multi-word given name as a unit
        (pupil("Jan Willem", "Smit"), "Jan Willem", [("name", "Jan Willem")]),
        (pupil("Søren", "Müller"), "Soren Muller", [("name", "Soren Muller")]),
        (pupil("Sven", "Strauß"), "STRAUSS", [("name", "STRAUSS")]),
        (pupil("Sven", "Strasse"), "Straße", [("name", "Straße")]),
        (pupil("Łucja", "Kowalska"), "lucja", [("name", "lucja")]),
        (pupil("Aoife", "O'Brien"), "O\u2019Brien", [("name", "O\u2019Brien")]),
        (pupil("Mo", "Ben Ali"), "Ali", [("name", "Ali")]),
        (pupil("Mo", "Ben Ali"), "ben ali", [("name", "ben ali")]),
        (pupil("Mo", "Ben Ali"), "Ik ben ziek", []),
        (pupil("", "Smit"), "Smit", [("name", "Smit")]),
    ],
)
def test_name_edge_cases(person: Person, text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text, (person,)) == expected


def test_every_occurrence_is_reported() -> None:
    assert found("Bas, Zoë en nog eens Bas", CLASS) == [
        ("name", "Bas"),
        ("name", "Zoë"),
        ("name", "Bas"),
    ]


# --- overlaps and several categories ------------------------------------------------------------


def test_an_email_address_with_a_name_in_it_is_one_finding() -> None:
    assert found("Mail zoe.vanderberg@school.nl", CLASS) == [("email", "zoe.vanderberg@school.nl")]


def test_findings_are_ordered_by_position() -> None:
    text = "Zoë (06-12345678, zoe@x.nl, NL91ABNA0417164300, BSN 123456782)"
    findings = find_personal_data(text, CLASS)
    assert [(f.category, f.value) for f in findings] == [
        ("name", "Zoë"),
        ("phone", "06-12345678"),
        ("email", "zoe@x.nl"),
        ("iban", "NL91ABNA0417164300"),
        ("bsn", "123456782"),
    ]
    assert findings[0] == Finding("name", "Zoë", 0, 3)
    assert all(a.end <= b.start for a, b in zip(findings, findings[1:], strict=False))


@pytest.mark.parametrize(
    "text",
    [
        "Lesuitval 2B: dinsdag 1 december 2026, 3e uur (wiskunde). Docent is ziek.",
        "Huiswerk 2B voor wiskunde, af op dinsdag 1 december 2026: Maak opgave 1 t/m 5.",
        "Herinnering 2B: Neem je gymspullen mee.",
        "Uitje 2B op vrijdag 11 december 2026: Excursie naar het Rijksmuseum. Vertrek 08:15, "
        "terug rond 16.30 uur. Kosten € 12,50. Lokaal B0.12, blz. 134-135, uur 3-4.",
        "Toets hoofdstuk 3 (paragraaf 3.1 t/m 3.4) op 08-12-2026, 2e uur.",
        "",
    ],
)
def test_ordinary_announcements_pass(text: str) -> None:
    assert find_personal_data(text, CLASS) == []
    check_content(text, CLASS)


# --- the refusal --------------------------------------------------------------------------------


def refusal(text: str, pupils: tuple[Person, ...] = CLASS, suffix: str = "") -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        check_content(text + (f" {suffix}" if suffix else ""), pupils)
    assert caught.value.rule == "A.2"
    assert caught.value.code == "personal-data"
    return caught.value


def test_refusal_names_the_pupil() -> None:
    error = refusal("Zoë heeft haar tas laten liggen.")
    assert str(error) == (
        "Bericht geweigerd: het bevat persoonsgegevens (naam van een leerling: 'Zoë' \u2014 "
        "schrijf 'de leerling' in plaats van de naam). Haal die weg en probeer opnieuw."
    )
    assert error.render("en") == (
        "Message refused: it contains personal data (name of a pupil: 'Zoë' \u2014 "
        "write 'the pupil' instead of the name). Remove it and try again."
    )


@pytest.mark.parametrize(
    ("text", "nl", "en"),
    [
        ("Mail a@b.nl", "e-mailadres: 'a@b.nl'", "e-mail address: 'a@b.nl'"),
        ("Bel 06-12345678", "telefoonnummer: '06-12345678'", "phone number: '06-12345678'"),
        ("BSN 123456782", "BSN: '123456782'", "citizen service number (BSN): '123456782'"),
        ("NL91ABNA0417164300", "IBAN: 'NL91ABNA0417164300'", "IBAN: 'NL91ABNA0417164300'"),
    ],
)
def test_refusal_names_each_category(text: str, nl: str, en: str) -> None:
    error = refusal(text)
    assert f"({nl} \u2014 " in str(error)
    assert f"({en} \u2014 " in error.render("en")


def test_refusal_lists_each_distinct_finding_once() -> None:
    error = refusal("Bas en Bas: mail bas@x.nl", (*CLASS, pupil("Bob", "Smit")), "Bob")
    assert str(error) == (
        "Bericht geweigerd: het bevat persoonsgegevens (naam van een leerling: 'Bas', 'Bob' "
        "\u2014 schrijf 'de leerling' in plaats van de naam; e-mailadres: 'bas@x.nl' \u2014 "
        "laat het weg of noem het adres van de school). Haal die weg en probeer opnieuw."
    )
    assert error.params["categories"] == "email,name"


def test_check_content_accepts_any_iterable_of_pupils() -> None:
    check_content("Bas", iter(()))
    with pytest.raises(RuleViolation):
        check_content("Bas", iter(CLASS))


# --- properties ---------------------------------------------------------------------------------

_days = st.integers(1, 28)
_months = st.integers(1, 12)
_years = st.integers(2000, 2099)
_dates = st.builds(
    lambda fmt, d, m, y: fmt.format(d=d, m=m, y=y),
    st.sampled_from(
        [
            "{d:02d}-{m:02d}-{y}",
            "{d}-{m}-{y}",
            "{y}-{m:02d}-{d:02d}",
            "{d:02d}-{m:02d}",
            "{d}/{m}",
            "{d:02d}/{m:02d}/{y}",
            "{d:02d}.{m:02d}.{y}",
            "{d:02d}-{m:02d}-{y:d}",
        ]
    ),
    _days,
    _months,
    _years,
)
_times = st.builds(
    lambda fmt, h, mi: fmt.format(h=h, mi=mi),
    st.sampled_from(["{h:02d}:{mi:02d}", "{h}:{mi:02d}", "{h:02d}.{mi:02d}", "{h}.{mi:02d}"]),
    st.integers(0, 23),
    st.integers(0, 59),
)


@given(_dates, _times, _times, st.integers(1, 9))
def test_dates_times_and_periods_are_never_personal_data(
    day: str, start: str, end: str, period: int
) -> None:
    for text in (
        f"Op {day} om {start} uur",
        f"{day} {start}",
        f"{day} {start}-{end}",
        f"{day} {start} - {end}, {period}-{period + 1}e uur",
        f"{day}, uur {period}-{period + 1}, lokaal {period}.{period}{period}",
    ):
        assert find_personal_data(text, CLASS) == [], text


@given(st.text(alphabet=st.sampled_from("0123456789 -./+()@:AbNLzoëZOË'\u0308\u2019"), max_size=60))
def test_findings_are_consistent_for_any_text(text: str) -> None:
    findings = find_personal_data(text, CLASS)
    assert findings == sorted(findings, key=lambda f: f.start)
    for finding in findings:
        assert finding.category in {"email", "phone", "bsn", "iban", "name"}
        assert text[finding.start : finding.end] == finding.value
    assert all(a.end <= b.start for a, b in zip(findings, findings[1:], strict=False))


# --- the corpus: ordinary announcements and evasions --------------------------------------------

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

SCHOOL = (
    *CLASS,
    pupil("Daan", "de Jong", "", "s1"),
    pupil("Sanne", "Bakker", "", "s2"),
    pupil("Lucas", "Hart", "", "s3"),
    pupil("Fleur", "Bos", "", "s4"),
    pupil("Julia", "Meer", "van der", "s5"),
    pupil("Storm", "Wit", "de", "s6"),
    pupil("Yusuf", "Yılmaz", "", "s7"),
    pupil("Ayşe", "Demir", "", "s8"),
    pupil("Thijs", "van Dijk", "", "s9"),
    pupil("Noor", "Brouwer", "", "s10"),
    pupil("Milan", "Smit", "", "s11"),
    pupil("Noah", "Visser", "", "s12"),
    pupil("Mila", "Visser", "", "s13"),
    pupil("Emma", "Boer", "", "s14"),
    pupil("Sophie", "Mulder", "", "s15"),
    pupil("Liam", "Koster", "", "s16"),
    pupil("Ben", "Dekker", "", "s17"),
    pupil("Roos", "Mulder", "", "s18"),
    Person("s19", Role.PUPIL, "Charlotte", "Kok", preferred_given_name="Lotte"),
)
"""Pupils of the whole school, many of them with names that are also Dutch words."""

PUBLIC = PublicContacts.parse(["030 123 4567", "@passie.nl", "NL91ABNA0417164300"])


def _corpus(name: str) -> list[str]:
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [
        re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), line)
        for line in lines
        if line.strip() and not line.startswith("#")
    ]


@pytest.mark.parametrize("text", _corpus("announcements_ok.txt"))
def test_ordinary_announcements_are_not_refused(text: str) -> None:
    assert find_personal_data(text, SCHOOL, PUBLIC) == []


@pytest.mark.parametrize("text", _corpus("evasions.txt"))
def test_evasions_are_refused(text: str) -> None:
    assert find_personal_data(text, SCHOOL, PUBLIC) != []


def test_the_corpus_is_large_enough() -> None:
    assert len(_corpus("announcements_ok.txt")) >= 80
    assert len(_corpus("evasions.txt")) >= 80


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail jan [at] school [dot] nl", [("email", "jan [at] school [dot] nl")]),
        ("Mail jan(at)school.nl.", [("email", "jan(at)school.nl")]),
        ("Mail jan @ school.nl.", [("email", "jan @ school.nl")]),
        ("Mail jan\uff20school.nl.", [("email", "jan\uff20school.nl")]),
        ("Bel 06\u200b12345678.", [("phone", "06\u200b12345678")]),
        ("Bel \uff10\uff16-12345678.", [("phone", "\uff10\uff16-12345678")]),
        ("Bel (020) 123 4567.", [("phone", "020) 123 4567")]),
        ("Daans tas", [("name", "Daans")]),
        ("Zoe\u0308s jas", [("name", "Zoe\u0308s")]),
        ("Volg daan_dejong", [("name", "daan_dejong")]),
        ("Volg zoe.vanderberg!", [("name", "zoe.vanderberg")]),
        ("Da\u00adan is er", [("name", "Da\u00adan")]),
        ("Ik zie Lotte", [("name", "Lotte")]),
        ("Dag S. Bakker", [("name", "Bakker")]),
    ],
)
def test_findings_are_reported_as_written(text: str, expected: list[tuple[str, str]]) -> None:
    findings = find_personal_data(text, SCHOOL)
    assert [(f.category, f.value) for f in findings] == expected
    for f in findings:
        assert text[f.start : f.end] == f.value


# --- the school's own contact details -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Bel 030 123 4567",
        "Bel 030-1234567",
        "Bel +31 30 123 4567",
        "Bel 0031 (0)30 1234567",
        "Mail info@passie.nl",
        "Mail INFO@Passie.NL",
        "Mail info@mail.passie.nl",
        "Betaal op NL91 ABNA 0417 1643 00",
        "Betaal op nl91abna0417164300",
    ],
)
def test_the_schools_own_contact_details_are_allowed(text: str) -> None:
    assert find_personal_data(text, SCHOOL, PUBLIC) == []
    check_content(text, SCHOOL, PUBLIC)


@pytest.mark.parametrize(
    "text", ["Bel 030 123 4568", "Mail info@passie.nl.evil.com", "Mail jan@notpassie.nl"]
)
def test_other_contact_details_are_not(text: str) -> None:
    assert find_personal_data(text, SCHOOL, PUBLIC) != []


def test_public_contacts_parse_each_kind() -> None:
    contacts = PublicContacts.parse(
        [" 030-123 4567 ", "info@passie.nl", "@Passie.NL", "NL91 ABNA 0417 1643 00"]
    )
    assert contacts.phones == {"0301234567"}
    assert contacts.emails == {"info@passie.nl"}
    assert contacts.domains == {"passie.nl"}
    assert contacts.ibans == {"NL91ABNA0417164300"}


@pytest.mark.parametrize("item", ["De Passie", "12", "@", "NL92ABNA0417164300", "info@"])
def test_public_contacts_refuse_what_is_none_of_them(item: str) -> None:
    with pytest.raises(ValueError, match="."):
        PublicContacts.parse([item])


def test_refusal_suggests_a_rewrite_for_each_category() -> None:
    with pytest.raises(RuleViolation) as caught:
        check_content("Bel 06-12345678, BSN 123456782, NL91ABNA0417164300, Zoë", CLASS)
    assert str(caught.value) == (
        "Bericht geweigerd: het bevat persoonsgegevens ("
        "telefoonnummer: '06-12345678' \u2014 laat het weg of noem het nummer van de school; "
        "BSN: '123456782' \u2014 laat het weg; "
        "IBAN: 'NL91ABNA0417164300' \u2014 laat het weg of noem de rekening van de school; "
        "naam van een leerling: 'Zoë' \u2014 schrijf 'de leerling' in plaats van de naam). "
        "Haal die weg en probeer opnieuw."
    )
    assert "name of a pupil: 'Zoë' \u2014 write 'the pupil' instead" in caught.value.render("en")


# --- properties of the normalisation ------------------------------------------------------------

_INVISIBLE = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])


@given(st.sampled_from(_corpus("evasions.txt")), st.data())
def test_invisible_characters_do_not_hide_personal_data(text: str, data: st.DataObject) -> None:
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(chars)))
        chars.insert(position, data.draw(_INVISIBLE))
    assert find_personal_data("".join(chars), SCHOOL, PUBLIC) != []


@given(st.sampled_from(_corpus("announcements_ok.txt")))
def test_full_width_and_non_breaking_forms_of_ordinary_text_pass(text: str) -> None:
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)
    assert find_personal_data(wide.replace(" ", "\u00a0"), SCHOOL, PUBLIC) == []


@given(st.text(alphabet=st.sampled_from("0123456789 -.()+"), max_size=300))
def test_digits_and_separators_never_crash_and_stay_consistent(text: str) -> None:
    findings = find_personal_data(text, SCHOOL)
    assert all(a.end <= b.start for a, b in zip(findings, findings[1:], strict=False))
    for finding in findings:
        assert text[finding.start : finding.end] == finding.value


def test_public_contacts_come_from_the_settings() -> None:
    from config.settings import Settings

    school = Settings(school={"public_contacts": "030 123 4567, @passie.nl"}).school  # type: ignore[call-arg]
    contacts = PublicContacts.parse(school.public_contacts)
    assert contacts.phones == {"0301234567"}
    assert contacts.domains == {"passie.nl"}
