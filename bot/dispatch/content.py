"""What a delivery says: the mail or letter item of an outbox row, from its typed notice or, for an
announcement's fallback copy, from the announcement."""

from __future__ import annotations

from datetime import date
from html import escape

from bot.dates import format_date
from bot.domain import Announcement, Delivery, Person
from bot.messages import M_INVITE_LETTER_BODY, M_INVITE_LETTER_TITLE
from bot.notices import AnnouncementNotice, InviteNotice, Notice
from bot.ports import LetterItem
from bot.rules import kinds


def announcement_notice(
    announcement: Announcement,
    delivery: Delivery,
    pupil: Person | None,
    class_code: str,
    school_name: str,
    lang: str,
) -> AnnouncementNotice:
    to_pupil = bool(pupil and delivery.recipients and delivery.recipients[0].person_id == pupil.id)
    return AnnouncementNotice(
        announcement_id=announcement.id,
        class_code=class_code,
        kind=str(announcement.kind),
        kind_title=kinds.kind_title(announcement.kind, lang),
        body=announcement.body,
        signature=announcement.signature,
        school_name=school_name,
        pupil_name=pupil.given_name if pupil else "",
        pupil_full_name=pupil.full_name if pupil else "",
        recipient_name=delivery.recipients[0].name if len(delivery.recipients) == 1 else "",
        audience="pupil" if to_pupil else "guardian",
        reason=delivery.reason.value if delivery.reason else "",
    )


def letter_item(notice: Notice, person_name: str, school_name: str, lang: str) -> LetterItem:
    """A notice's part of a household's letter."""
    if isinstance(notice, AnnouncementNotice):
        return LetterItem(person_name, notice.kind_title, notice.body, notice.signature)
    if isinstance(notice, InviteNotice):
        expires = format_date(date.fromisoformat(notice.expires_on), lang)
        return LetterItem(
            person_name,
            M_INVITE_LETTER_TITLE(lang),
            M_INVITE_LETTER_BODY(lang, code=notice.code, expires=expires),
            school_name,
        )
    raise TypeError(f"{type(notice).__name__} is not sent by letter")


def group_html(announcement: Announcement) -> str:
    body = escape(announcement.body).replace("\n", "<br>")
    return f"{body}<br><br><i>{escape(announcement.signature)}</i>"
