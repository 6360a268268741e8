"""Rule 5's names: every pupil of the school in every form a text may carry them (given,
preferred and family names with tussenvoegsels, possessives, handles), and when a name that is
also a word counts as a name (`bot.rules.content`)."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from bot.domain import Person, Role
from bot.rules.normalise import _CONFUSABLES, _Candidate, _normalise, _Normalised

# --- names --------------------------------------------------------------------------------------

# Dutch tussenvoegsels and the foreign prefixes the BRP records the same way (its table of
# voorvoegsels), as single words: a family name is never matched by these alone.
TUSSENVOEGSELS: frozenset[str] = frozenset(
    """a aan af al am auf aus ben bij bin d d' da dal dalla das de dei del della den der des di die
    do don dos du el het in l l' la las le les lo los of onder op over s s' 't t te ten ter tho thoe
    thor to toe tot uijt uit unter van ver vom von voor vor zu zum zur""".split()
)

ORDINARY_WORDS: frozenset[str] = frozenset(
    """aarde akker appel arend arm baas bakker bank beek been beer berg best beuk bij blok bloem
    boer boekhouder boer bok bol boom boon bos bot bouwman brand brink broek brouwer brug bruin
    buis burg dag dal dam das dekker dijk dorp duif duin eik el engel even fleur geit goud graaf
    groen groot haag haan haas hagen hamer hand hart haven heer heide hek held hemel hen herder
    hert hoek hof hol hollander hoed hoog horst hout huis jager jong kamp kapper kat keizer kerk
    kern kip klein knecht kok koning koopman koster kraai kruis kuiper laan lam lang lange leeuw
    lente linde lucht maan man mees meer mol molen molenaar mond mos muis noor noord os paap pauw
    pek plas plein poort post prins raaf ram regen rijk rijken ridder rood roos ruiter schaap
    schilder schipper schouten slot smid smit snel snijder spaan spoor stad steen ster storm
    straat strand stroom suiker tak timmerman toren tuin veen veld ven visser vink vis vlam vogel
    vos vries vrij vroom waal wagenaar water weg weide wijn wind winter wit wolf zee zijl zilver
    zon zomer zuid zwart ben bo sterre lotte mei jet kees pien jip puck tijn wil hoop zwaan
    kroon jonker schreuder kramer wouters dijkstra""".split()
) - {"smit", "wouters", "dijkstra", "kees", "lotte", "jip", "puck", "tijn", "pien", "jet"}
"""Names that are also ordinary Dutch words: they count only where they are used as a name."""

# Where a word-name after them is a name for sure: these tussenvoegsels are not ordinary words.
_NAME_ONLY_PREFIXES = frozenset({("van", "der"), ("van", "den"), ("ter",), ("ten",), ("van", "t")})
# A capital after these starts a sentence or a quoted title (`'Hart van steen'`), not a name.
_SENTENCE_START = frozenset(".!?:;\n'\"\u201c\u201e\u00ab")
# Handles and addresses join the parts of a name with these, or with nothing.
_HANDLE_JOINERS = frozenset("_.")
_GAP_CHARS = frozenset(" -_.'")
_UNDECOMPOSED = {"ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "ı": "i", "ð": "d", "þ": "th"}


def _fold_word(word: str) -> str:
    if word.isascii():
        return word.lower()
    out = []
    for ch in unicodedata.normalize("NFKD", word.translate(_CONFUSABLES)).casefold():
        if not unicodedata.combining(ch):
            out.append(_UNDECOMPOSED.get(ch, ch))
    return "".join(out)


def _words(name: str) -> tuple[str, ...]:
    return tuple(w for w in re.split(r"[^\w']+|'", _fold_word(name)) if w)


@dataclass(frozen=True)
class _Form:
    """A way a pupil's name is written, as its words (folded); `parts` says which kind each word
    is: given (`g`), tussenvoegsel (`t`) or family core (`f`)."""

    words: tuple[str, ...]
    parts: tuple[str, ...]
    possessive: bool = False

    @property
    def key(self) -> str:
        return "".join(self.words)

    @property
    def boundaries(self) -> frozenset[int]:
        offsets, pos = set(), 0
        for w in self.words[:-1]:
            pos += len(w)
            offsets.add(pos)
        return frozenset(offsets)

    @property
    def word_like(self) -> bool:
        """A single word-name or a tussenvoegsel with a word-core: needs to be used as a name."""
        last = self.words[-1]
        return "g" not in self.parts[:-1] and (
            last in ORDINARY_WORDS or (self.possessive and last[:-1] in ORDINARY_WORDS)
        )


def _forms(pupil: Person) -> set[_Form]:
    preferred = pupil.preferred_given_name
    givens = {w for w in (_words(pupil.given_name), _words(preferred)) if w}
    middle = _words(pupil.middle_name)
    family = _words(pupil.family_name)
    core = list(family)
    while len(core) > 1 and core[0] in TUSSENVOEGSELS:
        core.pop(0)
    if core and all(w in TUSSENVOEGSELS for w in core):
        core = []  # a family name made only of prefix words would match everyday words
    families: set[_Form] = set()
    if core:
        for words in {tuple(core), family, middle + family, middle + tuple(core)}:
            n_prefix = len(words) - len(core)
            families.add(_Form(words, ("t",) * n_prefix + ("f",) * len(core)))
    forms: set[_Form] = {_Form(g, ("g",) * len(g)) for g in givens} | families
    for g in givens:
        forms |= {_Form(g + f.words, ("g",) * len(g) + f.parts) for f in families}
    # Possessives without an apostrophe: `Daans tas`, `Zoës jas` (not after s, x or z).
    forms |= {
        _Form(f.words[:-1] + (f.words[-1] + "s",), f.parts, possessive=True)
        for f in forms
        if f.words[-1][-1:] not in ("s", "x", "z") and len(f.words[-1]) >= 2
    }

    def usable(form: _Form) -> bool:
        letters = sum(ch.isalpha() for word in form.words for ch in word)
        return letters >= 2 and not all(w in TUSSENVOEGSELS for w in form.words)

    return {form for form in forms if usable(form)}


class _WordToken(NamedTuple):
    folded: str
    start: int  # in the normalised text
    end: int


@dataclass
class NameIndex:
    """The name forms of a set of pupils, built once and used for many texts."""

    forms: dict[str, list[_Form]] = field(default_factory=dict)
    prefixes: set[str] = field(default_factory=set)
    """Every beginning of a form's key: a scan stops as soon as it can no longer become one."""
    owners: dict[str, set[str]] = field(default_factory=dict)
    """A form's key → the ids of the persons whose name it is (`occurrences`)."""

    @classmethod
    def build(cls, pupils: Iterable[Person]) -> NameIndex:
        index = cls()
        for pupil in pupils:
            for form in _forms(pupil):
                index.forms.setdefault(form.key, []).append(form)
                index.prefixes.update(form.key[:n] for n in range(1, len(form.key) + 1))
                index.owners.setdefault(form.key, set()).add(pupil.id)
        return index

    def find(self, norm: _Normalised) -> Iterator[_Candidate]:
        for start, end, _key in self._matches(norm, strict=True):
            yield ("name", start, end, False)

    def occurrences(self, text: str) -> list[tuple[int, int, frozenset[str]]]:
        """Where the names of the index stand in `text` (a dossier replaces them by pseudonyms):
        each as (start, end) in `text` and the ids of the persons whose name it is, the longest
        name at each place. Whole words in any case; a name that is also an ordinary word
        (`Bakker`, `de Jong`) only where it is written as a name or begins with a capital (at
        the start of a sentence and in a text in capitals too: better one word too many
        replaced than a name left)."""
        norm = _normalise(text)
        return [
            (*norm.span(text, start, end), frozenset(self.owners.get(key, ())))
            for start, end, key in self._matches(norm, strict=False)
        ]

    def _matches(self, norm: _Normalised, *, strict: bool) -> Iterator[tuple[int, int, str]]:
        """(start, end, form key) of each name in the normalised text, longest first. `strict`
        (rule 5): a word-name at the start of a sentence is the word, not the name."""
        if not self.forms:
            return
        text = norm.text
        tokens = list(_word_tokens(norm))
        i = 0
        while i < len(tokens):
            best: tuple[int, _Form, list[str]] | None = None
            concat = ""
            gaps: list[str] = []
            offsets: list[int] = []  # where each gap falls in `concat`
            for j in range(i, len(tokens)):
                if j > i:
                    gap = text[tokens[j - 1].end : tokens[j].start]
                    if len(gap) > 3 or not set(gap) <= _GAP_CHARS:
                        break
                    gaps.append(gap)
                    offsets.append(len(concat))
                concat += tokens[j].folded
                if concat not in self.prefixes:
                    break
                for form in self.forms.get(concat, ()):
                    # A real separator must fall between two words of the name; a removed
                    # zero-width character may fall anywhere.
                    if all(
                        not g or o in form.boundaries for g, o in zip(gaps, offsets, strict=True)
                    ) and (
                        not form.word_like
                        or self._used_as_name(text, tokens, i, j, form)
                        or (not strict and text[tokens[j].start].isupper())
                    ):
                        best = (j, form, list(gaps))
                        break
            if best is None:
                i += 1
                continue
            j = best[0]
            yield (tokens[i].start, tokens[j].end, best[1].key)
            i = j + 1

    @staticmethod
    def _used_as_name(text: str, tokens: list[_WordToken], i: int, j: int, form: _Form) -> bool:
        """Whether a word-name (`Hart`, `de Jong`) is written as a name rather than the word."""
        first, last = tokens[i], tokens[j]
        if len(form.words) > 1:
            # With its tussenvoegsel: run together or joined as in a handle (`dejong`,
            # `de_jong`), or with a tussenvoegsel that is no ordinary Dutch (`van der`).
            gaps = [text[tokens[k].end : tokens[k + 1].start] for k in range(i, j)]
            if j - i + 1 < len(form.words) or any(not g or set(g) & _HANDLE_JOINERS for g in gaps):
                return True
            if form.words[:-1] in _NAME_ONLY_PREFIXES:
                return True
            return _capitalised(text, last, tokens, j) or _after_initial(text, tokens, i)
        before = text[first.start - 1] if first.start > 0 else ""
        after = text[last.end] if last.end < len(text) else ""
        compound = (before == "-" and first.start > 1 and text[first.start - 2].isalpha()) or (
            after == "-" and last.end + 1 < len(text) and text[last.end + 1].isalpha()
        )
        if compound:
            return False
        if _after_initial(text, tokens, i):
            return True
        return _capitalised(text, first, tokens, i) and not _sentence_initial(text, first.start)


