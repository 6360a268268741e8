"""`log.format = "json"`: one JSON object per line, redacted like every other log line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.cli import logs
from bot.cli.logs import NAME, JsonFormatter


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """A root handler as `logs.configure` makes it (the redactor on it), writing to a string."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(logs.TEXT_FORMAT))
    handler.addFilter(logs.redactor)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    logs.redactor.set_roster(["daan", "jansen"], [])
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logs.redactor.set_roster([], [])


def test_a_line_is_one_json_object_with_the_redacted_message_and_exception(
    stream: io.StringIO,
) -> None:
    logs.use_format("json")
    try:
        raise ValueError("Daan Jansen has no address")
    except ValueError:
        logging.getLogger("bot.test").warning("no letter for %s", "Daan", exc_info=True)
    [line] = stream.getvalue().splitlines()  # the traceback too is inside the one line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "bot.test"
    assert entry["message"] == f"no letter for {NAME}"
    assert f"ValueError: {NAME} {NAME} has no address" in entry["exc_info"]
    assert "Daan" not in line
    assert "Jansen" not in line
    written = datetime.fromisoformat(entry["time"])
    assert written.utcoffset() == UTC.utcoffset(None)
    assert entry["time"].endswith("Z")
    assert abs((datetime.now(UTC) - written).total_seconds()) < 60


def test_text_is_the_default_and_the_format_can_switch_back(stream: io.StringIO) -> None:
    logs.use_format("json")
    logs.use_format("text")
    logging.getLogger("bot.test").warning("plain %s", "Jansen")
    assert stream.getvalue() == f"WARNING bot.test: plain {NAME}\n"


def test_a_handler_without_the_redactor_is_left_alone() -> None:
    handler = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(handler)
    try:
        logs.use_format("json")
        assert not isinstance(handler.formatter, JsonFormatter)
    finally:
        logs.use_format("text")
        logging.getLogger().removeHandler(handler)
