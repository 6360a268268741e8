"""What an incoming Teams activity says: the command text, the channel and team it came from,
and the school account names of a member."""

from __future__ import annotations

import re

from microsoft_agents.activity import Activity, ChannelAccount

_SPACE = re.compile(r"(?:&nbsp;|\s)+")


def clean(text: str | None) -> str:
    """The command text of a message (the mention is stripped by the SDK)."""
    return _SPACE.sub(" ", re.sub(r"<at>.*?</at>", "", text or "")).strip()


def channel_of(activity: Activity) -> str:
    """The channel's conversation id, without the thread (`;messageid=...`)."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    channel = data.get("teamsChannelId") or (data.get("channel") or {}).get("id")
    return str(channel or activity.conversation.id).split(";messageid=")[0]


def team_of(activity: Activity) -> str | None:
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = data.get("teamsTeamId") or (data.get("team") or {}).get("id")
    return str(team) if team else None


def member_names(member: ChannelAccount) -> list[str]:
    """The school account names Teams reports for a member (user principal name, e-mail)."""
    extra = member.model_extra or {}
    names = [extra.get("userPrincipalName"), extra.get("email")]
    names += [getattr(member, "user_principal_name", None), getattr(member, "email", None)]
    return list(dict.fromkeys(str(n) for n in names if n))
