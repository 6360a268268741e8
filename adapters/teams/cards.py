"""Adaptive Cards for Teams: an announcement (its text is the plain-text fallback too) and a
preview with the buttons that confirm or cancel it (`Action.Submit`)."""

from __future__ import annotations

from typing import Any

from microsoft_agents.activity import Activity, ActivityTypes, Attachment

CARD = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def _card(text: str, actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    blocks = [part for part in text.split("\n\n") if part.strip()] or [text]
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "$schema": SCHEMA,
        "fallbackText": text,
        "body": [
            {
                "type": "TextBlock",
                "text": block,
                "wrap": True,
                **({"weight": "Bolder"} if i == 0 and len(blocks) > 1 else {}),
                **({"isSubtle": True} if i == len(blocks) - 1 and len(blocks) > 2 else {}),
            }
            for i, block in enumerate(blocks)
        ],
    }
    if actions:
        card["actions"] = actions
    return card


def submit(title: str, data: dict[str, str]) -> dict[str, Any]:
    return {"type": "Action.Submit", "title": title, "data": {"klasbot": data}}


def card_activity(
    text: str, actions: list[dict[str, Any]] | None = None, *, summary: str | None = None
) -> Activity:
    """A message with the text (what a client without cards, and the notification, shows) and
    the same text as an Adaptive Card."""
    return Activity(
        type=ActivityTypes.message,
        text=text,
        summary=summary or text.split("\n", 1)[0][:200],
        attachments=[Attachment(content_type=CARD, content=_card(text, actions))],
    )


def submitted(value: Any) -> dict[str, str] | None:
    """The data of one of our `Action.Submit` buttons, when the activity is one."""
    if isinstance(value, dict) and isinstance(value.get("klasbot"), dict):
        return {str(k): str(v) for k, v in value["klasbot"].items()}
    return None
