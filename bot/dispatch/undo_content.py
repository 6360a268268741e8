"""What a withdrawal or a correction says on a household's letter (`bot.usecases.undo`); the
e-mail says the same through its templates (`withdrawal.*`, `correction.*`)."""

from __future__ import annotations

from bot.i18n import Msg
from bot.notices import CorrectionNotice, WithdrawalNotice
from bot.ports import LetterItem

M_WITHDRAWN_TITLE = Msg("Withdrawn: {kind} – class {cls}")
M_CORRECTED_TITLE = Msg("Corrected: {kind} – class {cls}")
M_WITHDRAWN_TO_PUPIL = Msg(
    "The message below, which you received earlier, has been withdrawn. It no longer applies."
)
M_WITHDRAWN_TO_PARENT = Msg(
    "The message below about {pupil}, which you received earlier, has been withdrawn. It no "
    "longer applies."
)
M_CORRECTED_TO_PUPIL = Msg(
    "The message you received earlier has been corrected. This is the correct version:"
)
M_CORRECTED_TO_PARENT = Msg(
    "The message about {pupil} that you received earlier has been corrected. This is the "
    "correct version:"
)
M_REASON = Msg("Reason: {reason}")


def undo_letter_item(
    notice: WithdrawalNotice | CorrectionNotice, person_name: str, lang: str
) -> LetterItem:
    to_pupil = notice.audience == "pupil"
    if isinstance(notice, WithdrawalNotice):
        intro = (
            M_WITHDRAWN_TO_PUPIL(lang)
            if to_pupil
            else M_WITHDRAWN_TO_PARENT(lang, pupil=notice.pupil_name or person_name)
        )
        parts = [intro]
        if notice.reason:
            parts.append(M_REASON(lang, reason=notice.reason))
        parts.append(notice.summary)
        title = M_WITHDRAWN_TITLE(lang, kind=notice.kind_title, cls=notice.class_code)
        return LetterItem(
            person_name,
            title,
            "\n\n".join(parts),
            notice.signature,
            school_name=notice.school_name,
            audience=notice.audience,
        )
    intro = (
        M_CORRECTED_TO_PUPIL(lang)
        if to_pupil
        else M_CORRECTED_TO_PARENT(lang, pupil=notice.pupil_name or person_name)
    )
    title = M_CORRECTED_TITLE(lang, kind=notice.kind_title, cls=notice.class_code)
    return LetterItem(
        person_name,
        title,
        f"{intro}\n\n{notice.body}",
        notice.signature,
        school_name=notice.school_name,
        audience=notice.audience,
    )
