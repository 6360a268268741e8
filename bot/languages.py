"""One language per person: the language klasbot uses in every reply, e-mail and letter to them.

The language is the person's own choice (`/taal`, stored in `Person.language`), else the one the
roster gives them (contacts.csv `language`, stored the same way), else the school's
(`school.language`). The words of a command never change it: a teacher who types `/cancelled`
keeps getting Dutch answers until they send `/taal en`.

A language is one with a catalogue (`bot.i18n.available_languages()`); a stored language whose
catalogue was removed since is treated as unset.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from babel import Locale, UnknownLocaleError

from bot.domain import Person
from bot.i18n import available_languages


def person_language(person: Person | None, school_language: str) -> str:
    """The language to use with `person` (None: somebody klasbot does not know)."""
    if person is not None and person.language in available_languages():
        return str(person.language)
    return school_language


def shared_language(languages: Iterable[str], school_language: str) -> str:
    """The language of one message to several people (the guardians on one e-mail): theirs when
    they all have the same one, else the school's, which the school expects everyone to read."""
    found = set(languages)
    return found.pop() if len(found) == 1 else school_language


def language_name(code: str, lang: str | None = None) -> str:
    """The name of language `code` in `lang` (default: in itself), e.g. `Nederlands`, `Engels`."""
    try:
        name = Locale.parse(code).get_display_name(lang or code)
    except (UnknownLocaleError, ValueError):
        return code
    return name or code


@functools.cache
def _words(languages: tuple[str, ...]) -> dict[str, str]:
    """Every word that names one of `languages`: its code and its names in each of them (`en`,
    `english`, `engels`, `nl`, `dutch`, `nederlands`)."""
    words: dict[str, str] = {}
    for code in languages:
        words[code.lower()] = code
        for reader in languages:
            words.setdefault(language_name(code, reader).lower(), code)
    return words


def language_from_word(word: str) -> str | None:
    """The language a person means by `word` (`en`, `EN`, `English`, `Engels`), or None when it
    names no language with a catalogue."""
    return _words(available_languages()).get(word.strip().lower())


def choices(lang: str) -> str:
    """The languages one may choose, said in `lang`: `nl (Nederlands), en (Engels)`."""
    return ", ".join(f"{code} ({language_name(code, lang)})" for code in available_languages())
