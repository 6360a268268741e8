"""The texts the chat front end and the use cases say to people (gettext msgids: English;
translations in `bot/locale`). Rule modules keep their own refusals next to the rule."""

from __future__ import annotations

from bot.domain import Role
from bot.i18n import Msg

M_CLASS_NOT_FOUND = Msg(
    "Class {ref!r} does not exist. Pick a class code from `klasbot classes`, e.g. 2B."
)
M_CLASS_AMBIGUOUS = Msg(
    "Class code {ref!r} exists at more than one school; use the sourcedId: {candidates}."
)
M_PERSON_NOT_FOUND = Msg(
    "Person {ref!r} is not in the roster (use the sourcedId from the roster export)."
)
M_ANNOUNCEMENT_NOT_FOUND = Msg(
    "Announcement {ref} does not exist; `klasbot announcements` lists the ids."
)
M_UNKNOWN_PLATFORM = Msg("Unknown platform {platform!r}; choose from: {choices}.")
M_PLATFORM_NOT_CONFIGURED = Msg(
    "Platform {platform} is not configured; see the README for its settings."
)
M_PLATFORM_BINDS_GROUPS = Msg(
    "A teacher creates the {platform} group: create it, add the bot as administrator and send "
    "/link {klas} there. (Or pass an existing group's id with --chat.)"
)
M_GROUP_EXISTS = Msg("Class {klas} already has a group on {platform} (chat {chat}).")
M_CODE_UNKNOWN = Msg(
    "We don't know this code. Check the code in your letter or e-mail and try again."
)
M_CODE_USED = Msg("This code has already been used. Ask your mentor for a new code.")
M_CODE_EXPIRED = Msg("This code has expired. Ask your mentor for a new code.")
M_CODE_UNDER_AGE = Msg(
    "You are not 13 yet, so you can't join the class group. Don't worry: you get every "
    "message by e-mail or letter. On your 13th birthday you get a new code automatically."
)
M_LINKED = Msg("Done, {name}! Your account is linked.")
M_ADMITTED = Msg("You have been added to the class group of {klas}.")
M_ADMIT_PENDING = Msg("You will get an invitation to the class group of {klas}.")
M_PLATFORM_AGE = Msg(
    "{platform} requires you to be at least {age}; you get the messages of {klas} by e-mail or "
    "letter."
)
M_TOO_MANY_ATTEMPTS = Msg(
    "Too many wrong attempts from this account. For safety I won't check any codes or commands "
    "from it for a while; please try again after {time}."
)
M_THROTTLED_MAIL = Msg(
    "An account on {platform} that is not linked to anyone ({account}) sent {attempts} wrong "
    "link codes or commands within {minutes} minutes. Until {time} the bot refuses everything "
    "it sends, correct codes included; nothing was linked. If this happens again, someone may be "
    "trying to guess codes."
)
M_NOT_LINKED = Msg(
    "I don't know you yet. Link your account first with /start CODE (the code is in your letter or "
    "e-mail)."
)
M_ANNOUNCED = Msg(
    "Announcement {id} for {klas} is out: {group} in the group, {email} by e-mail, {post} by "
    "letter, {unreachable} unreachable."
)
M_HELD = Msg("It is quiet hours now; the message goes out at {time}.")
M_UNREACHABLE_WARNING = Msg("Note: these pupils cannot be reached through any channel: {pupils}.")
# Who is told about them, truthfully: the author by e-mail when they have an address, school
# leadership when the roster or the configuration knows it (`bot.outbox.Told`). `when` is
# `M_AT_TIME` or `M_ON_DAY_AT`.
M_UNREACHABLE_TOLD_BOTH = Msg(
    "You and school leadership get their names by e-mail {when}, in the day's overview."
)
M_UNREACHABLE_TOLD_AUTHOR = Msg(
    "You get their names by e-mail {when}, in the day's overview. School leadership is not "
    "told: neither the roster nor the configuration has an address for it."
)
M_UNREACHABLE_TOLD_LEADERSHIP = Msg(
    "School leadership gets their names by e-mail {when}. You are not mailed: the roster has no "
    "e-mail address for you."
)
M_UNREACHABLE_TOLD_NOBODY = Msg(
    "Nobody is told by e-mail: the roster has no e-mail address for you, and neither the roster "
    "nor the configuration has one for school leadership. Please inform them in another way."
)
M_AT_TIME = Msg("at {time}")
M_ON_DAY_AT = Msg("on {date} at {time}")
M_REPEATED = Msg("Note: this was already sent as #{id} {when}.")
M_LATE_LETTERS = Msg(
    "Note: a letter cannot arrive before {date} (at the earliest on {arrives}), and only a letter "
    "reaches: {pupils}. Please inform them in another way; the letters are printed all the same."
)
M_CALL_LIST_MAILED = Msg("Their guardians' names and addresses are on their way to you by e-mail.")
M_CALL_LIST_NOT_MAILED = Msg(
    "The roster has no e-mail address for you, so no list of their addresses is mailed; the "
    "office has their contact details."
)
M_GROUP_ONLY_BOT = Msg(
    "Only the bot posts in this group. Send your question privately to your mentor."
)
M_BIND_IN_GROUP = Msg("Send /link CLASS in the group you want to bind, not privately.")
M_BOUND = Msg("This group is now the class group of {klas}. Only the bot posts here.")
M_CHAT_BOUND_ELSEWHERE = Msg(
    "Chat {chat} is already bound to a class; `klasbot groups` shows which."
)
M_GROUP_LOST_MAIL = Msg(
    "The bot was removed from the class group of {klas} on {platform}. Until the group is bound "
    "again, pupils get the messages by e-mail or letter."
)
# `/melden` and `/escaleren` (`bot.usecases.reports`): forwarded only when it was queued for
# someone; otherwise kept, and the admin is warned (never a reply claiming what did not happen).
M_REPORTED = Msg(
    "Thank you. Your report (number {number}) has been forwarded to school leadership and kept "
    "in the dossier."
)
M_ESCALATED = Msg(
    "Your escalation (number {number}) has been forwarded to school leadership (protocol B.3) "
    "and kept in the dossier."
)
M_REPORT_KEPT = Msg(
    "Thank you. Your report (number {number}) has been kept in the dossier, but it could not "
    "be forwarded: no address of school leadership is known yet. The school's administrator is "
    "warned about this."
)
M_ESCALATION_KEPT = Msg(
    "Your escalation (number {number}) has been kept in the dossier, but it could not be "
    "forwarded: no address of school leadership is known yet. The school's administrator is "
    "warned about this."
)
M_HELP_HEADER = Msg("This is what you can do here:")
M_NOT_STAFF = Msg("Only teachers may use /{name}. You can use: {allowed}.")
M_CANCELLED = Msg("Cancelled; nothing was sent.")
M_PREVIEW_EXPIRED = Msg("This preview has expired; send the command again.")
M_NOT_YOUR_PREVIEW = Msg("This preview is not yours.")
M_NOTHING_TO_CONFIRM = Msg(
    "No message is waiting for confirmation. Send a command first, e.g. /homework."
)
M_SILENT_IN_LESSONS = Msg(
    "The group gets it silently: lessons are running then (no phone buzzes in class)."
)
"""A preview's note (A.1): the group post goes out while lessons run."""


ROLE_NAMES: dict[Role, Msg] = {
    Role.PUPIL: Msg("pupil", context="role"),
    Role.GUARDIAN: Msg("parent/guardian", context="role"),
    Role.TEACHER: Msg("teacher", context="role"),
    Role.LEADERSHIP: Msg("school leadership", context="role"),
    Role.OTHER: Msg("other", context="role"),
}
"""A role as people read it (the demo, a report's reporter, a dossier)."""


def role_name(role: str, lang: str) -> str:
    """`ROLE_NAMES` for a role's value (`pupil`); a value that is no role is shown as it is."""
    try:
        return ROLE_NAMES[Role(role)](lang)
    except ValueError:
        return role
