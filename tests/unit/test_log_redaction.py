"""No secret and no personal data (e-mail address, postal address, roster name, link code) reaches
a log line, whatever logs it and at whatever level."""

from __future__ import annotations

import logging

import pytest

from bot.cli.logs import ADDRESS, EMAIL, NAME, REDACTED, RedactingFilter
from bot.domain import Address, Person, Role
from bot.log_tokens import name_tokens
from bot.usecases.invites import new_code

TOKEN = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
def captured() -> tuple[logging.Logger, list[str], RedactingFilter]:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    redactor = RedactingFilter()
    handler = Collect()
    handler.addFilter(redactor)
    logger = logging.getLogger("tests.redaction")
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, lines, redactor


def test_a_bot_token_in_a_request_url_is_redacted_by_its_shape(
    captured: tuple[logging.Logger, list[str], RedactingFilter],
) -> None:
    logger, lines, _ = captured
    # What httpx logs for every request the Telegram client makes.
    logger.info(
        'HTTP Request: %s %s "%s"', "POST", f"https://api.telegram.org/bot{TOKEN}/getMe", "200"
    )
    [line] = lines
    assert TOKEN not in line
    assert f"/bot{REDACTED}/getMe" in line


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR])
def test_configured_secrets_are_redacted_at_every_level(
    captured: tuple[logging.Logger, list[str], RedactingFilter], level: int
) -> None:
    logger, lines, redactor = captured
    redactor.add(["s3cret-matrix-password", None, "", "abc"])
    logger.log(level, "login with %s", "s3cret-matrix-password")
    [line] = lines
    assert "s3cret-matrix-password" not in line
    assert REDACTED in line


def test_a_secret_in_an_exception_is_redacted(
    captured: tuple[logging.Logger, list[str], RedactingFilter],
) -> None:
    logger, lines, redactor = captured
    redactor.add(["smtp-pass-123"])
    try:
        raise RuntimeError("535 authentication failed for smtp-pass-123")
    except RuntimeError:
        logger.exception("mail failed")
    [line] = lines
    assert "smtp-pass-123" not in line
    assert "535 authentication failed" in line


def test_short_values_are_not_taken_for_secrets(
    captured: tuple[logging.Logger, list[str], RedactingFilter],
) -> None:
    logger, lines, redactor = captured
    redactor.add(["abc"])
    logger.info("abc def")
    assert lines == ["abc def"]


# -- personal data: e-mail addresses, postal addresses, names and link codes ---------------------

ROSTER = [
    Person("p-1", Role.PUPIL, "Zoë", "Berg", middle_name="van den", preferred_given_name="Zoey"),
    Person("p-2", Role.PUPIL, "Emre", "Yılmaz"),
    Person("p-3", Role.PUPIL, "Noor", "El Amrani"),
    Person("p-4", Role.PUPIL, "Bo", "Hart", middle_name="'t"),
    Person(
        "g-1",
        Role.GUARDIAN,
        "Anne-Marie",
        "Jansen",
        address=Address("Lange Nieuwstraat 5", "3512 PE", "Utrecht"),
    ),
]


@pytest.fixture
def roster_filter() -> RedactingFilter:
    redactor = RedactingFilter()
    redactor.add_persons(ROSTER)
    return redactor


@pytest.mark.parametrize(
    "address",
    [
        "zoe.vandenberg@leerling.passie.example",
        "ANNE+school@mail.example.nl",
        "é@x.nl",
        "o'brien@klasbot.eml.example",
    ],
)
def test_an_email_address_is_redacted_by_its_shape(address: str) -> None:
    redactor = RedactingFilter()
    assert redactor.redact(f"mail to <{address}>: 550 {address} unknown") == (
        f"mail to <{EMAIL}>: 550 {EMAIL} unknown"
    )


def test_an_email_address_in_a_long_path_or_url_is_redacted() -> None:
    line = "GET https://lookup.example/" + "x" * 80 + "/jan.devries@school.example?x=1"
    assert "jan.devries" not in RedactingFilter().redact(line)


@pytest.mark.parametrize(
    "line",
    [
        "mail <announcement-3f9a1c0d@klasbot> written",
        "mail <invite-3f9a@klasbot> written to /srv/klasbot/outbox/invite-3f9a@klasbot.eml",
    ],
)
def test_a_message_id_and_its_file_are_no_email_address(line: str) -> None:
    assert RedactingFilter().redact(line) == line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("naar 3512 PE Utrecht", f"naar {ADDRESS} Utrecht"),
        ("postcode 9999XY", f"postcode {ADDRESS}"),
        ("the roster's own in any case: 3512pe", f"the roster's own in any case: {ADDRESS}"),
        ("Lange Nieuwstraat 5", f"{ADDRESS} {ADDRESS} 5"),
        ("LANGE NIEUWSTRAAT", f"{ADDRESS} {ADDRESS}"),
    ],
)
def test_postal_codes_and_the_rosters_streets_are_redacted(
    roster_filter: RedactingFilter, line: str, expected: str
) -> None:
    assert roster_filter.redact(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "daily sweep 2026-11-23 at 07:00: 3 birthday codes",
        "1234 ab is not written like a postal code, nor is 12345 AB",
        "group 12 in 2026 is on telegram",
    ],
)
def test_numbers_and_words_that_are_no_postal_code_stay(
    roster_filter: RedactingFilter, line: str
) -> None:
    assert roster_filter.redact(line) == line


