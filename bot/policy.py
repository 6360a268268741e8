"""The school's choices that the rules depend on, as one plain value built by the bootstrap."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain import Kind
from bot.ports import PlatformCapabilities
from bot.rules.age import effective_minimum
from bot.rules.content import NO_PUBLIC_CONTACTS, PublicContacts
from bot.rules.kinds import DEFAULT_ALLOWED_KINDS
from bot.rules.quiet_hours import QuietHours


@dataclass(frozen=True, slots=True)
class SchoolPolicy:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Amsterdam"))
    language: str = "nl"
    allowed_kinds: tuple[Kind, ...] = DEFAULT_ALLOWED_KINDS
    quiet_hours: QuietHours | None = field(default_factory=QuietHours)
    pupil_email_from_age: int | None = 16
    leadership_emails: tuple[str, ...] = ()
    invite_valid_days: int = 14
    school_name: str = ""
    reply_to: str | None = None
    public_contacts: PublicContacts = NO_PUBLIC_CONTACTS
    """The school's own published phone numbers, addresses and IBANs: rule 5 allows them."""
    platforms: dict[str, PlatformCapabilities] = field(default_factory=dict)
    """Every platform klasbot knows, with what it declares it can do and the minimum age the
    school configured for it: the same table for every command, whether the platform is
    connected in this process or not."""

    def min_age(self, platform: str) -> int:
        """Rule 1: the effective minimum age for a group on `platform` (13, or more when the
        platform or the school demands it)."""
        capabilities = self.platforms.get(platform)
        return effective_minimum(capabilities.min_age if capabilities else None)

    def capabilities(self, platform: str) -> PlatformCapabilities | None:
        return self.platforms.get(platform)

    def release_at(self, instant: datetime, kind: Kind) -> datetime | None:
        """Rule 8, decided here for every caller: when something of `kind` that is due at
        `instant` may go out, or None when it may go out then."""
        if self.quiet_hours is None:
            return None
        return self.quiet_hours.release_at(instant, self.timezone, kind)
