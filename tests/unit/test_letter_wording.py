"""What a household's letter says to whom: a parent's copy speaks to the parent about their
child ("u"), a pupil's to the pupil ("je"); an invitation says which app to use and how, with a
QR code of its Telegram link that decodes to exactly that link; dates in words; the school named
as the roster names it. Real PDFs, read back with pypdf (and zxing-cpp for the QR code)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import zxingcpp
from pypdf import PdfReader

from adapters.post.pdf import PdfLetterPrinter
from bot.dispatch.content import letter_item
from bot.domain import Address
from bot.notices import AnnouncementNotice, InviteNotice
from bot.ports import Letter, LetterItem

SCHOOL = "De Passie Utrecht"
CODE = "K7P2XQ9MAB"
LINK = f"https://t.me/passie_klas_bot?start={CODE}"

COPY = AnnouncementNotice(
    announcement_id=1,
    class_code="2B",
    kind="reminder",
    kind_title="Herinnering",
    body="Herinnering 2B: Neem je gymkleren mee.",
    signature=f"— J. de Vries, mentor 2B, {SCHOOL}",
    school_name=SCHOOL,
    pupil_name="Sem",
    pupil_full_name="Sem Bakker",
    recipient_name="Ingrid Bakker",
    audience="guardian",
    reason="under-13",
)
INVITE = InviteNotice(
    code=CODE,
    expires_on="2026-12-07",
    class_code="2B",
    school_name=SCHOOL,
    recipient_name="Ingrid Bakker",
    audience="guardian",
    pupil_name="Sem",
    pupil_full_name="Sem Bakker",
    platforms=("telegram", "matrix"),
    telegram_bot="passie_klas_bot",
    matrix_bot="@klasbot:passie.example",
)


def letter(*items: LetterItem, name: str = "Ingrid Bakker") -> Letter:
    return Letter(
        key="3531CE|kanaalstraat 41|2026-11-23",
        recipient_name=name,
        address=Address(street="Kanaalstraat 41", postal_code="3531 CE", city="Utrecht"),
        items=items,
        date_text="maandag 23 november 2026",
    )


@pytest.fixture
def printer(tmp_path: Path) -> PdfLetterPrinter:
    # A default installation: no school name configured (the items name it).
    return PdfLetterPrinter(tmp_path / "letters", school_name="")


def text_of(path: str) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def flat(text: str) -> str:
    """The text with its line breaks (and no-break spaces) as spaces: pypdf keeps the letter's
    wrapping."""
    return " ".join(text.split())


def test_a_parents_copy_speaks_to_the_parent_about_their_child(
    printer: PdfLetterPrinter,
) -> None:
    item = letter_item(COPY, "Sem Bakker", "", "nl")

    text = flat(text_of(printer.render(letter(item))))

    assert "Hieronder leest u berichten van De Passie Utrecht." in text
    assert "Herinnering – klas 2B" in text
    assert (
        "U ontvangt dit bericht omdat uw kind Sem nog geen 13 is: volgens het "
        "socialemediaprotocol van de school mogen leerlingen pas vanaf hun 13e verjaardag in de "
        "klassengroep. Het bericht aan de klas: Herinnering 2B: Neem je gymkleren mee."
    ) in text
    assert "Je ontvangt" not in text
    assert "Met vriendelijke groet, De Passie Utrecht" in text


def test_a_pupils_own_copy_speaks_to_the_pupil(printer: PdfLetterPrinter) -> None:
    own = replace(COPY, audience="pupil", recipient_name="Sem Bakker", reason="not-linked")
    item = letter_item(own, "Sem Bakker", "", "nl")

    text = flat(text_of(printer.render(letter(item, name="Sem Bakker"))))

    assert "Hieronder lees je berichten van De Passie Utrecht voor jou." in text
    assert (
        "Je ontvangt dit bericht omdat je nog geen account aan de klassengroep hebt gekoppeld."
    ) in text
    assert "uw kind" not in text
    assert "Hieronder leest u" not in text


def test_a_letter_with_a_parents_item_speaks_to_the_parent(printer: PdfLetterPrinter) -> None:
    to_pupil = letter_item(replace(COPY, audience="pupil"), "Sem Bakker", "", "nl")
    to_parent = letter_item(COPY, "Sem Bakker", "", "nl")

    assert to_pupil.audience == "pupil"
    assert "Hieronder leest u" in text_of(printer.render(letter(to_pupil, to_parent)))


def test_an_invitation_to_a_parent_says_which_apps_and_how(printer: PdfLetterPrinter) -> None:
    item = letter_item(INVITE, "Sem Bakker", "", "nl")

    text = flat(text_of(printer.render(letter(item))))

    assert "Persoonlijke code van Sem voor de klassengroep van 2B" in text
    assert "kan uw kind Sem een account koppelen" in text
    assert "Wilt u de code aan Sem geven, en aan niemand anders?" in text
    assert f"Code: {CODE}" in text
    assert "geldig tot en met maandag 7 december 2026." in text
    assert "2026-12-07" not in text
    assert "Zo wordt Sem lid:" in text
    assert "Telegram: scan de QR-code hieronder" in text
    assert "naar de bot @passie_klas_bot." in text
    assert (
        f"Matrix: stuur @klasbot:passie.example in een privégesprek het bericht !start {CODE}."
    ) in text
    assert LINK in text
    for pupil_words in ("je account", "Met je ", "word je"):
        assert pupil_words not in text


def test_an_invitation_to_a_pupil_says_je(printer: PdfLetterPrinter) -> None:
    own = replace(INVITE, audience="pupil", recipient_name="Sem Bakker", platforms=())
    item = letter_item(own, "Sem Bakker", "", "nl")

    text = flat(text_of(printer.render(letter(item, name="Sem Bakker"))))

    assert "Je persoonlijke code voor de klassengroep van 2B" in text
    assert "Met je persoonlijke code koppel je je account en word je lid van de groep." in text
    assert "Zo word je lid:" in text
    # No app configured and no group yet: the code goes to the class bot, in the school's terms.
    assert (
        f"Stuur de klassenbot van De Passie Utrecht in een privégesprek het bericht /start {CODE}."
    ) in text
    assert "Telegram" not in text
    assert "Matrix" not in text
    assert "uw kind" not in text


def test_telegram_without_the_bots_name_gives_the_command(printer: PdfLetterPrinter) -> None:
    item = letter_item(replace(INVITE, telegram_bot=None, platforms=("telegram",)), "Sem", "", "nl")

    text = flat(text_of(printer.render(letter(item))))

    assert item.link is None
    assert (
        f"Telegram: stuur de klassenbot van De Passie Utrecht in een privégesprek het bericht "
        f"/start {CODE}."
    ) in text
    assert "t.me" not in text
    assert not PdfReader(printer.render(letter(item))).pages[0].images


def test_the_qr_code_on_the_letter_decodes_to_exactly_the_deep_link(
    printer: PdfLetterPrinter,
) -> None:
    item = letter_item(INVITE, "Sem Bakker", "", "nl")
    assert item.link == LINK

    page = PdfReader(printer.render(letter(item))).pages[0]

    [image] = page.images
    [barcode] = zxingcpp.read_barcodes(image.image)
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.text == LINK


def test_the_letterhead_names_the_school_the_items_are_from(printer: PdfLetterPrinter) -> None:
    item = letter_item(COPY, "Sem Bakker", "", "nl")
    reader = PdfReader(printer.render(letter(item)))

    first_line = reader.pages[0].extract_text().splitlines()[0]
    assert first_line == SCHOOL
    assert reader.metadata is not None
    assert reader.metadata.title == f"{SCHOOL}: brief"


def test_a_notice_without_a_school_takes_the_callers(printer: PdfLetterPrinter) -> None:
    item = letter_item(replace(INVITE, school_name=""), "Sem Bakker", "Het Lyceum", "nl")

    assert item.school_name == "Het Lyceum"
    assert "Het Lyceum heeft voor klas 2B een klassengroep" in flat(
        text_of(printer.render(letter(item)))
    )


def test_english_letters_speak_english(printer: PdfLetterPrinter) -> None:
    item = letter_item(INVITE, "Sem Bakker", "", "en")

    text = flat(text_of(printer.render(replace(letter(item), lang="en"))))

    assert "your child Sem can link an account" in text
    assert "valid until Monday 7 December 2026 inclusive." in text
    assert "How Sem joins:" in text
