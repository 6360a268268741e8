"""Printed letters: one A4 PDF per household and day, for pupils no chat or e-mail reaches (rule 6).

Layout (A4 portrait, 210 x 297 mm), made for the common Dutch/European window envelope with the
window on the left (EA5/6 or DL, 110 x 220 mm, window 90 x 40 mm at 20 mm from the left and
15 mm from the bottom), the letter folded in three at 99 and 198 mm:

- letterhead: school name and `letterhead_lines`, right-aligned in the right column
  (x 115-190 mm, from y 15 mm), so it never shows through the window;
- address window: x 20 mm, y 50 mm, 90 x 40 mm — the return address on one line in small print
  at the top, then the recipient's name and address lines;
- small fold marks in the left margin at 99 and 198 mm;
- from y 100 mm: the date, the salutation, a short introduction, each item (the pupil it is
  for, the title in bold, the body, the author's signature) and a closing; long letters flow
  onto further pages, numbered "Pagina 1 van 2".

The letter's own texts (salutation, introduction, "Voor: …", closing, page numbers) are gettext
messages in `lang`, translated by the catalogues in `bot/locale` (see "Languages" in README.md).

Font: DejaVu Sans (regular and bold, shipped in `adapters/post/fonts/` with its licence) is
embedded, so every name prints as written: Yılmaz, Ayşe, Zoë, Łukasz, Nguyễn. A school may pass
another Unicode TrueType font (`font_regular`, `font_bold`).

The letterhead names the school the letter's items are from (`LetterItem.school_name`, as the
core's `SchoolPolicy` decides it: the configured name, else the roster's), else the printer's own
`school_name`. A letter whose every item speaks to the pupil speaks to the pupil ("je" in Dutch);
any other speaks to the parent or person ("u"). An item with a link (an invitation's Telegram deep
link) has its QR code printed beside the link.

Text is printed literally: no markdown, no page-number alias, nothing in it is interpreted.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.files import atomic_write_bytes
from bot.i18n import DEFAULT_LANGUAGE, Msg
from bot.ports import Letter, LetterItem

if TYPE_CHECKING:  # fpdf2 (and segno) are imported when the first letter is printed
    from fpdf import FPDF

logger = logging.getLogger(__name__)

FONTS = Path(__file__).resolve().parent / "fonts"
FONT_REGULAR = FONTS / "DejaVuSans.ttf"
FONT_BOLD = FONTS / "DejaVuSans-Bold.ttf"

# Millimetres, see the module docstring.
PAGE_FORMAT = "A4"
MARGIN_LEFT = 20.0
MARGIN_RIGHT = 20.0
MARGIN_BOTTOM = 22.0
LETTERHEAD_X = 115.0
LETTERHEAD_Y = 15.0
WINDOW_X = 20.0
WINDOW_Y = 50.0
WINDOW_W = 90.0
WINDOW_H = 40.0
BODY_Y = 100.0
FOLD_MARKS_Y = (99.0, 198.0)
QR_SIZE = 28.0
"""A QR code's side, quiet zone included: a phone reads it easily from the paper."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# The letter's own texts (gettext messages, see "Languages" in README.md).
M_LETTER_TITLE = Msg("{school}: letter")
"""The PDF's title (document properties)."""
M_GREETING = Msg("Dear {name},")
M_INTRO = Msg("Below are messages from {school}. We send them to you by post.")
M_INTRO_TO_PUPIL = Msg("Below are messages from {school} for you. We send them to you by post.")
M_FOR = Msg("For: {pupil}")
"""Above each item: the pupil it is about."""
M_CLOSING = Msg("Kind regards,")
M_PAGE = Msg("Page {page} of {pages}")
"""The footer of a letter of more than one page."""


def safe_file_stem(key: str) -> str:
    """A file name stem for `key`, safe on every file system and unique per key (a hash suffix
    is added whenever characters had to be replaced)."""
    stem = key.strip()
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip(".")[:120]
    if safe != stem or not safe:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        safe = f"{safe}-{digest}" if safe else digest
    return safe


