"""Announcement drafts waiting for their author's confirmation, as text that survives a restart
(platforms keep them in their platform state between the preview and the button or `!ja`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from bot.domain import AnnouncementDraft


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
    return AnnouncementDraft(**data)
