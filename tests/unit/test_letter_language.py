"""A letter speaks its recipient's language (`Letter.lang`, chosen by the dispatcher), whatever the
printer's default (the school's)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from adapters.post.pdf import PdfLetterPrinter
from tests.unit.test_letters import LETTER, text_of


def test_the_letters_own_language_wins_over_the_printers(tmp_path: Path) -> None:
    printer = PdfLetterPrinter(tmp_path, school_name="De Passie Utrecht")  # Dutch by default

    english = text_of(printer.render(replace(LETTER, key="english", lang="en")))
    dutch = text_of(printer.render(replace(LETTER, key="dutch")))

    assert "Dear Familie Van Daalen-Öztürk," in english
    assert "For: Zoë van Daalen" in english
    assert "Voor:" not in english
    assert "Voor: Zoë van Daalen" in dutch