def _clean(text: str) -> str:
    """Line breaks as `\\n`, control characters dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _CONTROL.sub("", text)


@functools.cache
def _letter_pdf() -> Callable[[Callable[[int], str] | None, str], FPDF]:
    """The letter's FPDF class, made when the first letter is printed: fpdf2 and its fonts cost
    an idle `klasbot run` some 30 MB."""
    from fpdf import FPDF
    from fpdf.enums import Align

    class _LetterPdf(FPDF):
        def __init__(self, footer_text: Callable[[int], str] | None, font: str) -> None:
            """`footer_text(page)` is printed at the bottom of every page (none when None)."""
            super().__init__(orientation="portrait", unit="mm", format=PAGE_FORMAT)
            self.footer_text = footer_text
            self.letter_font = font

        def footer(self) -> None:
            if self.footer_text is None:
                return
            self.set_y(-15)
            self.set_font(self.letter_font, "", 8)
            self.set_text_color(110)
            self.cell(0, 5, self.footer_text(self.page_no()), align=Align.C)
            self.set_text_color(0)

    return _LetterPdf


class PdfLetterPrinter:
    """A `LetterPrinter` that writes `<letters_dir>/<safe letter.key>.pdf` with fpdf2."""

    def __init__(
        self,
        letters_dir: Path,
        *,
        school_name: str,
        letterhead_lines: Sequence[str] = (),
        return_address: str | None = None,
        lang: str = DEFAULT_LANGUAGE,
        font_regular: Path | None = None,
        font_bold: Path | None = None,
    ) -> None:
        """`school_name` heads a letter whose items name no school; `return_address` is printed
        on one line above the recipient (e.g. "De Passie, Postbus 1, 3500 AA Utrecht");
        `font_regular`/`font_bold` replace the shipped DejaVu Sans (see the module docstring).
        `lang` is the language of the letter's own texts when the letter names none (Dutch
        when it has no catalogue)."""
        self.letters_dir = Path(letters_dir)
        self.school_name = school_name
        self.letterhead_lines = tuple(letterhead_lines)
        self.return_address = return_address
        self.lang = lang
        self.font_regular = font_regular or FONT_REGULAR
        self.font_bold = font_bold or (FONT_BOLD if font_regular is None else font_regular)

    def path_for(self, key: str) -> Path:
        """Where the letter with `key` is (or will be) written."""
        return self.letters_dir / f"{safe_file_stem(key)}.pdf"

    def render(self, letter: Letter) -> str:
        """Write the letter as a PDF and return its path. Idempotent per `letter.key`: rendering
        the same key again replaces the file, atomically.

        Raises OSError when the file cannot be written."""
        if not letter.items:
            raise ValueError(f"letter {letter.key!r} has no items")
        # A letter of more than one page is made twice: the first pass counts the pages for
        # "Pagina 1 van 2" (fpdf2's own page-count alias would also replace that alias inside
        # user text). A letter of one page has no page footer: the first pass is the letter.
        draft = self._build(letter, total_pages=None)
        pages = draft.pages_count
        if pages > 1:
            _close_fonts(draft)
            final = self._build(letter, total_pages=pages)
        else:
            final = draft
        try:
            data = bytes(final.output())
        finally:
            _close_fonts(final)
        self.letters_dir.mkdir(parents=True, exist_ok=True)
        path = self.path_for(letter.key)
        atomic_write_bytes(path, data)
        logger.info("letter %s written to %s (%d page(s))", letter.key, path, pages)
        return str(path)

    def school_of(self, letter: Letter) -> str:
        """The school heading the letter: its first item's that names one, else the printer's."""
        return next((i.school_name for i in letter.items if i.school_name), self.school_name)

    def _page_footer(self, page: int, *, pages: int, lang: str | None = None) -> str:
        return _clean(M_PAGE(lang or self.lang, page=page, pages=pages))

    def _build(self, letter: Letter, *, total_pages: int | None) -> FPDF:
        from fpdf.enums import Align, XPos, YPos

        lang = letter.lang or self.lang  # the recipient's language, else the school's
        footer: Callable[[int], str] | None = None
        if total_pages and total_pages > 1:
            # The page is filled in per page; the total is known from the first pass.
            footer = functools.partial(self._page_footer, pages=total_pages, lang=lang)
        font = "LetterFont"
        pdf = _letter_pdf()(footer, font)
        pdf.alias_nb_pages(None)  # type: ignore[arg-type]
        pdf.add_font(font, "", str(self.font_regular))
        pdf.add_font(font, "B", str(self.font_bold))
        school = self.school_of(letter)
        to_pupil = all(item.audience == "pupil" for item in letter.items)
        pdf.set_title(_clean(M_LETTER_TITLE(lang, school=school)))
        pdf.set_author(_clean(school))
        pdf.set_margins(MARGIN_LEFT, LETTERHEAD_Y, MARGIN_RIGHT)
        pdf.set_auto_page_break(True, margin=MARGIN_BOTTOM)
        pdf.add_page()
        txt = _clean
        width = pdf.w - MARGIN_LEFT - MARGIN_RIGHT

        def paragraph(text: str, height: float = 5.0) -> None:
            pdf.multi_cell(
                width, height, txt(text), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )

        # Letterhead, top right.
        head_w = pdf.w - MARGIN_RIGHT - LETTERHEAD_X
        pdf.set_xy(LETTERHEAD_X, LETTERHEAD_Y)
        pdf.set_font(font, "B", 13)
        pdf.multi_cell(head_w, 6, txt(school), align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font(font, "", 9)
        lines = self.letterhead_lines if letter.letterhead is None else letter.letterhead
        for line in lines:
            pdf.set_x(LETTERHEAD_X)
            pdf.multi_cell(head_w, 4.2, txt(line), align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)

        # Fold marks for the window envelope.
        pdf.set_draw_color(150)
        pdf.set_line_width(0.2)
        for y in FOLD_MARKS_Y:
            pdf.line(4, y, 8, y)
        pdf.set_draw_color(0)

        # Address window.
        y = WINDOW_Y + 2
        return_address = letter.return_address or self.return_address
        if return_address:
            pdf.set_font(font, "", 7)
            pdf.set_text_color(90)
            pdf.set_xy(WINDOW_X, y)
            pdf.cell(WINDOW_W, 3.5, _fit(pdf, txt(return_address), WINDOW_W))
            pdf.set_text_color(0)
            y += 6
        pdf.set_font(font, "", 11)
        address = [letter.recipient_name, *letter.address.lines()]
        for line in address:
            if y > WINDOW_Y + WINDOW_H - 5:
                logger.warning("letter %s: address does not fit the window", letter.key)
                break
            pdf.set_xy(WINDOW_X, y)
            pdf.cell(WINDOW_W, 5, _fit(pdf, txt(line), WINDOW_W))
            y += 5

        # Body.
        pdf.set_xy(MARGIN_LEFT, BODY_Y)
        pdf.set_font(font, "", 10)
        paragraph(letter.date_text, 5)
        pdf.ln(6)
        paragraph(M_GREETING(lang, name=letter.recipient_name))
        pdf.ln(3)
        intro = M_INTRO_TO_PUPIL if to_pupil else M_INTRO
        paragraph(intro(lang, school=school))
        for item in letter.items:
            self._item(pdf, item, lang, font, paragraph)
        pdf.ln(6)
        paragraph(M_CLOSING(lang))
        paragraph(school)
        return pdf

    def _item(
        self,
        pdf: FPDF,
        item: LetterItem,
        lang: str,
        font: str,
        paragraph: Callable[..., None],
    ) -> None:
        pdf.ln(5)
        pdf.set_font(font, "", 9)
        pdf.set_text_color(90)
        paragraph(M_FOR(lang, pupil=item.pupil_name), 4.5)
        pdf.set_text_color(0)
        pdf.set_font(font, "B", 11.5)
        paragraph(item.title, 6)
        pdf.ln(1)
        if item.note:
            pdf.set_font(font, "", 10)
            pdf.set_text_color(70)
            paragraph(item.note, 5)
            pdf.set_text_color(0)
            pdf.ln(1)
        pdf.set_font(font, "", 10)
        paragraph(item.body)
        if item.link:
            self._qr_code(pdf, item.link, font)
        if item.signature:
            pdf.ln(2)
            paragraph(item.signature)

    def _qr_code(self, pdf: FPDF, link: str, font: str) -> None:
        """The link's QR code at the left margin, the link itself beside it."""
        from fpdf.enums import Align, XPos, YPos

        from adapters.qr import qr_png

        pdf.ln(2)
        if pdf.get_y() + QR_SIZE > pdf.h - MARGIN_BOTTOM:
            pdf.add_page()
        top = pdf.get_y()
        pdf.image(io.BytesIO(qr_png(link)), x=MARGIN_LEFT, y=top, w=QR_SIZE, h=QR_SIZE)
        pdf.set_xy(MARGIN_LEFT + QR_SIZE + 4, top + QR_SIZE / 2 - 3)
        pdf.set_font(font, "", 9.5)
        pdf.multi_cell(
            pdf.w - MARGIN_RIGHT - pdf.get_x(),
            5,
            _clean(link),
            align=Align.L,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.set_xy(MARGIN_LEFT, top + QR_SIZE)
        pdf.set_font(font, "", 10)


def _close_fonts(pdf: FPDF) -> None:
    """Release embedded font files; fpdf2 keeps them open until garbage collection."""
    for font in pdf.fonts.values():
        close = getattr(font, "close", None)
        if close is not None:
            close()


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """`text` on one line within `width` mm, shortened with an ellipsis when too long."""
    # Newlines become spaces, but runs of spaces stay: PostNL wants two between postcode and city.
    text = " ".join(text.splitlines()).strip()
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "...") > width - 2:
        text = text[:-1]
    return text.rstrip() + "..."
