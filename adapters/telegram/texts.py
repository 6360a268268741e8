"""What the Telegram adapter itself says (the core says the rest), in Dutch and English."""

from __future__ import annotations

from bot.i18n import Msg

# The administrator rights the bot needs in a class group, with the names Telegram's apps show.
RIGHTS: dict[str, Msg] = {
    # Rule 2: strangers are removed; rule 3: members are made read-only.
    "can_restrict_members": Msg("Gebruikers verbannen", "Ban users"),
    # Linked pupils get a join-request link; the bot answers the requests.
    "can_invite_users": Msg("Gebruikers uitnodigen via link", "Invite users via link"),
    # Rule 3: a member's message that slips through is deleted.
    "can_delete_messages": Msg("Berichten verwijderen", "Delete messages"),
}

NOT_ADMIN = Msg(
    nl=(
        "Ik kan deze groep nog niet koppelen: ik ben geen beheerder. Maak mij beheerder met de "
        "rechten {rights} en stuur daarna opnieuw {command}."
    ),
    en=(
        "I cannot bind this group yet: I am not an administrator. Make me an administrator with "
        "the rights {rights} and send {command} again."
    ),
)
MISSING_RIGHTS = Msg(
    nl=(
        "Ik kan deze groep nog niet koppelen: als beheerder mis ik {rights}. Geef mij dat recht "
        "(Groep beheren → Beheerders → klasbot) en stuur daarna opnieuw {command}."
    ),
    en=(
        "I cannot bind this group yet: as administrator I lack {rights}. Give me that right "
        "(Manage group → Administrators → klasbot) and send {command} again."
    ),
)
BOUND_DONE = Msg(
    nl=(
        "Wat ik heb gedaan: leden kunnen hier niets meer plaatsen (alleen-lezen), en er is een "
        "uitnodigingslink waarbij ik elk verzoek controleer: {link}\n"
        "Leerlingen krijgen die link privé zodra ze hun account koppelen; ik laat alleen "
        "leerlingen (13+) en docenten van {klas} toe. Wie er al in zat voor het koppelen, kan ik "
        "niet zien: begin bij voorkeur met een nieuwe, lege groep."
    ),
    en=(
        "What I did: members can no longer post here (read-only), and there is an invite link "
        "for which I check every request: {link}\n"
        "Pupils get that link privately as soon as they link their account; I only let in "
        "pupils (13+) and teachers of {klas}. I cannot see who was in here before binding: "
        "preferably start with a new, empty group."
    ),
)
BOUND_PROBLEM = Msg(
    nl=(
        "Let op: {what} is niet gelukt ({error}). Controleer mijn beheerdersrechten en stuur "
        "opnieuw {command}."
    ),
    en=(
        "Note: {what} did not work ({error}). Check my administrator rights and send {command} "
        "again."
    ),
)
WHAT_READ_ONLY = Msg("leden alleen-lezen maken", "making members read-only")
WHAT_INVITE_LINK = Msg("de uitnodigingslink maken", "creating the invite link")

INVITE = Msg(
    nl=(
        "Je kunt nu lid worden van de klassengroep{title}. Tik op de knop (of de link) en vraag "
        "toegang; ik laat je dan toe.\n{link}"
    ),
    en=(
        "You can now join the class group{title}. Tap the button (or the link) and ask to "
        "join; I will let you in.\n{link}"
    ),
)
INVITE_BUTTON = Msg("Naar de klassengroep", "Open the class group")

JOIN_DECLINED = Msg(
    nl=(
        "Je verzoek om lid te worden van {title} is afgewezen: alleen leerlingen (13+) en "
        "docenten van de klas met een gekoppeld account kunnen erin. Heb je een code van school? "
        "Stuur mij dan /start CODE."
    ),
    en=(
        "Your request to join {title} was declined: only pupils (13+) and teachers of the class "
        "with a linked account can join. Do you have a code from school? Send me /start CODE."
    ),
)

PREVIEW = Msg(
    nl="Voorbeeld — zo verschijnt het bericht in de klassengroep:\n\n{text}\n\nVersturen?",
    en="Preview — this is how the announcement appears in the class group:\n\n{text}\n\nSend it?",
)
SEND_BUTTON = Msg("Versturen", "Send")
CANCEL_BUTTON = Msg("Annuleren", "Cancel")
CANCELLED = Msg("Geannuleerd; er is niets verstuurd.", "Cancelled; nothing was sent.")
PREVIEW_EXPIRED = Msg(
    "Dit voorbeeld is verlopen; stuur het commando opnieuw.",
    "This preview has expired; send the command again.",
)
NOT_YOUR_PREVIEW = Msg("Dit voorbeeld is niet van jou.", "This preview is not yours.")

WELCOME_GROUP = Msg(
    nl=(
        "Hallo! Ik ben klasbot. Maak mij beheerder met de rechten {rights} en stuur dan "
        "/koppel KLAS (bijvoorbeeld /koppel 2B) om deze groep aan je klas te koppelen."
    ),
    en=(
        "Hello! I am klasbot. Make me an administrator with the rights {rights}, then send "
        "/link CLASS (for example /link 2B) to bind this group to your class."
    ),
)
WELCOME_READY = Msg(
    nl=(
        "Hallo! Ik ben klasbot. Stuur /koppel KLAS (bijvoorbeeld /koppel 2B) om deze groep aan "
        "je klas te koppelen."
    ),
    en=(
        "Hello! I am klasbot. Send /link CLASS (for example /link 2B) to bind this group to your "
        "class."
    ),
)
