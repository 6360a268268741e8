"""What the Telegram adapter itself says (the core says the rest), in Dutch and English."""

from __future__ import annotations

from bot.i18n import Msg

# The administrator rights the bot needs in a class group, with the names Telegram's apps show.
RIGHTS: dict[str, Msg] = {
    # Rule 2: strangers are removed; rule 3: members are made read-only.
    "can_restrict_members": Msg("Ban users"),
    # Linked pupils get a join-request link; the bot answers the requests.
    "can_invite_users": Msg("Invite users via link"),
    # Rule 3: a member's message that slips through is deleted.
    "can_delete_messages": Msg("Delete messages"),
}

NOT_ADMIN = Msg(
    "I cannot bind this group yet: I am not an administrator. Make me an administrator with "
    "the rights {rights} and send {command} again."
)
MISSING_RIGHTS = Msg(
    "I cannot bind this group yet: as administrator I lack {rights}. Give me that right "
    "(Manage group → Administrators → klasbot) and send {command} again."
)
BOUND_DONE = Msg(
    "What I did: members can no longer post here (read-only), and there is an invite link "
    "for which I check every request: {link}\n"
    "Pupils get that link privately as soon as they link their account; I only let in "
    "pupils (13+) and teachers of {klas}. I cannot see who was in here before binding: "
    "preferably start with a new, empty group."
)
BOUND_PROBLEM = Msg(
    "Note: {what} did not work ({error}). Check my administrator rights and send {command} again."
)
WHAT_READ_ONLY = Msg("making members read-only")
WHAT_INVITE_LINK = Msg("creating the invite link")

INVITE = Msg(
    "You can now join the class group{title}. Tap the button (or the link) and ask to "
    "join; I will let you in.\n{link}"
)
INVITE_BUTTON = Msg("Open the class group")

JOIN_DECLINED = Msg(
    "Your request to join {title} was declined: only pupils (13+) and teachers of the class "
    "with a linked account can join. Do you have a code from school? Send me /start CODE."
)

PREVIEW = Msg(
    "Preview — this is how the announcement appears in the class group:\n\n{text}\n\nSend it?"
)
SEND_BUTTON = Msg("Send")
CANCEL_BUTTON = Msg("Cancel")

WELCOME_GROUP = Msg(
    "Hello! I am klasbot. Make me an administrator with the rights {rights}, then send "
    "/link CLASS (for example /link 2B) to bind this group to your class."
)
WELCOME_READY = Msg(
    "Hello! I am klasbot. Send /link CLASS (for example /link 2B) to bind this group to your class."
)
