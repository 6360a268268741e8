"""What a withdrawal or a correction says on a household's letter (`bot.usecases.undo`), in the
words of `bot.notice_texts` that the e-mail uses too."""

from __future__ import annotations

from bot.notice_texts import reason_line, undo_intro, undo_title
from bot.notices import CorrectionNotice, WithdrawalNotice
from bot.ports import LetterItem


def undo_letter_item(
    notice: WithdrawalNotice | CorrectionNotice, person_name: str, lang: str
) -> LetterItem:
    pupil = notice.pupil_name or person_name
    intro = undo_intro(notice.template, notice.audience, pupil, lang)
    if isinstance(notice, WithdrawalNotice):
        parts = [intro, reason_line(notice.reason, lang), notice.summary]
    else:
        parts = [intro, notice.body]
    return LetterItem(
        person_name,
        undo_title(notice.template, notice.kind_title, notice.class_code, lang),
        "\n\n".join(p for p in parts if p),
        notice.signature,
        school_name=notice.school_name,
        audience=notice.audience,
    )
