"""Everything klasbot sends to a person by e-mail or letter, as one typed value per kind of message.

A notice is built by a use case (or by the dispatcher, for an announcement's fallback copy), stored
with its outbox row, and rendered by the mail and letter adapters: a missing field is a type error
where the notice is built, never a broken mail or a pupil re-routed to paper. The field names are
what the mail templates (`adapters/email/templates/<template>.*.j2`) read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Notice:
    template: ClassVar[str]
    """The mail template (and the stored type name) of this kind of notice."""
    mailed: ClassVar[bool] = True
    """Whether it goes out by e-mail and letter (and so has mail templates)."""

    def to_json(self) -> dict[str, Any]:
        return {"type": self.template, **dataclasses.asdict(self)}

    def fields(self) -> dict[str, Any]:
        """The values the templates read."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class AnnouncementNotice(Notice):
    """A pupil's fallback copy of an announcement (rule 6), to the pupil or their guardians."""

    template: ClassVar[str] = "announcement"
    announcement_id: int
    class_code: str
    kind: str
    kind_title: str
    body: str
    signature: str
    school_name: str
    pupil_name: str
    pupil_full_name: str
    recipient_name: str
    audience: str  # "pupil" (their own address) or "guardian"
    reason: str
    reply_to: str | None = None
    """Where replies go: the school's configured reply-to, else the author's own address
    (parents answer the teacher); None: no Reply-To."""


@dataclass(frozen=True, slots=True)
class InviteNotice(Notice):
    """A one-time link code, to the person it links or (for a pupil) where their mail goes.

    `platforms` are the chat apps it explains how to join on (those the school configured or
    the class has a group on, `"telegram"` and `"matrix"`); none: the code is sent to "the
    class bot" in the school's own terms. `telegram_bot` (the bot's username) makes the deep
    link `telegram_link` (and its QR code); `matrix_bot` is the bot's Matrix user id."""

    template: ClassVar[str] = "invite"
    code: str
    expires_on: str
    class_code: str
    school_name: str
    recipient_name: str
    audience: str  # "pupil", "guardian" (about their child) or "person" (staff, a guardian)
    pupil_name: str | None = None
    pupil_full_name: str | None = None
    platforms: tuple[str, ...] = ()
    telegram_bot: str | None = None
    matrix_bot: str | None = None

    def __post_init__(self) -> None:
        # Stored as JSON, read back as a list.
        object.__setattr__(self, "platforms", tuple(self.platforms))

    @property
    def telegram_link(self) -> str | None:
        """`https://t.me/<bot>?start=<code>`: opened in Telegram, it sends `/start <code>` to the
        bot. None without the bot's username or the code (a delivered notice keeps none)."""
        if "telegram" not in self.platforms or not self.telegram_bot or not self.code:
            return None
        return f"https://t.me/{self.telegram_bot}?start={self.code}"

    def fields(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "telegram_link": self.telegram_link}


@dataclass(frozen=True, slots=True)
class ReportNotice(Notice):
    """A report (A.9), an escalation (B.3) or a notice about a group, for school leadership."""

    template: ClassVar[str] = "report"
    kind: str  # "report", "escalation" or "notice"
    reporter: str
    text: str
    created_at: str
    school_name: str
    class_code: str | None = None
    report_id: int | None = None
    """The report's number (`klasbot reports show|close N`); None for a notice about a group."""
    platform: str | None = None
    """Where the report was sent: its chat platform (`telegram`, `matrix`, `console`)."""
    group: str | None = None
    """The chat id of the class group it was sent in; None: a private chat with the bot."""


@dataclass(frozen=True, slots=True)
class UnreachableItem:
    """One announcement in the day's overview of pupils not reached, and whom it did not reach."""

    announcement_id: int
    class_code: str
    summary: str
    pupils: tuple[str, ...]  # full names


@dataclass(frozen=True, slots=True)
class UnreachableNotice(Notice):
    """Rule 6: the pupils no channel reached, collected per author per school day and listed per
    announcement (one mail a day, not one per announcement: `bot.outbox.add_unreachable_warning`).
    To the author and, when the school configured it, leadership."""

    template: ClassVar[str] = "unreachable"
    day: str  # the school day it reports on, ISO
    items: tuple[UnreachableItem, ...]
    school_name: str

    @property
    def pupil_count(self) -> int:
        return sum(len(item.pupils) for item in self.items)

    def adding(self, item: UnreachableItem) -> UnreachableNotice:
        """This overview with `item`'s pupils added (under its announcement, once each)."""
        items = list(self.items)
        for n, known in enumerate(items):
            if known.announcement_id == item.announcement_id:
                pupils = (*known.pupils, *(p for p in item.pupils if p not in known.pupils))
                items[n] = dataclasses.replace(known, pupils=pupils)
                break
        else:
            items.append(item)
        return dataclasses.replace(self, items=tuple(items))

    def fields(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "pupil_count": self.pupil_count}

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> UnreachableNotice:
        if "items" not in values:  # a warning about one announcement, stored before overviews
            item = UnreachableItem(
                values["announcement_id"],
                values["class_code"],
                values["summary"],
                tuple(values["pupils"]),
            )
            return cls(day="", items=(item,), school_name=values["school_name"])
        items = tuple(
            UnreachableItem(**{**i, "pupils": tuple(i["pupils"])}) for i in values["items"]
        )
        return cls(day=values["day"], items=items, school_name=values["school_name"])


@dataclass(frozen=True, slots=True)
class CallListEntry:
    """A household a letter cannot reach in time: whom to contact "op een andere wijze" (B.1).
    No phone number: klasbot stores none; the school's administration has them."""

    pupil: str  # full name
    guardians: tuple[str, ...]  # the names the letter is addressed to
    address: str  # on one line