@pytest.mark.parametrize(
    "written",
    ["Zoë", "ZOË", "zoë", "Zoe", "Zoe\u0308", "Zoey", "Berg", "BERG", "Yılmaz", "Yilmaz", "YILMAZ",
     "Amrani", "Hart", "Anne", "Marie", "Jansen"],
)  # fmt: skip
def test_a_roster_name_is_redacted_as_a_whole_word_in_any_case(
    roster_filter: RedactingFilter, written: str
) -> None:
    assert roster_filter.redact(f"removed ({written}) from group 3") == (
        f"removed ({NAME}) from group 3"
    )


def test_particles_short_names_and_longer_words_stay(roster_filter: RedactingFilter) -> None:
    line = "Bo van den Berg, El Amrani, 't Hart in Heidelberg with hartkloppingen"
    assert roster_filter.redact(line) == (
        f"Bo van den {NAME}, El {NAME}, 't {NAME} in Heidelberg with hartkloppingen"
    )
    assert roster_filter.redact("Anne-Marie Jansen2") == f"{NAME}-{NAME} {NAME}2"


def test_the_registry_is_replaced_when_the_roster_is_loaded_again() -> None:
    redactor = RedactingFilter()
    redactor.add_persons(ROSTER)
    redactor.set_roster(name_tokens(["Daan de Jong"]), [])
    assert redactor.redact("Zoë Daan Jong") == f"Zoë {NAME} {NAME}"


def test_a_roster_read_joins_the_known_names_whenever_the_first_line_is_redacted() -> None:
    redactor = RedactingFilter()
    redactor.set_roster(name_tokens(["Daan de Jong"]), [])
    redactor.add_persons(ROSTER)
    redactor.add_roster(name_tokens(["Fleur Bakker"]), [])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s met %s", ("Zoë", "Daan"), None)
    assert redactor.filter(record)
    assert record.getMessage() == f"{NAME} met {NAME}"
    assert redactor.redact("Bakker, Jong, Zoë en Nieuwstraat") == (
        f"{NAME}, {NAME}, {NAME} en {ADDRESS}"
    )


def test_a_line_that_passes_twice_stays_the_same(roster_filter: RedactingFilter) -> None:
    once = roster_filter.redact("Zoë <z@x.nl> at 3512 PE, code ABCDEFGHJK, /start abcdefghjk")
    assert roster_filter.redact(once) == once
    for personal in ("Zoë", "z@x.nl", "3512", "ABCDEFGHJK", "abcdefghjk"):
        assert personal not in once


@pytest.mark.parametrize("n", range(20))
def test_a_link_code_is_redacted_wherever_it_stands(n: int) -> None:
    code = new_code()
    redactor = RedactingFilter()
    for line in (
        f"invite {code} queued",
        f"code={code};",
        f"[{code[:5]}-{code[5:]}]",
        f"https://t.me/klasbot?start={code}",
    ):
        redacted = redactor.redact(line)
        assert code[:5] not in redacted, redacted
        assert REDACTED in redacted


@pytest.mark.parametrize(
    "line",
    [
        "statements were written",  # lower-case words are never codes
        "Deliveries: 10",
        "chat 5234567892 and user 2345678923",  # ids of digits only
        "room !AbCdEfGhJk:matrix.example",  # mixed case is no code
        "key ABCDEFGHJKM is eleven long",
    ],
)
def test_words_and_ids_are_not_taken_for_codes(line: str) -> None:
    assert RedactingFilter().redact(line) == line


def test_names_in_an_exception_are_redacted(
    captured: tuple[logging.Logger, list[str], RedactingFilter],
) -> None:
    logger, lines, redactor = captured
    redactor.add_persons(ROSTER)
    try:
        raise ValueError("no address for Zoë van den Berg <zoe@x.nl>")
    except ValueError:
        logger.debug("letter %s failed", 3, exc_info=True)
    [line] = lines
    for personal in ("Zoë", "Berg", "zoe@x.nl"):
        assert personal not in line
    assert f"no address for {NAME} van den {NAME} <{EMAIL}>" in line


def test_a_big_roster_redacts_its_names_and_nothing_else() -> None:
    """255,000 persons give a few hundred thousand tokens at most; with that many, a record's
    names are still found and its other words left as they are."""

    def word(n: int) -> str:
        return "naam" + "".join(chr(97 + (n // 26**i) % 26) for i in range(5))

    tokens = [word(n) for n in range(400_000)]
    big = RedactingFilter()
    big.set_roster(tokens, tokens[:100_000])
    line = (
        "mail <announcement-3f9a1c0d@klasbot> to jan@school.example for Naamtaaaa refused "
        "(550 5.1.1 recipient rejected); 3 deliveries will be retried until 2026-11-23"
    )
    redacted = big.redact(line)
    assert NAME in redacted
    assert "Naamtaaaa" not in redacted
    assert "refused (550 5.1.1 recipient rejected); 3 deliveries will be retried" in redacted
    last = tokens[-1].capitalize()
    record = logging.LogRecord("bot.x", logging.DEBUG, "", 1, f"hallo {last}", None, None)
    big.filter(record)
    assert record.getMessage() == f"hallo {NAME}"