def _capitalised(text: str, token: _WordToken, tokens: list[_WordToken], k: int) -> bool:
    word = text[token.start : token.end]
    if not word[:1].isupper():
        return False
    if len(word) > 1 and word.isupper():
        # In a text written in capitals only a word among lower-case words stands out as a name.
        neighbours = [tokens[n] for n in (k - 1, k + 1) if 0 <= n < len(tokens)]
        return any(not text[t.start : t.end].isupper() for t in neighbours)
    return True


def _sentence_initial(text: str, pos: int) -> bool:
    pos -= 1
    while pos >= 0 and not text[pos].isalnum():
        if text[pos] in _SENTENCE_START:
            return True
        pos -= 1
    return pos < 0


def _after_initial(text: str, tokens: list[_WordToken], i: int) -> bool:
    """`J. bakker`, `J bakker`: a capital letter on its own right before the name."""
    if i == 0:
        return False
    prev = tokens[i - 1]
    gap = text[prev.end : tokens[i].start]
    letter = text[prev.start : prev.end]
    return len(letter) == 1 and letter.isupper() and gap in (" ", ". ", ".")


_LETTERS = re.compile(r"[^\W\d_]+")


def _word_tokens(norm: _Normalised) -> Iterator[_WordToken]:
    """Runs of letters, also split where a zero-width character was removed (one between two
    words must not join them)."""
    for m in _LETTERS.finditer(norm.text):
        start, end = m.span()
        cuts = [p for p in range(start + 1, end) if p in norm.breaks] if norm.breaks else []
        for a, b in zip([start, *cuts], [*cuts, end], strict=True):
            yield _WordToken(_fold_word(norm.text[a:b]), a, b)


def _names_key(pupils: Iterable[Person]) -> tuple[tuple[str, str, str, str], ...]:
    return tuple(
        (p.given_name, p.preferred_given_name, p.middle_name, p.family_name) for p in pupils
    )


@functools.lru_cache(maxsize=16)
def _cached_index(names: tuple[tuple[str, str, str, str], ...]) -> NameIndex:
    return NameIndex.build(
        Person("", Role.PUPIL, given, family, middle, preferred_given_name=preferred)
        for given, preferred, middle, family in names
    )


def name_index(pupils: Iterable[Person]) -> NameIndex:
    """The name index of `pupils`: a school's pupils change rarely, so the last few are kept."""
    return _cached_index(_names_key(pupils))
