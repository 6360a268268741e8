"""What an announcement's fallback copy and an invitation say to their reader, by whom they speak
to: the pupil ("je" in Dutch), the parent about their child ("u"), or a person about themself
("u"). The letters say all of it (`bot.dispatch.content`); the e-mails say why a copy comes to a
parent in these words too (`reason_note`), and the rest through their templates
(`adapters/email/templates`)."""

from __future__ import annotations

from bot.i18n import Msg

M_ANNOUNCEMENT_TITLE = Msg("{kind} – class {klas}")
M_TO_THE_CLASS = Msg("The message to the class:")
"""Before the announcement's own text on a parent's copy: it speaks to the pupils."""

# Why a pupil's copy comes this way, by the delivery's reason: to the pupil, then to the parent.
REASONS_TO_PUPIL: dict[str, Msg] = {
    "under-13": Msg(
        "You receive this message because you are not 13 yet: under the school's social media "
        "protocol, pupils may join the class group only from their 13th birthday."
    ),
    "age-unknown": Msg(
        "You receive this message because the school does not know your date of birth, and only "
        "pupils of 13 and older may join the class group."
    ),
    "platform-age": Msg(
        "You receive this message because the class group's app has a higher minimum age than "
        "you are now."
    ),
    "not-linked": Msg(
        "You receive this message because you have not linked an account to the class group yet."
    ),
    "not-joined": Msg(
        "You receive this message because you have linked an account but have not joined the "
        "class group yet."
    ),
    "opted-out": Msg(
        "You receive this message because you told us you do not want to be in the class group."
    ),
    "left-group": Msg(
        "You receive this message because you are not (or no longer) a member of the class group."
    ),
    "no-group": Msg(
        "You receive this message because your class has no working class group at the moment."
    ),
}
REASON_TO_PUPIL = Msg(
    "You receive this message because you cannot be reached through the class group at the moment."
)
REASONS_TO_PARENT: dict[str, Msg] = {
    "under-13": Msg(
        "You receive this message because your child {pupil} is not 13 yet: under the school's "
        "social media protocol, pupils may join the class group only from their 13th birthday."
    ),
    "age-unknown": Msg(
        "You receive this message because the school does not know the date of birth of your "
        "child {pupil}, and only pupils of 13 and older may join the class group."
    ),
    "platform-age": Msg(
        "You receive this message because the class group's app has a higher minimum age than "
        "your child {pupil} is now."
    ),
    "not-linked": Msg(
        "You receive this message because your child {pupil} has not linked an account to the "
        "class group yet."
    ),
    "not-joined": Msg(
        "You receive this message because your child {pupil} has linked an account but has not "
        "joined the class group yet."
    ),
    "opted-out": Msg(
        "You receive this message because we were told that your child {pupil} will not join "
        "the class group."
    ),
    "left-group": Msg(
        "You receive this message because your child {pupil} is not (or no longer) a member of "
        "the class group."
    ),
    "no-group": Msg(
        "You receive this message because the class of your child {pupil} has no working class "
        "group at the moment."
    ),
}
REASON_TO_PARENT = Msg(
    "You receive this message because your child {pupil} cannot be reached through the class "
    "group at the moment."
)
_SAME_AS = {"group-lost": "no-group", "group-pending": "no-group"}


def reason_note(reason: str, audience: str, pupil: str, lang: str) -> str:
    """Why this copy of an announcement comes by e-mail or post, said to its reader."""
    reason = _SAME_AS.get(reason, reason)
    if audience == "pupil":
        return REASONS_TO_PUPIL.get(reason, REASON_TO_PUPIL)(lang)
    return REASONS_TO_PARENT.get(reason, REASON_TO_PARENT)(lang, pupil=pupil)


