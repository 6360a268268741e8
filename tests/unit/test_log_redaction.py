"""No secret reaches a log line, whatever logs it and at whatever level."""

from __future__ import annotations

import logging

import pytest

from bot.cli.logs import REDACTED, RedactingFilter

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
