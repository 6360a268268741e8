"""Chat commands that announce, turned into the draft the announcing use case checks, and drafts
as text that survives a restart (kept between the preview and the confirmation)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from bot import commands as cmd
from bot.domain import AnnouncementDraft, Kind


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
    if isinstance(command, cmd.Reminder) and (command.when is None or not command.when.recurring):
        at = command.when.at if command.when is not None else None
        return AnnouncementDraft(
            command.class_ref, author_id, Kind.REMINDER, text=command.text, not_before=at
        )
    return None


def draft_to_json(draft: AnnouncementDraft) -> str:
    def encode(value: Any) -> Any:
        return value.isoformat() if isinstance(value, date | datetime) else value

    return json.dumps({k: encode(v) for k, v in asdict(draft).items()})


def draft_from_json(raw: str) -> AnnouncementDraft:
    data = json.loads(raw)
    if data.get("date"):
        data["date"] = date.fromisoformat(data["date"])
    if data.get("not_before"):
        data["not_before"] = datetime.fromisoformat(data["not_before"])
    data["kind"] = Kind(data["kind"])
    return AnnouncementDraft(**data)