@dataclass(frozen=True, slots=True)
class LateLettersNotice(Notice):
    """Protocol B.1: for an announcement about a date, the pupils only a letter reaches whose
    letter cannot arrive before that date (`bot.rules.post`): the author gets the call list.
    The letters are printed all the same (they are the school's record)."""

    template: ClassVar[str] = "late-letters"
    announcement_id: int
    class_code: str
    summary: str
    date: str  # the date the announcement is about, ISO
    arrives_on: str  # the first day the letters can arrive, ISO
    entries: tuple[CallListEntry, ...]
    school_name: str

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> LateLettersNotice:
        entries = tuple(
            CallListEntry(**{**e, "guardians": tuple(e["guardians"])}) for e in values["entries"]
        )
        return cls(**{**values, "entries": entries})


@dataclass(frozen=True, slots=True)
class WithdrawalNotice(Notice):
    """An announcement was withdrawn after this recipient got it by e-mail or letter: they get
    the withdrawal through the same channel (`bot.usecases.undo`)."""

    template: ClassVar[str] = "withdrawal"
    announcement_id: int
    class_code: str
    kind_title: str
    summary: str  # the announcement's text as the recipient got it
    reason: str  # why it was withdrawn ("" when no reason was given)
    signature: str
    school_name: str
    pupil_name: str
    recipient_name: str
    audience: str  # "pupil" (their own address) or "guardian"


@dataclass(frozen=True, slots=True)
class CorrectionNotice(Notice):
    """An announcement's text was corrected after this recipient got it by e-mail or letter."""

    template: ClassVar[str] = "correction"
    announcement_id: int
    revision: int
    class_code: str
    kind_title: str
    body: str  # the corrected announcement
    signature: str
    school_name: str
    pupil_name: str
    recipient_name: str
    audience: str


@dataclass(frozen=True, slots=True)
class GroupEditNotice(Notice):
    """Edit a group post of a withdrawn or corrected announcement (a group row, not a mail):
    the dispatcher renders the announcement as it is when the edit goes out."""

    template: ClassVar[str] = "group-edit"
    mailed: ClassVar[bool] = False
    announcement_id: int
    message_id: str
    revision: int  # the correction it carries; -1 for a withdrawal


@dataclass(frozen=True, slots=True)
class ScheduleNotice(Notice):
    """To a schedule's author: an occurrence did not go out — missed while klasbot was down
    (past the grace period, `outcome` "missed") or refused by the rules when it came due
    (`outcome` "refused", `reason` says why). Dates and times are in words already."""

    template: ClassVar[str] = "schedule-missed"
    schedule_id: int
    outcome: str
    class_code: str
    when: str
    occurrence: str
    text: str
    school_name: str
    recipient_name: str
    reason: str | None = None


NOTICE_TYPES: dict[str, type[Notice]] = {
    cls.template: cls for cls in (AnnouncementNotice, InviteNotice, ReportNotice, UnreachableNotice)
}
NOTICE_TYPES.update(
    (cls.template, cls) for cls in (WithdrawalNotice, CorrectionNotice, GroupEditNotice)
)
NOTICE_TYPES[LateLettersNotice.template] = LateLettersNotice
NOTICE_TYPES[ScheduleNotice.template] = ScheduleNotice


def delivered(notice: Notice) -> Notice:
    """What is kept of a notice once it went out: a link code is in the e-mail or the posted
    letter, never in the database (only its hash is, `bot.codes`)."""
    if isinstance(notice, InviteNotice) and notice.code:
        return dataclasses.replace(notice, code="")
    return notice


def notice_from_json(data: dict[str, Any]) -> Notice:
    """The inverse of `Notice.to_json` (raises KeyError or TypeError for a malformed value)."""
    values = dict(data)
    cls = NOTICE_TYPES[values.pop("type")]
    if cls is UnreachableNotice:
        return UnreachableNotice.from_values(values)
    if cls is LateLettersNotice:
        return LateLettersNotice.from_values(values)
    return cls(**values)


# --- the daily sweep (`bot.usecases.sweep`) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupPostNotice(Notice):
    """A post of klasbot's own in a class group (a group row, not a mail), such as the closing
    post at the end of the school year. Its text is written in the school's language when it is
    queued and goes out as it is; it is signed by the school, not by a teacher."""

    template: ClassVar[str] = "group-post"
    mailed: ClassVar[bool] = False
    text: str
    purpose: str  # what it is for: "year-end"


@dataclass(frozen=True, slots=True)
class ExpiredCodesNotice(Notice):
    """To a class's mentor: the pupils whose link code expired unused between `since` and
    `until` (ISO dates), so they are still not in the class group. Names go to staff only (A.2
    keeps them out of the group, not from the pupils' mentor)."""

    template: ClassVar[str] = "expired-codes"
    class_code: str
    school_name: str
    recipient_name: str
    since: str
    until: str
    pupils: tuple[tuple[str, str], ...]  # (full name, the day the code expired, ISO)

    def __post_init__(self) -> None:
        # Stored as JSON, read back as lists.
        object.__setattr__(self, "pupils", tuple(tuple(p) for p in self.pupils))


@dataclass(frozen=True, slots=True)
class YearEndNotice(Notice):
    """To a class's staff on the school year's last day (`year_end`, ISO): the class group on
    each of `platforms` was archived (closing post, members removed, pupils reached by e-mail or
    letter from now on) and `schedules` scheduled messages of the class were cancelled."""

    template: ClassVar[str] = "year-end"
    class_code: str
    school_name: str
    year_end: str
    platforms: tuple[str, ...]
    schedules: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "platforms", tuple(self.platforms))


NOTICE_TYPES.update(
    (cls.template, cls) for cls in (GroupPostNotice, ExpiredCodesNotice, YearEndNotice)
)
