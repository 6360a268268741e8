"""A dossier (GDPR art. 15, `klasbot dossier export --pdf FILE`) as a readable A4 PDF.

It carries the school's letterhead as the letters do (`adapters.post.pdf`: school name and
`letterhead_lines` top right, DejaVu Sans embedded so that Yılmaz, Łukasz and Nguyễn print as
written), then the title, a line saying what it is, and one table per section of
`bot.dossier_text.readable` (headings repeated on every page a table runs onto); pages are
numbered "Pagina 1 van 3". Its texts come from the core in the reader's language; this module
only lays them out, and prints every text literally.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, XPos, YPos
from fpdf.fonts import FontFace

from adapters.files import atomic_write_bytes
from adapters.post.pdf import (
    FONT_BOLD,
    FONT_REGULAR,
    LETTERHEAD_X,
    LETTERHEAD_Y,
    M_PAGE,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
)
from bot.dossier_text import Readable, Section

FONT = "DossierFont"
LINE_HEIGHT = 4.2
PADDING = 1.0
ROW_LINES = 40
"""The most lines a table row holds (well within a page); a longer cell goes on in the next."""
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _CONTROL.sub("", text)


class _DossierPdf(FPDF):
    def __init__(self, footer_text: Callable[[int], str] | None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text

    def footer(self) -> None:
        if self.footer_text is None:
            return
        self.set_y(-15)
        self.set_font(FONT, "", 8)
        self.set_text_color(110)
        self.cell(0, 5, self.footer_text(self.page_no()), align=Align.C)
        self.set_text_color(0)


def write_dossier_pdf(
    path: Path,
    dossier: Readable,
    *,
    lang: str,
    letterhead_lines: Sequence[str] = (),
    font_regular: Path | None = None,
    font_bold: Path | None = None,
) -> Path:
    """Write `dossier` to `path` (replaced atomically) and return it. Raises OSError when the
    file cannot be written."""
    # Two passes, as for the letters: the first counts the pages for "Pagina 1 van 3" (fpdf2's
    # own alias would also be replaced inside the texts).
    draft = _build(dossier, lang, letterhead_lines, font_regular, font_bold, pages=None)
    pages = draft.pages_count
    _close_fonts(draft)
    final = _build(dossier, lang, letterhead_lines, font_regular, font_bold, pages=pages)
    try:
        data = bytes(final.output())
    finally:
        _close_fonts(final)
    atomic_write_bytes(Path(path), data)
    return Path(path)


def _close_fonts(pdf: FPDF) -> None:
    """Release the embedded font files (fpdf2 keeps them open until garbage collection)."""
    for font in pdf.fonts.values():
        close = getattr(font, "close", None)
        if close is not None:
            close()


def _build(
    dossier: Readable,
    lang: str,
    letterhead_lines: Sequence[str],
    font_regular: Path | None,
    font_bold: Path | None,
    *,
    pages: int | None,
) -> FPDF:
    footer = None
    if pages and pages > 1:
        footer = functools.partial(_footer, lang=lang, pages=pages)
    pdf = _DossierPdf(footer)
    pdf.add_font(FONT, "", str(font_regular or FONT_REGULAR))
    pdf.add_font(FONT, "B", str(font_bold or font_regular or FONT_BOLD))
    pdf.set_title(_clean(dossier.title))
    pdf.set_author(_clean(dossier.school_name))
    pdf.set_margins(MARGIN_LEFT, LETTERHEAD_Y, MARGIN_RIGHT)
    pdf.set_auto_page_break(True, margin=MARGIN_BOTTOM)
    pdf.add_page()
    width = pdf.w - MARGIN_LEFT - MARGIN_RIGHT

    # Letterhead, top right, as on the letters.
    head_w = pdf.w - MARGIN_RIGHT - LETTERHEAD_X
    pdf.set_xy(LETTERHEAD_X, LETTERHEAD_Y)
    pdf.set_font(FONT, "B", 13)
    pdf.multi_cell(
        head_w, 6, _clean(dossier.school_name), align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT
    )
    pdf.set_font(FONT, "", 9)
    for line in letterhead_lines:
        pdf.set_x(LETTERHEAD_X)
        pdf.multi_cell(head_w, 4.2, _clean(line), align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)

    pdf.set_xy(MARGIN_LEFT, max(pdf.get_y() + 10, 50.0))
    pdf.set_font(FONT, "B", 16)
    pdf.multi_cell(
        width, 8, _clean(dossier.title), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.ln(2)
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(
        width, 5, _clean(dossier.intro), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    for section in dossier.sections:
        _section(pdf, section, dossier.empty, width)
    return pdf


def _footer(page: int, *, lang: str, pages: int) -> str:
    return _clean(M_PAGE(lang, page=page, pages=pages))


def _section(pdf: FPDF, section: Section, empty: str, width: float) -> None:
    pdf.ln(6)
    if pdf.get_y() > pdf.h - MARGIN_BOTTOM - 25:
        pdf.add_page()
    pdf.set_font(FONT, "B", 12)
    pdf.multi_cell(
        width, 6, _clean(section.title), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.ln(1)
    pdf.set_font(FONT, "", 8.5)
    if not section.rows:
        pdf.set_text_color(110)
        pdf.multi_cell(
            width, 4.5, _clean(empty), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.set_text_color(0)
        return
    labelled = not section.headings
    columns = len(section.rows[0]) if labelled else len(section.headings)
    widths = section.widths if len(section.widths) == columns else (1,) * columns
    if labelled and columns == 2 and not section.widths:
        widths = (1, 2)
    columns_mm = [width * w / sum(widths) - 2 * PADDING for w in widths]
    with pdf.table(
        col_widths=widths,
        width=width,
        text_align="LEFT",
        line_height=LINE_HEIGHT,
        first_row_as_headings=not labelled,
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        borders_layout="HORIZONTAL_LINES",
        padding=PADDING,
    ) as table:
        if not labelled:
            heading = table.row()
            for text in section.headings:
                heading.cell(_clean(text))
        for values in section.rows:
            for part in _parts(pdf, [_clean(v) for v in values], columns_mm):
                row = table.row()
                for i, value in enumerate(part):
                    style = FontFace(emphasis="BOLD") if labelled and i == 0 else None
                    row.cell(value, style=style)


def _parts(pdf: FPDF, values: list[str], columns_mm: list[float]) -> list[list[str]]:
    """A row as rows that each fit on a page: a cell of more than `ROW_LINES` lines (a long
    report) goes on over the next rows, the other cells of those rows empty."""
    lines = [
        pdf.multi_cell(w, LINE_HEIGHT, v, dry_run=True, output=MethodReturnValue.LINES) if v else []
        for v, w in zip(values, columns_mm, strict=True)
    ]
    if max(map(len, lines), default=0) <= ROW_LINES:
        return [values]
    count = max(-(-len(cell) // ROW_LINES) for cell in lines)
    return [
        ["\n".join(cell[n * ROW_LINES : (n + 1) * ROW_LINES]) for cell in lines]
        for n in range(count)
    ]
