"""Rule 5, no personal data: an announcement that contains personal data is refused.

Protocol A.2: "Het is betrokkenen niet toegestaan om kennis en informatie over school en de leden
van de schoolgemeenschap te delen, die persoonsgegevens betreft", with footnote 2 quoting AVG
(GDPR) art. 4: any information about an identifiable person, "met name aan de hand van een
identificator zoals een naam, een identificatienummer". A.2 protects every member of the school
community, so the names looked for are those of every pupil of the school, not only the class's.
A.5 (photo consent) is why groups carry text only; media never reach this module, the adapters
refuse them.

The text is normalised first, so that what looks the same is read the same: compatibility forms
(NFKD: full-width digits and `＠`, ligatures), diacritics dropped, format characters (zero-width
spaces, soft hyphens, direction marks) removed, Cyrillic and Greek look-alike letters folded to
Latin, every dash to `-` and every space to a space. Findings are reported as written.

`find_personal_data` finds, in a text:
- e-mail addresses, also obfuscated: `jan [at] school [dot] nl`, `jan(at)school.nl`,
  `jan @ school.nl`;
- phone numbers: Dutch numbers of 10 digits in any grouping (`06-12-34-56-78`, `06.12.34.56.78`,
  `(020) 123 4567`, `020 — 1234567`) and international ones (`+31 6 12345678`, `0031 6…`,
  `+32 470 12 34 56`). Dates (`2026-12-01`, `12-03-2026`, `1/12`), times (`08:30-10:15`, `8.30`),
  periods (`3-4`), room numbers (`lokaal 2.14`) and short numbers are not phone numbers: a date or
  time only counts as one where it does not run on into more digit groups; a grouped Dutch
  number must start with an area code (`06`, `020`, `0299`) so that lists such as
  `01 02 03 04 05` are not taken for one;
- BSNs: 9 digits, optionally grouped (`1234.56.782`, `123 456 782`), that pass the 11-check;
- IBANs of any country, compact or in groups of four, any letter case, that pass mod-97;
- the names of the school's pupils (given, preferred and family names, with and without their
  tussenvoegsel), case- and diacritic-insensitively, as whole words: `Bas` does not match
  `basketbal`. Also as a possessive (`Daans`, `Zoës`, `Daan's`) and run together or joined by
  `_`, `.` or `-` in a handle or URL (`daandejong`, `daan_dejong`, `zoe.vandenberg`).
  A name that is also an ordinary Dutch word (`ORDINARY_WORDS`: Hart, Berg, Bakker, Jong, Roos…)
  counts only where it is used as a name: capitalised in the middle of a sentence, with a
  capitalised or `van der`/`van den` tussenvoegsel, after an initial (`J. bakker`), next to
  another part of the same pupil's name, or run together with its tussenvoegsel; not as the
  lower-case word, not as the first word of a sentence, not inside a hyphenated compound.
  Names of fewer than 2 letters are ignored.

Known tradeoff, deliberate: a word-name at the start of a sentence (`Roos is jarig`) is taken for
the word; a pupil whose name is a word that is not in `ORDINARY_WORDS` blocks that word.

The school's own published contact details (`PublicContacts`, from `school.public_contacts`) are
allowed. Each stretch of text is reported once, as the first of e-mail, IBAN, phone, BSN, name
that covers it. The refusal names what was found and says how to rewrite it.

Every step is linear in the length of the text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from bot.domain import Person
from bot.errors import RuleViolation
from bot.i18n import Localized, Msg
from bot.rules.names import name_index
from bot.rules.normalise import _Candidate, _normalise

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

ADVICE: dict[str, Msg] = {
    "email": Msg("leave it out or give the school's own address"),
    "iban": Msg("leave it out or give the school's own account"),
    "phone": Msg("leave it out or give the school's own number"),
    "bsn": Msg("leave it out"),
    "name": Msg("write 'the pupil' instead of the name"),
}
"""How to rewrite a text with a finding of each category."""

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


# --- the school's own contact details -----------------------------------------------------------


def _phone_key(number: str) -> str:
    """A phone number as its digits, Dutch numbers in their national form (`0612345678`)."""
    digits = "".join(ch for ch in number.replace("(0)", "") if ch.isdigit() or ch == "+")
    digits = digits.replace("+", "00")
    if digits.startswith("0031"):
        digits = "0" + digits[4:].removeprefix("0")
    return digits


def _email_key(address: str) -> str:
    address = _OBFUSCATED_AT.sub("@", address)
    address = _OBFUSCATED_DOT.sub(".", address)
    return "".join(address.split()).casefold()


_DOMAIN = re.compile(r"@?([^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+)")


@dataclass(frozen=True)
class PublicContacts:
    """Contact details the school publishes itself (A.2 protects persons, not the school's
    office): they may appear in announcements."""

    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    ibans: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, items: Iterable[str]) -> PublicContacts:
        """Phone numbers, e-mail addresses, `@domain`s and IBANs; ValueError names an item that
        is none of them."""
        phones, emails, domains, ibans = set(), set(), set(), set()
        for raw in items:
            item = _normalise(raw.strip()).text
            if item.startswith("@") and (m := _DOMAIN.fullmatch(item)):
                domains.add(m.group(1).casefold())
            elif _EMAIL.fullmatch(item):
                emails.add(_email_key(item))
            elif iban_is_valid(item):
                ibans.add(item.replace(" ", "").upper())
            elif re.fullmatch(r"[+\d() .\-/]+", item) and 8 <= len(_phone_key(item)) <= 17:
                phones.add(_phone_key(item))
            else:
                raise ValueError(raw)
        return cls(frozenset(phones), frozenset(emails), frozenset(domains), frozenset(ibans))

    def allows_email(self, address: str) -> bool:
        key = _email_key(address)
        domain = key.rpartition("@")[2]
        return key in self.emails or any(
            domain == d or domain.endswith("." + d) for d in self.domains
        )

    def allows_phone(self, number: str) -> bool:
        return _phone_key(number) in self.phones

    def allows_iban(self, iban: str) -> bool:
        return iban.replace(" ", "").upper() in self.ibans


NO_PUBLIC_CONTACTS = PublicContacts()


# --- the rule -----------------------------------------------------------------------------------


def check_content(
    text: str, pupils: Iterable[Person], public: PublicContacts = NO_PUBLIC_CONTACTS
) -> None:
    """Pass a text without personal data; else raise `RuleViolation(rule="A.2",
    code="personal-data")` whose message lists each distinct finding (category and value) and
    says how to rewrite the text. `pupils` are the school's pupils; `public` the school's own
    contact details, which are allowed."""
    findings = find_personal_data(text, pupils, public)
    if not findings:
        return
    distinct = list(dict.fromkeys((f.category, f.value) for f in findings))
    categories = list(dict.fromkeys(c for c, _ in distinct))

    def listing(lang: str) -> str:
        # Per category, in the order found: what was found and how to write it instead.
        return "; ".join(
            f"{CATEGORY_LABELS[c](lang)}: "
            + ", ".join(f"'{v}'" for d, v in distinct if d == c)
            + f" \u2014 {ADVICE[c](lang)}"
            for c in categories
        )

    raise RuleViolation(
        PERSONAL_DATA,
        rule=RULE,
        code="personal-data",
        found=Localized(listing),
        categories=",".join(sorted(categories)),
    )


def find_personal_data(
    text: str, pupils: Iterable[Person], public: PublicContacts = NO_PUBLIC_CONTACTS
) -> list[Finding]:
    """Every piece of personal data in `text`, ordered by position, spans not overlapping."""
    norm = _normalise(text)
    candidates: list[_Candidate] = []
    candidates += _find_emails(norm.text, public)
    candidates += _find_ibans(norm.text, public)
    chains = list(_number_chains(norm.text))
    candidates += _find_in_chains(chains, "phone", _is_phone, public.allows_phone, norm.text)
    candidates += _find_in_chains(chains, "bsn", _is_bsn, lambda _: False, norm.text)
    candidates += name_index(pupils).find(norm)

    precedence = {category: rank for rank, category in enumerate(CATEGORIES)}
    candidates.sort(key=lambda f: (precedence[f[0]], f[1], -(f[2] - f[1])))
    accepted: list[tuple[str, int, int]] = []
    taken = bytearray(len(norm.text))
    for category, start, end, allowed in candidates:
        if not any(taken[start:end]):
            if not allowed:  # the school's own details still cover their digits
                accepted.append((category, start, end))
            taken[start:end] = b"\x01" * (end - start)
    findings = []
    for category, start, end in sorted(accepted, key=lambda f: f[1]):
        first, last = norm.span(text, start, end)
        findings.append(Finding(category, text[first:last], first, last))
    return findings


# --- e-mail -------------------------------------------------------------------------------------

_AT = r"(?:[ ]{0,3}@[ ]{0,3}|[ ]{0,3}[\[({<][ ]?(?:at|@|apenstaartje)[ ]?[\])}>][ ]{0,3})"
_DOT = r"(?:\.|[ ]{0,3}[\[({<][ ]?(?:dot|punt)[ ]?[\])}>][ ]{0,3})"
_EMAIL = re.compile(
    rf"(?<![\w.%+-])[\w%+-]+(?:\.[\w%+-]+)*{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_DOT}[^\W\d_]{{2,}}"
    r"(?![\w-])",
    re.IGNORECASE,
)
_OBFUSCATED_AT = re.compile(_AT, re.IGNORECASE)
_OBFUSCATED_DOT = re.compile(_DOT, re.IGNORECASE)


def _find_emails(text: str, public: PublicContacts) -> Iterator[_Candidate]:
    for m in _EMAIL.finditer(text):
        yield ("email", m.start(), m.end(), public.allows_email(m.group()))


# --- IBAN ---------------------------------------------------------------------------------------

_IBAN_START = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{2}[0-9]{2}")
_IBAN_MIN, _IBAN_MAX = 15, 34  # Norway's IBAN is the shortest, Saint Lucia's the longest


def _is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _alnum_run_end(text: str, pos: int, limit: int) -> int:
    while pos < limit and _is_ascii_alnum(text[pos]):
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


def _find_ibans(text: str, public: PublicContacts) -> Iterator[_Candidate]:
    for m in _IBAN_START.finditer(text):
        start = m.start()
        # An IBAN is at most 34 characters, and 8 spaces when printed in groups.
        limit = min(len(text), start + _IBAN_MAX + 9)
        first_end = _alnum_run_end(text, start, limit)
        ends = [first_end]  # written compactly, `NL91ABNA0417164300`
        if first_end - start == 4:
            # Printed form, `NL91 ABNA 0417 1643 00`: groups of four, the last one shorter.
            # Each group end is a possible end, because a word may follow the number.
            pos = first_end
            while pos < limit and text[pos] == " ":
                group_end = _alnum_run_end(text, pos + 1, limit)
                length = group_end - pos - 1
                if not 1 <= length <= 4:
                    break
                ends.append(group_end)
                if length < 4:
                    break
                pos = group_end
        for end in sorted(ends, reverse=True):
            if iban_is_valid(text[start:end]):
                yield ("iban", start, end, public.allows_iban(text[start:end]))
                break


# --- phone numbers and BSNs ---------------------------------------------------------------------

# A digit group (with a leading `+` for an international number) or the `(0)` of `+31 (0)6`.
_NUMBER_TOKEN = re.compile(r"\(0\)|\+?\d+")
# What may stand between two groups of one number: up to three spaces, a hyphen, dot or slash
# with spaces around it, or the brackets around an area code, `(020) 123 4567`.
_GROUP_SEPARATOR = re.compile(r"[ ]{1,3}|[ ]{0,3}[-./][ ]{0,3}|\)[ ]{0,3}|[ ]{0,3}\(")
# Dates and times are written with the same separators; their digits never belong to a number.
# A date or a time with a dot that runs on into more groups (`06-12-34-56-78`, `06.12.34.56.78`)
# is a number written in pairs, not a date.
_DATES_AND_TIMES = re.compile(
    r"(?<![\d\w])(?<!\d[-./])(?:"
    r"\d{4}[-./]\d{1,2}[-./]\d{1,2}"  # 2026-12-01
    r"|(?:0?[1-9]|[12]\d|3[01])[-./](?:0?[1-9]|1[0-2])(?:[-./](?:\d{4}|\d{2}))?"  # 1-12(-2026)
    r"|(?:[01]?\d|2[0-3])\.[0-5]\d"  # 8.30
    r")(?![\d\w])(?![-./]\d)"
    r"|(?<![\d\w])(?:[01]?\d|2[0-3]):[0-5]\d(?![\d\w])"  # 08:30
)
_MAX_GROUPS = 12  # `0 6 1 2 3 4 5 6 7 8` has ten; `+31 (0)6 12 34 56 78` seven
# Cheap tests before the full one: how many digits, and how the first group may begin.
_DIGITS = {"phone": (8, 17), "bsn": (9, 9)}
_may_start: dict[str, Callable[[list[_Token], int], bool]] = {
    # `+31…`, `0031…`, `06…`, `020…`, or `0 6 1 2 …` spelled out.
    "phone": lambda chain, i: (
        chain[i].text[0] == "+"
        or (chain[i].text[0] == "0" and len(chain[i].text) > 1)
        or (chain[i].text == "0" and [t.text for t in chain[i + 1 : i + 2]] == ["6"])
    ),
    # A BSN's groups have at least two digits.
    "bsn": lambda chain, i: len(chain[i].text) >= 2 and chain[i].text[0] not in "+(",
}


class _Token(NamedTuple):
    text: str
    start: int
    end: int


def _number_chains(text: str) -> Iterator[list[_Token]]:
    """Runs of digit groups joined by group separators, each a candidate for a number.

    A group glued to a letter (`2B`, `3e`, `NL91`) or inside a date or time belongs to no number
    and ends the run; a `+` always starts a new one."""
    in_date = bytearray(len(text))
    for m in _DATES_AND_TIMES.finditer(text):
        in_date[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
    chain: list[_Token] = []
    for m in _NUMBER_TOKEN.finditer(text):
        token = _Token(m.group(), m.start(), m.end())
        glued = (token.start > 0 and text[token.start - 1].isalpha()) or (
            token.end < len(text) and (text[token.end].isalpha() or text[token.end] == "_")
        )
        if glued or in_date[token.start]:
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
    chains: Iterable[list[_Token]],
    category: str,
    valid: Callable[[Sequence[str]], bool],
    allowed: Callable[[str], bool],
    text: str,
) -> Iterator[_Candidate]:
    """The longest valid runs of consecutive groups, scanning each chain from the left."""
    low, high = _DIGITS[category]
    for chain in chains:
        digits = [0]  # digits[k]: the digits in chain[:k], the `(0)` of `+31 (0)6` not counted
        for t in chain:
            digits.append(digits[-1] + (len(t.text.lstrip("+")) if t.text != "(0)" else 0))
        i = 0
        while i < len(chain):
            if not _may_start[category](chain, i):
                i += 1
                continue
            # Only the runs with a plausible number of digits: `digits` never decreases.
            last = min(bisect.bisect_right(digits, digits[i] + high) - 2, i + _MAX_GROUPS - 1)
            first = max(bisect.bisect_left(digits, digits[i] + low) - 1, i)
            for j in range(last, first - 1, -1):
                if valid([t.text for t in chain[i : j + 1]]):
                    start, end = chain[i].start, chain[j].end
                    yield (category, start, end, allowed(text[start:end]))
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
        # 0299) or the whole number, which keeps lists like `01 02 03 04 05` out; `0 6 1 2 …`
        # is a mobile number spelled out.
        if zeros or len(digits) != 10 or digits[0] != "0" or digits[1] == "0":
            return False
        return (
            len(groups) == 1
            or first == "06"
            or (3 <= len(first) <= 4)
            or (first == "0" and groups[1] == "6")
        )
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
