"""PdfLetterPrinter: real PDFs, read back with pypdf."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from pypdf import PdfReader

from adapters.files import atomic_write_bytes
from adapters.post.pdf import (
    WINDOW_H,
    WINDOW_W,
    WINDOW_X,
    WINDOW_Y,
    PdfLetterPrinter,
)
from bot.domain import Address
from bot.i18n import add_locale_dir, remove_locale_dir
from bot.ports import Letter, LetterItem

A4_PT = (595.28, 841.89)
MM = 72 / 25.4
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")

LETTER = Letter(
    key="3511AB|oudegracht 12 bis|2026-11-03",
    recipient_name="Familie Van Daalen-Öztürk",
    address=Address(street="Oudegracht 12 bis", postal_code="3511 AB", city="Utrecht"),
    items=(
        LetterItem(
            pupil_name="Zoë van Daalen",
            title="Lesuitval 2B",
            body="Op woensdag 4 november vervalt het 3e uur (wiskunde).\nNeem je leesboek mee.",
            signature="— J. de Vries, mentor 2B, De Passie Utrecht",
        ),
        LetterItem(
            pupil_name="Daniël van Daalen",
            title="Huiswerk 1A",
            body="Lees hoofdstuk 3 van het boek over de naïeve schilders. Inleveren: vrijdag.",
            signature="— A. Bakker, docent Nederlands, De Passie Utrecht",
        ),
    ),
    date_text="Utrecht, 3 november 2026",
)


@pytest.fixture
def printer(tmp_path: Path) -> PdfLetterPrinter:
    return PdfLetterPrinter(
        tmp_path / "letters",
        school_name="De Passie Utrecht",
        letterhead_lines=("Postbus 1", "3500 AA Utrecht", "030 123 45 67"),
        return_address="De Passie, Postbus 1, 3500 AA Utrecht",
    )


def text_of(path: str | Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def positions(path: str | Path) -> dict[str, tuple[float, float]]:
    """Each line of text on page 1 with its position in mm from the top-left corner."""
    found: dict[str, tuple[float, float]] = {}
    page = PdfReader(path).pages[0]
    height = float(page.mediabox.height)

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():
            found.setdefault(text.strip(), (tm[4] / MM, (height - tm[5]) / MM))

    page.extract_text(visitor_text=visit)
    return found


def test_letter_holds_address_items_and_signatures(printer: PdfLetterPrinter) -> None:
    path = printer.render(LETTER)

    text = text_of(path)
    for expected in (
        "Familie Van Daalen-Öztürk",
        "Oudegracht 12 bis",
        "3511 AB  Utrecht",
        "De Passie, Postbus 1, 3500 AA Utrecht",
        "Utrecht, 3 november 2026",
        "Beste Familie Van Daalen-Öztürk,",
        "Voor: Zoë van Daalen",
        "Lesuitval 2B",
        "Op woensdag 4 november vervalt het 3e uur (wiskunde).",
        "Neem je leesboek mee.",
        "— J. de Vries, mentor 2B, De Passie Utrecht",
        "Voor: Daniël van Daalen",
        "naïeve schilders",
        "— A. Bakker, docent Nederlands, De Passie Utrecht",
        "Met vriendelijke groet,",
        "030 123 45 67",
    ):
        assert expected in text


def test_page_is_a4_portrait(printer: PdfLetterPrinter) -> None:
    reader = PdfReader(printer.render(LETTER))

    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(A4_PT[0], abs=1)
    assert float(box.height) == pytest.approx(A4_PT[1], abs=1)


def test_address_sits_in_the_envelope_window(printer: PdfLetterPrinter) -> None:
    found = positions(printer.render(LETTER))

    for line in ("Familie Van Daalen-Öztürk", "Oudegracht 12 bis", "3511 AB  Utrecht"):
        x, y = found[line]
        assert WINDOW_X <= x <= WINDOW_X + WINDOW_W
        assert WINDOW_Y <= y <= WINDOW_Y + WINDOW_H
    school_x, school_y = found["De Passie Utrecht"]
    assert school_x > WINDOW_X + WINDOW_W  # the letterhead never shows through the window
    assert school_y < WINDOW_Y


def test_rendering_is_idempotent_per_key(printer: PdfLetterPrinter) -> None:
    first = printer.render(LETTER)
    second = printer.render(replace(LETTER, date_text="Utrecht, 4 november 2026"))
    other = printer.render(replace(LETTER, key="1234AB|dorpsstraat 1|2026-11-03"))

    assert first == second
    assert other != first
    assert "4 november 2026" in text_of(first)
    assert sorted(p.name for p in printer.letters_dir.iterdir()) == sorted(
        [Path(first).name, Path(other).name]
    )  # and no temporary files are left behind
    assert Path(first).suffix == ".pdf"
    assert Path(first).parent == printer.letters_dir


def test_text_is_printed_literally(printer: PdfLetterPrinter) -> None:
    item = LetterItem(
        pupil_name="Zoë",
        title="**Let op**",
        body='=HYPERLINK("https://example.org") {nb} <b>vet</b> __onderstreept__',
        signature="— J. de Vries",
    )
    text = text_of(printer.render(replace(LETTER, items=(item,))))

    assert "**Let op**" in text
    assert '=HYPERLINK("https://example.org") {nb} <b>vet</b> __onderstreept__' in text


def test_every_name_prints_as_written(printer: PdfLetterPrinter) -> None:
    # The shipped Unicode font: no transliteration, whatever script a family's name is in.
    names = ("Emre Yılmaz", "Ayşe Çelik", "Zoë van den Berg", "Łukasz Wójcik", "Nguyễn Văn An")
    items = tuple(
        LetterItem(pupil_name=name, title=f"Uitje {name}", body=f"{name} gaat mee.", signature="—")
        for name in names
    )
    letter = replace(LETTER, recipient_name="Elif Yılmaz", items=items)

    text = text_of(printer.render(letter))

    assert "Elif Yılmaz" in text
    assert "Beste Elif Yılmaz," in text
    for name in names:
        assert f"Voor: {name}" in text
        assert f"{name} gaat mee." in text
    assert "€ 5" in text_of(
        printer.render(replace(LETTER, items=(replace(items[0], body="Kosten: € 5 – café"),)))
    )


def test_control_characters_are_dropped_and_tabs_kept_as_spaces(printer: PdfLetterPrinter) -> None:
    item = LetterItem(pupil_name="Zoë", title="Uitje", body="a\tb\x00c\r\nd", signature="—")

    text = text_of(printer.render(replace(LETTER, items=(item,))))

    assert "a    bc\nd" in text


@pytest.mark.skipif(not (DEJAVU / "DejaVuSans.ttf").exists(), reason="DejaVu Sans not installed")
def test_a_schools_own_unicode_font(tmp_path: Path) -> None:
    printer = PdfLetterPrinter(
        tmp_path,
        school_name="De Passie Utrecht",
        font_regular=DEJAVU / "DejaVuSans.ttf",
        font_bold=DEJAVU / "DejaVuSans-Bold.ttf",
    )
    item = LetterItem(pupil_name="Şeyma Yılmaz", title="Uitje", body="Łódź", signature="—")

    text = text_of(printer.render(replace(LETTER, items=(item,))))

    assert "Şeyma Yılmaz" in text
    assert "Łódź" in text


def test_long_letters_flow_onto_numbered_pages(printer: PdfLetterPrinter) -> None:
    items = tuple(
        LetterItem(
            pupil_name=f"Kind {n}",
            title=f"Bericht {n}",
            body="Een lange toelichting over het schoolreisje. " * 12,
            signature="— J. de Vries",
        )
        for n in range(8)
    )
    reader = PdfReader(printer.render(replace(LETTER, items=items)))

    pages = len(reader.pages)
    assert pages > 1
    assert f"Pagina 1 van {pages}" in reader.pages[0].extract_text()
    assert f"Pagina {pages} van {pages}" in reader.pages[-1].extract_text()
    assert "Bericht 7" in "".join(page.extract_text() for page in reader.pages)


def test_english_letter(tmp_path: Path) -> None:
    printer = PdfLetterPrinter(tmp_path, school_name="De Passie Utrecht", lang="en")

    text = text_of(printer.render(LETTER))

    assert "Dear Familie Van Daalen-Öztürk," in text
    assert "Below are messages from De Passie Utrecht. We send them to you by post." in text
    assert "For: Zoë van Daalen" in text
    assert "Kind regards," in text
    assert "Voor:" not in text


def test_letter_texts_come_from_the_catalogues(printer: PdfLetterPrinter, tmp_path: Path) -> None:
    dutch = PdfReader(printer.render(LETTER))
    english = PdfReader(
        PdfLetterPrinter(tmp_path / "en", school_name="De Passie Utrecht", lang="en").render(LETTER)
    )

    assert "Hieronder leest u berichten van De Passie Utrecht" in dutch.pages[0].extract_text()
    assert dutch.metadata is not None
    assert dutch.metadata.title == "De Passie Utrecht: brief"
    assert english.metadata is not None
    assert english.metadata.title == "De Passie Utrecht: letter"


def test_a_partial_catalogue_falls_back_to_dutch(tmp_path: Path) -> None:
    catalog = Catalog(locale="de", domain="klasbot")
    catalog.add("Kind regards,", "Mit freundlichen Grüßen,")
    catalog.add("For: {pupil}", "Für: {pupil}")
    path = tmp_path / "locale" / "de" / "LC_MESSAGES" / "klasbot.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as po:
        write_po(po, catalog)
    add_locale_dir(tmp_path / "locale")
    try:
        printer = PdfLetterPrinter(tmp_path / "letters", school_name="De Passie", lang="de")
        text = text_of(printer.render(LETTER))
    finally:
        remove_locale_dir(tmp_path / "locale")

    assert "Mit freundlichen Grüßen," in text
    assert "Für: Zoë van Daalen" in text
    assert "Beste Familie Van Daalen-Öztürk," in text  # not in the German catalogue: Dutch


def test_a_letter_without_items_is_refused(printer: PdfLetterPrinter) -> None:
    with pytest.raises(ValueError, match="no items"):
        printer.render(replace(LETTER, items=()))


def test_atomic_write_replaces_the_whole_file_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "letter.pdf"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"third")

    assert target.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["letter.pdf"]  # no temporary file left