# An invitation (a link code) on a letter.
M_INVITE_TITLE_TO_PUPIL = Msg("Your personal code for the class group of {klas}")
M_INVITE_TITLE_TO_PARENT = Msg("Personal code for {pupil} for the class group of {klas}")
M_INVITE_TITLE_TO_PERSON = Msg("Your personal code for the class bot of {school}")
M_INVITE_GROUP_TO_PUPIL = Msg(
    "{school} has a class group for class {klas} in a chat app. Only the school posts in it, and "
    "only practical matters: cancelled lessons, homework, reminders and trips. With your "
    "personal code you link your account and join the group."
)
M_INVITE_GROUP_TO_PARENT = Msg(
    "{school} has a class group for class {klas} in a chat app. Only the school posts in it, and "
    "only practical matters: cancelled lessons, homework, reminders and trips. With the personal "
    "code below, your child {pupil} can link an account and join the group. Would you please "
    "give the code to {pupil}, and to nobody else?"
)
M_INVITE_TO_PERSON = Msg(
    "With the personal code below you link your chat account to the class bot of {school}."
)
M_INVITE_CODE = Msg("Code: {code}")
M_INVITE_VALID = Msg("The code works once and is valid until {date} inclusive.")
M_HOW_TO_PUPIL = Msg("How to join:")
M_HOW_TO_PARENT = Msg("How {pupil} joins:")
M_HOW_TO_PERSON = Msg("How to link your account:")
M_HOW_TELEGRAM_LINK = Msg(
    "Telegram: scan the QR code below with the camera of a phone with Telegram, or open the link "
    "beside it there; it sends the code to the bot @{bot} by itself."
)
M_HOW_TELEGRAM = Msg(
    "Telegram: send the class bot of {school} the message /start {code} in a private chat."
)
M_HOW_MATRIX = Msg("Matrix: send {bot} the message !start {code} in a private chat.")
M_HOW_MATRIX_UNNAMED = Msg(
    "Matrix: send the class bot of {school} the message !start {code} in a private chat."
)
M_HOW_ANYWHERE = Msg("Send the class bot of {school} the message /start {code} in a private chat.")
M_OPT_OUT_TO_PUPIL = Msg(
    "Would you rather not join the group? Then there is nothing you need to do: you will keep "
    "receiving the class's messages by e-mail or post."
)
M_OPT_OUT_TO_PARENT = Msg(
    "Would you rather {pupil} did not join the group? Then there is nothing you need to do: you "
    "will keep receiving the class's messages by e-mail or post."
)


# A withdrawal or a correction of an announcement the reader got earlier (`bot.usecases.undo`):
# the same words in the e-mail (`withdrawal.*`, `correction.*`), on the letter and in the group.
M_WITHDRAWN_TITLE = Msg("Withdrawn: {kind} – class {cls}")
M_CORRECTED_TITLE = Msg("Corrected: {kind} – class {cls}")
M_WITHDRAWN_TO_PUPIL = Msg(
    "The message below, which you received earlier, has been withdrawn. It no longer applies."
)
M_WITHDRAWN_TO_PARENT = Msg(
    "The message below about {pupil}, which you received earlier, has been withdrawn. It no "
    "longer applies."
)
M_CORRECTED_TO_PUPIL = Msg(
    "The message you received earlier has been corrected. This is the correct version:"
)
M_CORRECTED_TO_PARENT = Msg(
    "The message about {pupil} that you received earlier has been corrected. This is the "
    "correct version:"
)
M_REASON = Msg("Reason: {reason}")


def undo_title(template: str, kind: str, class_code: str, lang: str) -> str:
    """`Ingetrokken: Lesuitval – klas 2B` (`template` "withdrawal") or `Correctie: …`."""
    title = M_WITHDRAWN_TITLE if template == "withdrawal" else M_CORRECTED_TITLE
    return title(lang, kind=kind, cls=class_code)


def undo_intro(template: str, audience: str, pupil: str, lang: str) -> str:
    """What happened to the message the reader got: to the pupil ("je"), else to the parent
    about their child ("u")."""
    if template == "withdrawal":
        if audience == "pupil":
            return M_WITHDRAWN_TO_PUPIL(lang)
        return M_WITHDRAWN_TO_PARENT(lang, pupil=pupil)
    if audience == "pupil":
        return M_CORRECTED_TO_PUPIL(lang)
    return M_CORRECTED_TO_PARENT(lang, pupil=pupil)


def reason_line(reason: str, lang: str) -> str:
    """`Reden: …`, or nothing when no reason was given."""
    return M_REASON(lang, reason=reason) if reason else ""
