"""The dossier's PDF (`adapters.post.dossier`): the school's letterhead, names as written in the
embedded font, numbered pages, and every word of a text too long for one page (it goes on in the
next rows instead of being cut or refused)."""

from __future__ import annotations

import re
from pathlib import Path

from pypdf import PdfReader

from adapters.post.dossier import write_dossier_pdf
from bot.dossier_text import Readable, Section

LONG = "Dit is een heel lange melding over wat er gebeurde in de groep van 3A. " * 150


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_a_long_text_goes_on_over_pages_and_every_name_prints(tmp_path: Path) -> None:
    readable = Readable(
        "Dossier van Emre Yılmaz",
        "Alles wat Het Lyceum bewaart over Emre Yılmaz.",
        [
            Section("Persoonsgegevens", (), [("naam", "Emre Yılmaz"), ("e-mail", "")]),
            Section(
                "Meldingen",
                ("nr", "tijd", "tekst"),
                [("1", "2026-11-23 10:00", LONG), ("2", "2026-11-24 09:00", "Łukasz, Nguyễn")],
                (1, 3, 8),
            ),
            Section("Geplande berichten", ("nr",), []),
        ],
        "niets bewaard",
        "Het Lyceum",
    )

    path = write_dossier_pdf(
        tmp_path / "d.pdf", readable, lang="nl", letterhead_lines=["Postbus 1", "3500 AA Utrecht"]
    )

    pages = [page.extract_text() for page in PdfReader(path).pages]
    assert len(pages) > 2
    assert pages[0].splitlines()[:3] == ["Het Lyceum", "Postbus 1", "3500 AA Utrecht"]
    assert "Dossier van Emre Yılmaz" in pages[0]
    assert all(f"Pagina {n} van {len(pages)}" in text for n, text in enumerate(pages, 1))
    text = "\n".join(pages)
    assert "Łukasz, Nguyễn" in text
    assert "niets bewaard" in text
    # Page footers and the headings repeated on each page the table runs onto are left out.
    body = re.sub(r"Pagina\d+van\d+|nrtijdtekst", "", squeezed(text))
    assert squeezed(LONG) in body
