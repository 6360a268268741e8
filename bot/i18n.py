"""Messages for people, through gettext catalogues: Dutch (the default), English and any other
language that has a catalogue.

Each module keeps the messages it says next to the code that says them, as `Msg` values whose text
is the English original (the gettext msgid). The translations live in
`bot/locale/<lang>/LC_MESSAGES/klasbot.po`; they are read at run time (no compiled `.mo` file is
kept, so none can go stale). A language other than Dutch falls back to the Dutch catalogue for the
messages it lacks, and a language without a catalogue gets Dutch. See "Languages" in README.md for
extracting, updating and adding catalogues.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DOMAIN = "klasbot"
DEFAULT_LANGUAGE = "nl"
LOCALE_DIR = Path(__file__).parent / "locale"
"""The catalogues shipped with klasbot: `LOCALE_DIR/<lang>/LC_MESSAGES/klasbot.po`."""

_extra_dirs: list[Path] = []


def add_locale_dir(path: str | Path) -> None:
    """Also look for catalogues in `path` (laid out like `LOCALE_DIR`), before the shipped ones."""
    directory = Path(path)
    if directory not in _extra_dirs:
        _extra_dirs.insert(0, directory)
        _forget()


def remove_locale_dir(path: str | Path) -> None:
    """Undo `add_locale_dir(path)`."""
    directory = Path(path)
    if directory in _extra_dirs:
        _extra_dirs.remove(directory)
        _forget()


def _forget() -> None:
    translation.cache_clear()
    available_languages.cache_clear()


def _locale_dirs() -> list[Path]:
    return [*_extra_dirs, LOCALE_DIR]


def _catalogue_path(lang: str, directories: list[Path]) -> Path | None:
    for directory in directories:
        path = directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        if path.is_file():
            return path
    return None


@functools.cache
def available_languages() -> tuple[str, ...]:
    """Every language with a catalogue, the default language first, the others sorted."""
    found = {
        path.parent.parent.name
        for directory in _locale_dirs()
        if directory.is_dir()
        for path in directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    }
    found.discard(DEFAULT_LANGUAGE)
    return (DEFAULT_LANGUAGE, *sorted(found))


def _load(path: Path, lang: str) -> Translations:
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo, domain=DOMAIN)


@functools.cache
def translation(lang: str = DEFAULT_LANGUAGE, directory: str | Path | None = None) -> Translations:
    """The translations for `lang`, read from `directory` (or else the registered and shipped
    locale directories). Any language but Dutch falls back to the Dutch catalogue; a language
    without a catalogue is Dutch."""
    directories = [Path(directory)] if directory is not None else []
    directories += _locale_dirs()
    dutch_path = _catalogue_path(DEFAULT_LANGUAGE, directories)
    dutch = _load(dutch_path, DEFAULT_LANGUAGE) if dutch_path else Translations()
    if lang == DEFAULT_LANGUAGE:
        return dutch
    path = _catalogue_path(lang, directories)
    if path is None:
        return dutch
    own = _load(path, lang)
    own.add_fallback(dutch)
    return own


LANGUAGES: tuple[str, ...] = available_languages()
"""The languages with a shipped catalogue, Dutch first."""


@dataclass(frozen=True, slots=True)
class Msg:
    """One message for people: its English text (the msgid, with `str.format` placeholders) and,
    only where one English text needs different translations, a gettext `context`.

    `M(lang, **params)` gives the text in `lang` with the placeholders filled in. A parameter that
    is itself a `Msg` or a `Localized` is rendered in the same language first."""

    msgid: str
    context: str | None = None

    def __call__(self, lang: str = DEFAULT_LANGUAGE, /, **params: Any) -> str:
        catalogue = translation(lang)
        if self.context is None:
            template = catalogue.gettext(self.msgid)
        else:
            template = str(catalogue.pgettext(self.context, self.msgid))
        if not params:
            return template
        return template.format(**{name: _render(value, lang) for name, value in params.items()})

    @property
    def nl(self) -> str:
        """The Dutch template (placeholders not filled in)."""
        return self("nl")

    @property
    def en(self) -> str:
        """The English template (placeholders not filled in)."""
        return self("en")


@dataclass(frozen=True, slots=True)
class Localized:
    """A message parameter whose text depends on the reader's language (e.g. a list of labels)."""

    render: Callable[[str], str]

    def __call__(self, lang: str = DEFAULT_LANGUAGE, /) -> str:
        return self.render(lang)

    def __str__(self) -> str:
        return self.render(DEFAULT_LANGUAGE)


def _render(value: Any, lang: str) -> Any:
    if isinstance(value, Msg | Localized):
        return value(lang)
    return value


class LocalizedMixin:
    """For errors that carry a `Msg` and its parameters; `str()` gives the Dutch text."""

    msg: Msg
    params: dict[str, Any]

    def render(self, lang: str = DEFAULT_LANGUAGE) -> str:
        return self.msg(lang, **self.params)
