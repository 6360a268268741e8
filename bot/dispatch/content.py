"""What a delivery says: the mail or letter item of an outbox row, from its typed notice or, for an
announcement's fallback copy, from the announcement."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from html import escape

from bot import notice_texts as t
from bot.dates import format_date
from bot.dispatch.undo_content import undo_letter_item
from bot.domain import Announcement, ContactPreference, Delivery, Person
from bot.notices import AnnouncementNotice, CorrectionNotice, InviteNotice, Notice, WithdrawalNotice
from bot.policy import SchoolPolicy
from bot.ports import LetterItem
from bot.repositories import Repositories
from bot.rules import kinds


@dataclass(frozen=True, slots=True)
class Sender:
    """Whom an announcement's fallback copy is from: the school (as `SchoolPolicy` names it) and
    where replies go."""

    school_name: str
    reply_to: str | None = None
    policy: SchoolPolicy | None = None
    """The policy of the announcement's school (`SchoolPolicy.for_school`)."""


async def announcement_senders(
    tx: Repositories, policy: SchoolPolicy, announcements: Iterable[Announcement]
) -> dict[int, Sender]:
    """The sender of each announcement's copies, by announcement id: its class's school, and
    replies to the school's configured address, else to the author's own (parents answer the
    teacher who wrote it; `SchoolPolicy.replies_to`)."""
    wanted = list(announcements)
    if not wanted:
        return {}
    # The schools, and the classes of these announcements only: every batch of the outbox asks,
    # and a board's classes with their pupils counted took as long as the roster was big.
    schools = await tx.roster.class_schools()
    by_id = {school.id: school for school in schools}
    school_of: dict[str, str] = {}
    for class_id in {a.class_id for a in wanted}:
        found = await tx.roster.find_classes(class_id)
        if found:
            school_of[class_id] = found[0].school_id
    authors = await tx.roster.persons({a.author_id for a in wanted})
    senders = {}
    for a in wanted:
        author = authors.get(a.author_id)
        contactable = author is not None and author.preference != ContactPreference.NONE
        school_id = school_of.get(a.class_id)
        own = policy.for_school(by_id.get(school_id) if school_id else None)
        senders[a.id] = Sender(
            policy.name_of_school(schools, school_id),
            own.replies_to(author.email if author and contactable else None),
            own,
        )
    return senders


def announcement_notice(
    announcement: Announcement,
    delivery: Delivery,
    pupil: Person | None,
    class_code: str,
    sender: Sender | None,
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
        school_name=sender.school_name if sender else "",
        pupil_name=pupil.given_name if pupil else "",
        pupil_full_name=pupil.full_name if pupil else "",
        recipient_name=delivery.recipients[0].name if len(delivery.recipients) == 1 else "",
        audience="pupil" if to_pupil else "guardian",
        reason=delivery.reason.value if delivery.reason else "",
        reply_to=sender.reply_to if sender else None,
    )


def letter_item(notice: Notice, person_name: str, school_name: str, lang: str) -> LetterItem:
    """A notice's part of a household's letter, speaking to its reader (`LetterItem.audience`).
    `school_name` is for a notice that names no school (stored before notices did)."""
    if isinstance(notice, AnnouncementNotice):
        return _announcement_item(notice, person_name, school_name, lang)
    if isinstance(notice, InviteNotice):
        return _invite_item(notice, person_name, school_name, lang)
    if isinstance(notice, WithdrawalNotice | CorrectionNotice):
        return undo_letter_item(notice, person_name, lang)
    raise TypeError(f"{type(notice).__name__} is not sent by letter")


def _announcement_item(
    notice: AnnouncementNotice, person_name: str, school_name: str, lang: str
) -> LetterItem:
    to_pupil = notice.audience == "pupil"
    pupil = notice.pupil_name or person_name
    note = t.reason_note(notice.reason, notice.audience, pupil, lang)
    if not to_pupil:
        # The announcement itself speaks to the pupils; the parent is told so.
        note = f"{note}\n{t.M_TO_THE_CLASS(lang)}"
    return LetterItem(
        person_name,
        t.M_ANNOUNCEMENT_TITLE(lang, kind=notice.kind_title, klas=notice.class_code),
        notice.body,
        notice.signature,
        note=note,
        school_name=notice.school_name or school_name,
        audience="pupil" if to_pupil else "guardian",
    )


def _invite_item(notice: InviteNotice, person_name: str, school_name: str, lang: str) -> LetterItem:
    school = notice.school_name or school_name
    pupil = notice.pupil_name or person_name
    klas = notice.class_code or "–"
    audience = notice.audience if notice.audience in ("pupil", "guardian") else "person"
    if audience == "pupil":
        title = t.M_INVITE_TITLE_TO_PUPIL(lang, klas=klas)
        intro = t.M_INVITE_GROUP_TO_PUPIL(lang, school=school, klas=klas)
        how = t.M_HOW_TO_PUPIL(lang)
    elif audience == "guardian":
        title = t.M_INVITE_TITLE_TO_PARENT(lang, pupil=pupil, klas=klas)
        intro = t.M_INVITE_GROUP_TO_PARENT(lang, school=school, klas=klas, pupil=pupil)
        how = t.M_HOW_TO_PARENT(lang, pupil=pupil)
    else:
        title = t.M_INVITE_TITLE_TO_PERSON(lang, school=school)
        intro = t.M_INVITE_TO_PERSON(lang, school=school)
        how = t.M_HOW_TO_PERSON(lang)
    expires = format_date(date.fromisoformat(notice.expires_on), lang)
    paragraphs = [
        intro,
        t.M_INVITE_CODE(lang, code=notice.code),
        t.M_INVITE_VALID(lang, date=expires),
    ]
    if audience == "pupil":
        paragraphs.append(t.M_OPT_OUT_TO_PUPIL(lang))
    elif audience == "guardian":
        paragraphs.append(t.M_OPT_OUT_TO_PARENT(lang, pupil=pupil))
    # The instructions last: the QR code of the link (`LetterItem.link`) follows them.
    paragraphs.append("\n".join([how, *join_instructions(notice, school, lang)]))
    return LetterItem(
        person_name,
        title,
        "\n\n".join(paragraphs),
        "",  # from the school, as the letter's closing says
        link=notice.telegram_link,
        school_name=school,
        audience="pupil" if audience == "pupil" else "guardian" if audience == "guardian" else "",
    )


def join_instructions(notice: InviteNotice, school: str, lang: str) -> list[str]:
    """How to use the code on each chat app the invitation names, one line each; without any,
    how to send it to the class bot."""
    lines = []
    for platform in notice.platforms:
        if platform == "telegram":
            link = notice.telegram_link
            if link and notice.telegram_bot:
                lines.append(t.M_HOW_TELEGRAM_LINK(lang, bot=notice.telegram_bot))
            else:
                lines.append(t.M_HOW_TELEGRAM(lang, school=school, code=notice.code))
        elif platform == "matrix":
            if notice.matrix_bot:
                lines.append(t.M_HOW_MATRIX(lang, bot=notice.matrix_bot, code=notice.code))
            else:
                lines.append(t.M_HOW_MATRIX_UNNAMED(lang, school=school, code=notice.code))
    lines = lines or [t.M_HOW_ANYWHERE(lang, school=school, code=notice.code)]
    # A command and its code stay on one line of the letter.
    return [line.replace("start ", "start\u00a0") for line in lines]


def group_html(announcement: Announcement) -> str:
    body = escape(announcement.body).replace("\n", "<br>")
    return f"{body}<br><br><i>{escape(announcement.signature)}</i>"
