"""contacts.csv, klasbot's own extension file: e-mail, postal address, fallback, language and an
adult pupil's consent to share with their guardians (`share_with_guardians`, rule 6) per person.

The rows are merged into the persons when the snapshot is built (snapshot.py)."""

from __future__ import annotations

from adapters.oneroster.columns import CONTACTS
from adapters.oneroster.csvfile import CsvTable
from adapters.oneroster.state import RosterState
from adapters.oneroster.values import email_value
from bot.domain import ContactPreference
from bot.i18n import Msg, available_languages

M_INCOMPLETE_ADDRESS = Msg("incomplete address: street, postalCode and city are all needed")
M_UNKNOWN_FALLBACK = Msg("unknown fallback '{value}' (expected empty, email, post or none)")
M_UNKNOWN_LANGUAGE = Msg(
    "unknown language '{value}' (expected empty for the school's language, or one of: {languages})"
)
M_NOT_A_CONSENT = Msg(
    "'{value}' is neither yes nor no (expected yes, ja, true or 1; or no, nee, false, 0 or empty)"
)

# The fallbacks, as the values of ContactPreference (a ContactRow holds plain values).
_FALLBACKS = {
    "": ContactPreference.DEFAULT.value,
    "email": ContactPreference.DEFAULT.value,
    "post": ContactPreference.POST.value,
    "none": ContactPreference.NONE.value,
}
_ADDRESS = ("street", "postalCode", "city")
# `share_with_guardians`, in any case: empty is no (an adult's guardians get nothing by default).
_CONSENT = {
    **dict.fromkeys(("yes", "ja", "true", "1"), True),
    **dict.fromkeys(("", "no", "nee", "false", "0"), False),
}


def read_contacts(state: RosterState) -> None:
    users_known = state.known["users"]
    addresses: dict[tuple[str, str, str], tuple[str, str, str]] = {}  # one per household
    contacts = state.contacts
    languages = available_languages()
    table, rows = state.records("contacts", CONTACTS)
    (
        sid_at,
        email_at,
        street_at,
        postal_at,
        city_at,
        fallback_at,
        language_at,
        consent_at,
    ) = map(
        table.column,
        (
            "sourcedId",
            "email",
            "street",
            "postalCode",
            "city",
            "fallback",
            "language",
            "share_with_guardians",
        ),
    )
    for row in rows:
        sid, line = row[sid_at], table.line
        user_ok = sid in users_known or state.ref(table.name, line, "sourcedId", "users", sid)
        email: str | None = row[email_at] or None
        if email is not None:
            email = email_value(table, line, "email", email)
        parts = (row[street_at], row[postal_at], row[city_at])
        address = None
        if parts[0].strip() and parts[1].strip() and parts[2].strip():
            address = addresses.get(parts)
            if address is None:
                address = addresses[parts] = parts
        elif any(value.strip() for value in parts):
            for column, value in zip(_ADDRESS, parts, strict=True):
                if not value.strip():
                    table.issue(line, column, M_INCOMPLETE_ADDRESS)
        fallback = row[fallback_at]
        preference = _FALLBACKS.get(fallback)
        if preference is None:
            table.issue(line, "fallback", M_UNKNOWN_FALLBACK, value=fallback)
            preference = ContactPreference.DEFAULT.value
        language: str | None = row[language_at] or None
        if language is not None:
            language = _language(table, line, language, languages)
        consent = row[consent_at]
        if consent:
            consent = consent.strip().lower()
            if consent not in _CONSENT:
                table.issue(line, "share_with_guardians", M_NOT_A_CONSENT, value=row[consent_at])
        if user_ok:
            contacts[sid] = (email, address, preference, language, _CONSENT.get(consent, False))


def _language(table: CsvTable, line: int, value: str, languages: tuple[str, ...]) -> str | None:
    """The `language` column: a language with a catalogue (`nl`, `EN`), or empty (None: the
    person keeps the language they chose with `/taal`, else the school's)."""
    if value.lower() not in languages:
        table.issue(
            line, "language", M_UNKNOWN_LANGUAGE, value=value, languages=", ".join(languages)
        )
        return None
    return value.lower()
