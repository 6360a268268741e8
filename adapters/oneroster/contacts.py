"""contacts.csv, klasbot's own extension file: e-mail, postal address, fallback, language and an
adult pupil's consent to share with their guardians (`share_with_guardians`, rule 6) per person.

The rows are merged into the persons when the snapshot is built (snapshot.py)."""

from __future__ import annotations

from adapters.oneroster.columns import CONTACTS
from adapters.oneroster.csvfile import CsvTable, Row
from adapters.oneroster.state import Contact, RosterState
from adapters.oneroster.values import email_value
from bot.domain import Address, ContactPreference
from bot.i18n import Msg, available_languages

M_INCOMPLETE_ADDRESS = Msg("incomplete address: street, postalCode and city are all needed")
M_UNKNOWN_FALLBACK = Msg("unknown fallback '{value}' (expected empty, email, post or none)")
M_UNKNOWN_LANGUAGE = Msg(
    "unknown language '{value}' (expected empty for the school's language, or one of: {languages})"
)
M_NOT_A_CONSENT = Msg(
    "'{value}' is neither yes nor no (expected yes, ja, true or 1; or no, nee, false, 0 or empty)"
)

_FALLBACKS = {
    "": ContactPreference.DEFAULT,
    "email": ContactPreference.DEFAULT,
    "post": ContactPreference.POST,
    "none": ContactPreference.NONE,
}
_ADDRESS = ("street", "postalCode", "city")
# `share_with_guardians`, in any case: empty is no (an adult's guardians get nothing by default).
_CONSENT = {
    **dict.fromkeys(("yes", "ja", "true", "1"), True),
    **dict.fromkeys(("", "no", "nee", "false", "0"), False),
}


def read_contacts(state: RosterState) -> None:
    users_known = state.known["users"]
    addresses: dict[tuple[str, str, str], Address] = {}  # a household's is shared
    contacts = state.contacts
    for table, row, sid in state.records("contacts", CONTACTS):
        user_ok = sid in users_known or state.ref(table.name, row.line, "sourcedId", "users", sid)
        email = email_value(table, row, "email") if row["email"] else None
        parts = (row["street"], row["postalCode"], row["city"])
        address = None
        if all(value.strip() for value in parts):
            address = addresses.get(parts)
            if address is None:
                address = addresses[parts] = Address(*parts)
        elif any(value.strip() for value in parts):
            for column, value in zip(_ADDRESS, parts, strict=True):
                if not value.strip():
                    table.issue(row.line, column, M_INCOMPLETE_ADDRESS)
        fallback = row["fallback"]
        if fallback not in _FALLBACKS:
            table.issue(row.line, "fallback", M_UNKNOWN_FALLBACK, value=fallback)
        language = _language(table, row) if row["language"] else None
        consent = row["share_with_guardians"]
        if consent:
            consent = consent.strip().lower()
            if consent not in _CONSENT:
                table.issue(
                    row.line,
                    "share_with_guardians",
                    M_NOT_A_CONSENT,
                    value=row["share_with_guardians"],
                )
        if user_ok:
            contacts[sid] = Contact(
                email,
                address,
                _FALLBACKS.get(fallback, ContactPreference.DEFAULT),
                language,
                _CONSENT.get(consent, False),
            )


def _language(table: CsvTable, row: Row) -> str | None:
    """The `language` column: a language with a catalogue (`nl`, `EN`), or empty (None: the
    person keeps the language they chose with `/taal`, else the school's)."""
    value = row["language"]
    if not value:
        return None
    languages = available_languages()
    if value.lower() not in languages:
        table.issue(
            row.line, "language", M_UNKNOWN_LANGUAGE, value=value, languages=", ".join(languages)
        )
        return None
    return value.lower()
