"""Rule 5, no personal data: an announcement that contains personal data is refused.

Protocol A.2: "Het is betrokkenen niet toegestaan om kennis en informatie over school en de leden
van de schoolgemeenschap te delen, die persoonsgegevens betreft", with footnote 2 quoting AVG
(GDPR) art. 4: any information about an identifiable person, "met name aan de hand van een
identificator zoals een naam, een identificatienummer". A.5 (photo consent) is why groups carry
text only; media never reach this module, the adapters refuse them.

`find_personal_data` finds, in a text:
- e-mail addresses;
- phone numbers: Dutch numbers of 10 digits (`06-12345678`, `06 1234 5678`, `020-1234567`,
  `030 123 4567`) and international ones (`+31 6 12345678`, `0031 6…`, `+32 470 12 34 56`).
  Dates (`2026-12-01`, `01-12-2026`, `1/12`), times (`08:30`, `8.30`), periods (`3-4`) and short
  numbers are not phone numbers; a grouped Dutch number must start with an area code (`06`,
  `020`, `0299`) so that lists such as `01 02 03 04 05` are not taken for one;
- BSNs: 9 digits, optionally grouped (`1234.56.782`, `123 456 782`), that pass the 11-check;
- IBANs of any country, compact or in groups of four, any letter case, that pass mod-97;
- the given and family names of the class's pupils, case- and diacritic-insensitively (`Zoë` =
  `Zoe` = `ZOË`), as whole words only (`Bas` does not match `basketbal`). A family name matches
  by its core (`Berg`) and with its tussenvoegsel (`van der Berg`), never by the tussenvoegsel
  alone; multi-word names (`El Amrani`, `Anne-Marie`) match as a unit, with a space or a hyphen
  between the parts. Names of fewer than 2 letters are ignored.

Known tradeoff, deliberate: a pupil whose name is also a word (`Roos`, `Ben`, `Mees`) blocks that
word in the class's announcements. Refusing too much is better than leaking a pupil's name, and
the refusal says exactly what to change.

Each stretch of text is reported once, as the first of e-mail, IBAN, phone, BSN, name that covers
it (an e-mail address containing a pupil's name is reported as the e-mail address).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from bot.domain import Person
from bot.errors import RuleViolation
from bot.i18n import Localized, Msg

RULE = "A.2"
CATEGORIES: tuple[str, ...] = ("email", "iban", "phone", "bsn", "name")
"""Every category, in order of precedence when two findings overlap."""

CATEGORY_LABELS: dict[str, Msg] = {
    "email": Msg("e-mail address"),
    "phone": Msg("phone number"),
    "bsn": Msg("citizen service number (BSN)"),
    "iban": Msg("IBAN"),
    "name": Msg("name of a pupil"),
}

PERSONAL_DATA = Msg(
    "Message refused: it contains personal data ({found}). Remove it and try again."
)


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its category, the text as written and its span in the text."""

    category: str
    value: str
    start: int
    end: int


def check_content(text: str, pupils: Iterable[Person]) -> None:
    """Pass a text without personal data; else raise `RuleViolation(rule="A.2",
    code="personal-data")` whose message lists each distinct finding (category and value)."""
    findings = find_personal_data(text, pupils)
    if not findings:
        return
    distinct = list(dict.fromkeys((f.category, f.value) for f in findings))

    def listing(lang: str) -> str:
        return "; ".join(f"{CATEGORY_LABELS[c](lang)}: '{v}'" for c, v in distinct)

    raise RuleViolation(
        PERSONAL_DATA,
        rule=RULE,
        code="personal-data",
        found=Localized(listing),
        categories=",".join(sorted({c for c, _ in distinct})),
    )


def find_personal_data(text: str, pupils: Iterable[Person]) -> list[Finding]:
    """Every piece of personal data in `text`, ordered by position, spans not overlapping."""
    candidates: list[Finding] = []
    candidates += _find_emails(text)
    candidates += _find_ibans(text)
    chains = list(_number_chains(text))
    candidates += _find_in_chains(text, chains, "phone", _is_phone)
    candidates += _find_in_chains(text, chains, "bsn", _is_bsn)
    candidates += _find_names(text, pupils)

    precedence = {category: rank for rank, category in enumerate(CATEGORIES)}
    candidates.sort(key=lambda f: (precedence[f.category], f.start, -(f.end - f.start)))
    accepted: list[Finding] = []
    for finding in candidates:
        if all(finding.end <= a.start or finding.start >= a.end for a in accepted):
            accepted.append(finding)
    return sorted(accepted, key=lambda f: f.start)


# --- e-mail -------------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")


def _find_emails(text: str) -> Iterator[Finding]:
    for m in _EMAIL.finditer(text):
        yield Finding("email", m.group(), m.start(), m.end())


# --- IBAN ---------------------------------------------------------------------------------------

