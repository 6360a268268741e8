"""What the Matrix adapter itself says (the core says the rest), in Dutch and English."""

from __future__ import annotations

from bot.i18n import Msg

M_CONFIRM = Msg(
    "This is how the message will appear in the group. Send !yes to send it or !no to cancel."
)
M_TRY_LATER = Msg(
    "That did not work because of a problem at the chat server. Please try again in a few minutes."
)
# The kick reason is visible to everyone in the room, so it never says why this person may not be
# there (an age is personal data, A.2); the person hears that privately.
M_KICK_REASON = Msg(
    "Only pupils (13+) and staff of this class can be in this group (protocol B.1)."
)
M_REMOVED_AGE = Msg(
    "You were removed from the class group: you must be at least {age} to be in it. "
    "Don't worry: you get every message of your class by e-mail or letter."
)
M_REDACT_REASON = Msg("Only the bot posts in this group.")
M_TOPIC = Msg(
    "Announcements for {klas}. Only the bot posts here; send questions privately to your mentor."
)
