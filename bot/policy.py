"""The school's choices that the rules depend on, as one plain value built by the bootstrap."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.rules.kinds import DEFAULT_ALLOWED_KINDS
from bot.rules.quiet_hours import QuietHours


@dataclass(frozen=True, slots=True)
class SchoolPolicy:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Amsterdam"))
    language: str = "nl"
    allowed_kinds: tuple[str, ...] = DEFAULT_ALLOWED_KINDS
    quiet_hours: QuietHours | None = field(default_factory=QuietHours)
    pupil_email_from_age: int | None = 16
    leadership_emails: tuple[str, ...] = ()
    invite_valid_days: int = 14
    school_name: str = ""
    reply_to: str | None = None
