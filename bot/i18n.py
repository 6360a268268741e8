"""Messages for people, in Dutch (the default) and English.

Each module keeps the messages it says next to the code that says them, as `Msg` values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"


@dataclass(frozen=True, slots=True)
class Msg:
    nl: str
    en: str

    def __call__(self, lang: str = DEFAULT_LANGUAGE, /, **params: Any) -> str:
        template = self.en if lang == "en" else self.nl
        return template.format(**params) if params else template


class LocalizedMixin:
    """For errors that carry a `Msg` and its parameters; `str()` gives the Dutch text."""

    msg: Msg
    params: dict[str, Any]

    def render(self, lang: str = DEFAULT_LANGUAGE) -> str:
        return self.msg(lang, **self.params)