_IBAN_START = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{2}[0-9]{2}")
_IBAN_MIN, _IBAN_MAX = 15, 34  # Norway's IBAN is the shortest, Saint Lucia's the longest


def _is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _alnum_run_end(text: str, pos: int) -> int:
    while pos < len(text) and _is_ascii_alnum(text[pos]):
        pos += 1
    return pos


def iban_is_valid(candidate: str) -> bool:
    """ISO 13616 check: 15-34 letters and digits whose rearranged number is 1 modulo 97."""
    compact = candidate.replace(" ", "").upper()
    if not (_IBAN_MIN <= len(compact) <= _IBAN_MAX) or not _is_iban_shape(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _is_iban_shape(compact: str) -> bool:
    return (
        compact.isascii() and compact.isalnum() and compact[:2].isalpha() and compact[2:4].isdigit()
    )


def _find_ibans(text: str) -> Iterator[Finding]:
    for m in _IBAN_START.finditer(text):
        start = m.start()
        first_end = _alnum_run_end(text, start)
        ends = [first_end]  # written compactly, `NL91ABNA0417164300`
        if first_end - start == 4:
            # Printed form, `NL91 ABNA 0417 1643 00`: groups of four, the last one shorter.
            # Each group end is a possible end, because a word may follow the number.
            pos = first_end
            while pos < len(text) and text[pos] == " ":
                group_end = _alnum_run_end(text, pos + 1)
                length = group_end - pos - 1
                if not 1 <= length <= 4:
                    break
                ends.append(group_end)
                if length < 4:
                    break
                pos = group_end
        for end in sorted(ends, reverse=True):
            if iban_is_valid(text[start:end]):
                yield Finding("iban", text[start:end], start, end)
                break


# --- phone numbers and BSNs ---------------------------------------------------------------------

# A digit group (with a leading `+` for an international number) or the `(0)` of `+31 (0)6`.
_NUMBER_TOKEN = re.compile(r"\(0\)|\+?\d+")
# What may stand between two groups of one number: a space, or a hyphen, dot or slash.
_GROUP_SEPARATOR = re.compile(r"[ \u00a0]|[ \u00a0]?[-\u2010\u2011\u2013./][ \u00a0]?")
# Dates and times are written with the same separators; their digits never belong to a number.
_DATES_AND_TIMES = re.compile(
    r"(?<![\d\w])(?:"
    r"\d{4}[-./]\d{1,2}[-./]\d{1,2}"  # 2026-12-01
    r"|(?:0?[1-9]|[12]\d|3[01])[-./](?:0?[1-9]|1[0-2])(?:[-./](?:\d{4}|\d{2}))?"  # 1-12(-2026)
    r"|(?:[01]?\d|2[0-3])[:.][0-5]\d"  # 08:30, 8.30
    r")(?![\d\w])"
)


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int


def _number_chains(text: str) -> Iterator[list[_Token]]:
    """Runs of digit groups joined by group separators, each a candidate for a number.

    A group glued to a letter (`2B`, `3e`, `NL91`) or inside a date or time belongs to no number
    and ends the run; a `+` always starts a new one."""
    masked = [(m.start(), m.end()) for m in _DATES_AND_TIMES.finditer(text)]
    chain: list[_Token] = []
    for m in _NUMBER_TOKEN.finditer(text):
        token = _Token(m.group(), m.start(), m.end())
        glued = (token.start > 0 and text[token.start - 1].isalpha()) or (
            token.end < len(text) and (text[token.end].isalpha() or text[token.end] == "_")
        )
        in_date = any(s < token.end and token.start < e for s, e in masked)
        if glued or in_date:
            if chain:
                yield chain
            chain = []
            continue
        if chain:
            gap = text[chain[-1].end : token.start]
            joined = (
                _GROUP_SEPARATOR.fullmatch(gap) is not None
                or (gap in ("", " ") and "(0)" in (token.text, chain[-1].text))
            ) and not token.text.startswith("+")
            if not joined:
                yield chain
                chain = []
        chain.append(token)
    if chain:
        yield chain


def _find_in_chains(
    text: str,
    chains: Iterable[list[_Token]],
    category: str,
    valid: Callable[[Sequence[str]], bool],
) -> Iterator[Finding]:
    """The longest valid runs of consecutive groups, scanning each chain from the left."""
    for chain in chains:
        i = 0
        while i < len(chain):
            for j in range(len(chain) - 1, i - 1, -1):
                if valid([t.text for t in chain[i : j + 1]]):
                    start, end = chain[i].start, chain[j].end
                    yield Finding(category, text[start:end], start, end)
                    i = j + 1
                    break
            else:
                i += 1


def _is_phone(groups: Sequence[str]) -> bool:
    first = groups[0]
    if first == "(0)":
        return False
    digits = "".join(g.lstrip("+") for g in groups if g != "(0)")
    zeros = [k for k, g in enumerate(groups) if g == "(0)"]
    if first.startswith("+"):
        international = digits
    elif digits.startswith("00"):
        international = digits[2:]
    else:
        # A Dutch number: 0 + 9 digits; when grouped, the first group is an area code (06, 020,
        # 0299) or the whole number, which keeps lists like `01 02 03 04 05` out.
        if zeros or len(digits) != 10 or digits[0] != "0" or digits[1] == "0":
            return False
        return len(groups) == 1 or first == "06" or (3 <= len(first) <= 4)
    if zeros and zeros != [1]:
        return False  # `(0)` belongs right after the country code: `+31 (0)6 …`
    if not international or international[0] == "0":
        return False
    if international.startswith("31"):
        national = international[2:]
        if national.startswith("0"):
            national = national[1:]  # `+31 06 …`, a common way of writing it
        return len(national) == 9 and national[0] != "0"
    return 8 <= len(international) <= 15  # E.164: at most 15 digits with the country code


def bsn_is_valid(digits: str) -> bool:
    """The 11-check of a BSN: 9*d1 + 8*d2 + … + 2*d8 - 1*d9 is divisible by 11 (and not 0)."""
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    total = sum(w * int(d) for w, d in zip((9, 8, 7, 6, 5, 4, 3, 2, -1), digits, strict=True))
    return total % 11 == 0


def _is_bsn(groups: Sequence[str]) -> bool:
    # Grouped BSNs are written in groups of 2-4 digits; one-digit groups are counts or lists.
    if any(g.startswith("+") or g == "(0)" or len(g) < 2 for g in groups):
        return False
    return bsn_is_valid("".join(groups))


# --- names --------------------------------------------------------------------------------------

# Dutch tussenvoegsels and the foreign prefixes the BRP records the same way (its table of
# voorvoegsels), as single words: a family name is never matched by these alone.
TUSSENVOEGSELS: frozenset[str] = frozenset(
    """a aan af al am auf aus ben bij bin d' da dal dalla das de dei del della den der des di die
    do don dos du el het in l' la las le les lo los of onder op over s' 't t te ten ter tho thoe
    thor to toe tot uijt uit unter van ver vom von voor vor zu zum zur""".split()
)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
# Letters that Unicode does not decompose into a base letter and a diacritic.
_UNDECOMPOSED = {"ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "ı": "i", "ð": "d", "þ": "th"}
_NAME_SEPARATOR = r"[\s\-\u2010\u2011]+"


def _fold(text: str) -> tuple[str, list[int]]:
    """`text` lower-cased without diacritics, and for each folded character its index in `text`."""
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text.translate(_APOSTROPHES)):
        for part in unicodedata.normalize("NFKD", ch):
            if unicodedata.combining(part):
                continue
            for folded in part.casefold():
                for out in _UNDECOMPOSED.get(folded, folded):
                    chars.append(out)
                    index.append(i)
    return "".join(chars), index


def _words(name: str) -> list[str]:
    return [w for w in re.split(_NAME_SEPARATOR, _fold(name)[0]) if w]


def _name_forms(pupil: Person) -> set[tuple[str, ...]]:
    """The word sequences under which a pupil's name is recognised."""
    given = _words(pupil.given_name)
    middle = _words(pupil.middle_name)
    family = _words(pupil.family_name)
    core = list(family)
    while len(core) > 1 and core[0] in TUSSENVOEGSELS:
        core.pop(0)
    if core and all(w in TUSSENVOEGSELS for w in core):
        core = []  # a family name made only of prefix words would match everyday words
    family_forms = {tuple(f) for f in (core, family, middle + family, middle + core) if core and f}
    forms = {tuple(given)} | family_forms
    if given:
        forms |= {tuple(given) + f for f in family_forms}

    def usable(form: tuple[str, ...]) -> bool:
        letters = sum(ch.isalpha() for word in form for ch in word)
        return bool(form) and letters >= 2 and not all(w in TUSSENVOEGSELS for w in form)

    return {form for form in forms if usable(form)}


def _find_names(text: str, pupils: Iterable[Person]) -> Iterator[Finding]:
    forms: set[tuple[str, ...]] = set()
    for pupil in pupils:
        forms |= _name_forms(pupil)
    if not forms:
        return
    # Longest first, so that `Jan van der Berg` is one finding rather than `Jan` and `Berg`.
    ordered = sorted(forms, key=lambda f: (-len(" ".join(f)), f))
    alternatives = "|".join(_NAME_SEPARATOR.join(re.escape(w) for w in form) for form in ordered)
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
    folded, index = _fold(text)
    for m in pattern.finditer(folded):
        start, end = index[m.start()], index[m.end() - 1] + 1
        while end < len(text) and unicodedata.combining(text[end]):
            end += 1  # a decomposed diacritic belongs to the letter before it
        yield Finding("name", text[start:end], start, end)
