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


@dataclass(frozen=True, slots=True)
class InviteNotice(Notice):
    """A one-time link code, to the person it links or (for a pupil) where their mail goes."""

    template: ClassVar[str] = "invite"
    code: str
    expires_on: str
    class_code: str
    school_name: str
    recipient_name: str
    audience: str  # "pupil", "guardian" (about their child) or "person" (staff, a guardian)
    pupil_name: str | None = None
    pupil_full_name: str | None = None


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


@dataclass(frozen=True, slots=True)
class UnreachableNotice(Notice):
    """Rule 6: pupils no channel reaches, told to the author and leadership."""

    template: ClassVar[str] = "unreachable"
    announcement_id: int
    class_code: str
    summary: str
    pupils: tuple[str, ...]
    school_name: str


NOTICE_TYPES: dict[str, type[Notice]] = {
    cls.template: cls for cls in (AnnouncementNotice, InviteNotice, ReportNotice, UnreachableNotice)
}


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
        values["pupils"] = tuple(values["pupils"])
    return cls(**values)
