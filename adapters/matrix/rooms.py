"""What a class room looks like: pure functions over Matrix event contents, no I/O.

A class room is private and invite-only (rule 2: only the roster may be in it), unencrypted (see
the README: the bot must read membership and redact, and announcements carry no personal data),
with history visible from the moment one joined (each pupil gets each announcement through
exactly one channel, rule 6), no guests, and power levels that leave posting, inviting, kicking
and changing state to the bot — and, when the school allows it, the class's staff (rule 3).

Power levels are edited on the room's existing `m.room.power_levels` event rather than written
whole, so the homeserver's own defaults (and a room version's rules) survive: in room version 12
(MSC4289) the room's creators have unlimited power and must not be listed in `users`.
"""

from __future__ import annotations

import copy
from typing import Any

from bot.domain import ClassRoster

BOT = 100
STAFF = 50
MEMBER = 0

# State that only the bot may change: who may do what, who may join, who sees the history.
BOT_ONLY_EVENTS = (
    "m.room.power_levels",
    "m.room.join_rules",
    "m.room.history_visibility",
    "m.room.guest_access",
    "m.room.encryption",
    "m.room.tombstone",
    "m.room.server_acl",
)
STAFF_EVENTS = (
    "m.room.name",
    "m.room.topic",
    "m.room.avatar",
    "m.room.canonical_alias",
    "m.room.pinned_events",
)


def room_name(roster: ClassRoster) -> str:
    """`Klas 2B — De Passie Utrecht`."""
    title = roster.school_class.title or f"Klas {roster.school_class.code}"
    return f"{title} — {roster.school.name}" if roster.school.name else title


def initial_state() -> list[dict[str, Any]]:
    return [
        {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "invite"}},
        {
            "type": "m.room.history_visibility",
            "state_key": "",
            "content": {"history_visibility": "joined"},
        },
        {"type": "m.room.guest_access", "state_key": "", "content": {"guest_access": "forbidden"}},
    ]


def creators_have_power(room_version: str) -> bool:
    """Room version 12 and its unstable predecessor (MSC4289): creators outrank every level and
    may not appear in the power levels' `users`."""
    if room_version.startswith("org.matrix.hydra."):
        return True
    return room_version.isdigit() and int(room_version) >= 12


def class_room_power_levels(
    current: dict[str, Any], *, bot: str, room_version: str
) -> dict[str, Any]:
    """The room's power levels with the class-room policy applied (a new dict)."""
    levels = copy.deepcopy(current)
    levels["users_default"] = MEMBER
    levels["events_default"] = STAFF  # members (0) cannot post
    for key in ("invite", "kick", "ban", "redact", "state_default"):
        levels[key] = max(int(levels.get(key, STAFF)), STAFF)
    events = dict(levels.get("events") or {})
    for event_type in STAFF_EVENTS:
        events[event_type] = max(int(events.get(event_type, STAFF)), STAFF)
    for event_type in BOT_ONLY_EVENTS:
        events[event_type] = BOT
    levels["events"] = events
    notifications = dict(levels.get("notifications") or {})
    notifications["room"] = max(int(notifications.get("room", STAFF)), STAFF)
    levels["notifications"] = notifications
    users = dict(levels.get("users") or {})
    if creators_have_power(room_version):
        users.pop(bot, None)
    else:
        users[bot] = BOT
    levels["users"] = users
    return levels


def with_user_level(current: dict[str, Any], user_id: str, level: int) -> dict[str, Any] | None:
    """`current` with `user_id` at `level`, or None when nothing changes."""
    users = dict(current.get("users") or {})
    if users.get(user_id, current.get("users_default", 0)) == level:
        return None
    levels = copy.deepcopy(current)
    if level == levels.get("users_default", 0):
        users.pop(user_id, None)
    else:
        users[user_id] = level
    levels["users"] = users
    return levels


def user_level(levels: dict[str, Any], user_id: str) -> int:
    return int((levels.get("users") or {}).get(user_id, levels.get("users_default", 0)))
