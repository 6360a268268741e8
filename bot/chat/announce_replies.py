"""What the chat says about an announcement: its preview with what the author should know before
confirming (a repeat, letters that come too late), and, once sent, how it went out and who was
told what — only what is true (`bot.usecases.announcing.AnnounceResult`)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.dates import format_date
from bot.i18n import Localized
from bot.messages import (
    M_ANNOUNCED,
    M_CALL_LIST_MAILED,
    M_CALL_LIST_NOT_MAILED,
    M_HELD,
    M_LATE_LETTERS,
    M_REPEATED,
    M_SILENT_IN_LESSONS,
    M_UNREACHABLE_TOLD_AUTHOR,
    M_UNREACHABLE_TOLD_BOTH,
    M_UNREACHABLE_TOLD_LEADERSHIP,
    M_UNREACHABLE_TOLD_NOBODY,
    M_UNREACHABLE_WARNING,
)
from bot.outbox import Told
from bot.usecases.announcing import AnnounceResult, LateLetters, Preview, moment


def told_text(told: Told, lang: str, tz: ZoneInfo, now: datetime) -> str:
    """Who gets the names of the pupils nobody reached, by e-mail, and when."""
    if told.at is None or not told.anybody:
        return M_UNREACHABLE_TOLD_NOBODY(lang)
    when = moment(told.at, tz, now)
    if told.author and told.leadership:
        return M_UNREACHABLE_TOLD_BOTH(lang, when=when)
    if told.author:
        return M_UNREACHABLE_TOLD_AUTHOR(lang, when=when)
    return M_UNREACHABLE_TOLD_LEADERSHIP(lang, when=when)


def late_text(late: LateLetters, lang: str) -> str:
    return M_LATE_LETTERS(
        lang,
        pupils=", ".join(late.pupils),
        date=Localized(lambda lng: format_date(late.about, lng)),
        arrives=Localized(lambda lng: format_date(late.arrives_on, lng)),
    )


def preview_texts(preview: Preview, lang: str, tz: ZoneInfo, now: datetime) -> list[str]:
    """The signed text first, then a note for each thing to know before confirming."""
    texts = [preview.text]
    if preview.repeat_of is not None:
        earlier = preview.repeat_of
        texts.append(M_REPEATED(lang, id=earlier.id, when=moment(earlier.created_at, tz, now)))
    if preview.late is not None:
        texts.append(late_text(preview.late, lang))
    if preview.silent:
        texts.append(M_SILENT_IN_LESSONS(lang))
    return texts


def announced_texts(
    result: AnnounceResult, class_ref: str, lang: str, tz: ZoneInfo, now: datetime
) -> list[str]:
    """How it went out (per channel; held in quiet hours), then whom nobody reaches and who is
    told about them, then the letters that come too late and whether their call list is mailed."""
    texts = [M_ANNOUNCED(lang, id=result.announcement.id, klas=class_ref, **result.counts)]
    if result.held_until:
        local = result.held_until.astimezone(tz)
        texts.append(M_HELD(lang, time=local.strftime("%Y-%m-%d %H:%M")))
    if result.unreachable:
        names = result.unreachable_names or result.unreachable
        texts.append(M_UNREACHABLE_WARNING(lang, pupils=", ".join(names)))
        texts.append(told_text(result.told, lang, tz, now))
    if result.late is not None:
        texts.append(late_text(result.late, lang))
        texts.append((M_CALL_LIST_MAILED if result.late.mailed else M_CALL_LIST_NOT_MAILED)(lang))
    return texts
