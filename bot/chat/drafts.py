"""Chat commands that announce, turned into the draft the announcing use case checks, and drafts
as text that survives a restart (kept between the preview and the confirmation)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from bot import commands as cmd
from bot.domain import AnnouncementDraft, Kind


@dataclass(frozen=True)
class ScheduleDraft:
    """A reminder for a later moment or a repetition, kept between its preview and its
    confirmation; `when` is the normalised moment (`bot.when.When.text`), read again when it
    is confirmed."""

    class_id: str
    author_id: str
    when: str
    text: str
    kind: str = Kind.REMINDER.value


def schedule_draft_for(command: Any, author_id: str) -> ScheduleDraft | None:
    """The schedule a reminder with a moment asks for; None for anything else (a reminder
    without a moment goes out now, as an announcement)."""
    if isinstance(command, cmd.Reminder) and command.when is not None:
        return ScheduleDraft(command.class_ref, author_id, command.when.text, command.text)
    return None


def draft_for(command: Any, author_id: str) -> AnnouncementDraft | None:
    """The draft of an announcing command; None for a command that announces nothing now."""
    if isinstance(command, cmd.LessonCancelled):
        return AnnouncementDraft(
            command.class_ref,
            author_id,
            Kind.LESSON_CANCELLED,
            date=command.date,
            period=command.period,
            subject=command.subject,
            text=command.text,
        )
    if isinstance(command, cmd.Homework):
        return AnnouncementDraft(
            command.class_ref,
            author_id,
            Kind.HOMEWORK,
            date=command.date,
            subject=command.subject,
            text=command.text,
        )
    if isinstance(command, cmd.Trip):
        return AnnouncementDraft(
            command.class_ref, author_id, Kind.TRIP, date=command.date, text=command.text
        )
    if isinstance(command, cmd.Reminder) and command.when is None:
        return AnnouncementDraft(command.class_ref, author_id, Kind.REMINDER, text=command.text)
    return None


def draft_to_json(draft: AnnouncementDraft | ScheduleDraft) -> str:
    if isinstance(draft, ScheduleDraft):
        return json.dumps({"schedule": asdict(draft)})

    def encode(value: Any) -> Any:
        return value.isoformat() if isinstance(value, date | datetime) else value

    return json.dumps({k: encode(v) for k, v in asdict(draft).items()})


def draft_from_json(raw: str) -> AnnouncementDraft | ScheduleDraft:
    data = json.loads(raw)
    if "schedule" in data:
        return ScheduleDraft(**data["schedule"])
    if data.get("date"):
        data["date"] = date.fromisoformat(data["date"])
    if data.get("not_before"):
        data["not_before"] = datetime.fromisoformat(data["not_before"])
    data["kind"] = Kind(data["kind"])
    return AnnouncementDraft(**data)
