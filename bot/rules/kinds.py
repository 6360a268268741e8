"""Rule 4, permitted kinds only: a group carries only the "bijzondere aangelegenheden" of B.1.

Protocol B.1 names what a functional group app is for: "lesuitval, het opgeven van huiswerk, het
herinneren aan de gymspullen, schoolreisje, schoolkamp". Each permitted kind has typed fields
(date, period, subject, text); a draft of another kind, or with a missing, unexpected or malformed
field, is refused with a `RuleViolation` (rule "B.1") whose message says why and what is allowed.

`render_body` turns a valid draft into the text the group sees (the signature of B.2 is added by
`bot.rules.signature`). All functions are pure.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date as Date

from bot.dates import format_date
from bot.domain import AnnouncementDraft, Kind
from bot.errors import RuleViolation
from bot.i18n import Localized, Msg

RULE = "B.1"
DEFAULT_ALLOWED_KINDS: tuple[Kind, ...] = tuple(Kind)
TEXT_MAX_LENGTH = 1000
SUBJECT_MAX_LENGTH = 100

FIELDS: tuple[str, ...] = ("date", "period", "subject", "text")
"""Every field a kind may have, in the order in which problems are reported."""


@dataclass(frozen=True)
class KindSpec:
    """One permitted kind: the fields it must and may have, and its title for people."""

    name: Kind
    required: frozenset[str]
    optional: frozenset[str]
    title: Msg

    @property
    def fields(self) -> frozenset[str]:
        return self.required | self.optional


KINDS: dict[str, KindSpec] = {
    spec.name: spec
    for spec in (
        KindSpec(
            Kind.LESSON_CANCELLED,
            frozenset({"date", "period"}),
            frozenset({"subject", "text"}),
            Msg("Lesson cancelled"),
        ),
        KindSpec(
            Kind.HOMEWORK,
            frozenset({"subject", "date", "text"}),
            frozenset(),
            Msg("Homework"),
        ),
        KindSpec(
            Kind.REMINDER,
            frozenset({"text"}),
            frozenset({"date"}),
            Msg("Reminder"),
        ),
        KindSpec(
            Kind.TRIP,
            frozenset({"date", "text"}),
            frozenset({"subject"}),
            Msg("School trip"),
        ),
    )
}

_FIELD_LABEL: dict[str, Msg] = {
    "date": Msg("date"),
    "period": Msg("period"),
    "subject": Msg("subject"),
    "text": Msg("text"),
}

KIND_NOT_ALLOWED = Msg("Kind '{kind}' is not allowed. Allowed: {allowed}.")
MISSING_FIELD = Msg("{title}: field '{field_label}' is missing (option {flag}).")
UNEXPECTED_FIELD = Msg("{title} has no field '{field_label}' (option {flag}); leave it out.")
EMPTY_FIELD = Msg("Field '{field_label}' is empty (option {flag}).")
FIELD_TOO_LONG = Msg(
    "Field '{field_label}' is too long: {length} characters, at most {maximum} (option {flag})."
)
BAD_PERIOD = Msg(
    "Period '{value}' is invalid: give a period like 3 or a range like 3-4 (option --period)."
)
DATE_IN_PAST = Msg(
    "{title}: {date} has already passed; give today or a later date (option --date)."
)

# A single period ("3") or an ascending range ("3-4"); an en dash is what word processors type.
_PERIOD = re.compile(r"\s*(\d{1,2})\s*(?:[-\u2013]\s*(\d{1,2})\s*)?")


def parse_period(period: str) -> tuple[int, int] | None:
    """`"3"` → (3, 3), `"3-4"` → (3, 4); None when the text is not a period or a rising range."""
    match = _PERIOD.fullmatch(period)
    if match is None:
        return None
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else first
    if first < 1 or last < first or (match.group(2) and last == first):
        return None
    return first, last


def kind_title(kind: str, lang: str = "nl") -> str:
    """The kind's title for people (`Lesuitval`, `Huiswerk`, `Herinnering`, `Uitje`).

    An unknown kind is returned unchanged, so that records of a since-removed kind still read."""
    spec = KINDS.get(kind)
    return spec.title(lang) if spec else kind


def _field_params(kind: str, name: str) -> dict[str, object]:
    spec = KINDS[kind]
    return {
        "kind": kind,
        "field": name,
        "field_label": _FIELD_LABEL[name],
        "flag": f"--{name}",
        "title": spec.title,
    }


def parse_kind(value: str, allowed: Collection[str]) -> Kind:
    """The kind named `value` (as the CLI and configuration spell it); a name that is no kind
    klasbot knows is refused like a kind the school does not allow."""
    try:
        return Kind(value.strip().lower())
    except ValueError:
        permitted = [name for name in KINDS if name in allowed]
        raise RuleViolation(
            KIND_NOT_ALLOWED,
            rule=RULE,
            code="kind-not-allowed",
            kind=value,
            allowed=", ".join(permitted) if permitted else "-",
        ) from None


def validate_draft(
    draft: AnnouncementDraft, allowed: Collection[str], *, today: Date | None = None
) -> None:
    """Pass a draft whose kind is allowed and known and whose fields fit that kind; else raise.

    `allowed` is the school's allow-list (rule 4). Raises `RuleViolation(rule="B.1")` with code
    - `kind-not-allowed`: the kind is not in `allowed` or not a kind the bot knows;
    - `missing-field`: a required field is None (the message names the field and its CLI flag);
    - `bad-field`: a field the kind does not have is given, a given text field is blank, the text
      exceeds TEXT_MAX_LENGTH or the subject SUBJECT_MAX_LENGTH characters, or the period is not
      like `3` or `3-4`;
    - `date-in-past`: with `today` (the school's local date), the draft's date lies before it. A
      "bijzondere aangelegenheid" of B.1 is about what is coming: a lesson cancelled, homework
      due or a trip that is already over informs nobody, and is a typo (a wrong year) more often
      than not. Today itself is allowed.
    Problems are reported one at a time, in the order of `FIELDS`, the date's past last."""
    spec = KINDS.get(draft.kind)
    if spec is None or draft.kind not in allowed:
        permitted = [name for name in KINDS if name in allowed]
        raise RuleViolation(
            KIND_NOT_ALLOWED,
            rule=RULE,
            code="kind-not-allowed",
            kind=draft.kind,
            allowed=", ".join(permitted) if permitted else "-",
        )

    values: dict[str, object] = {name: getattr(draft, name) for name in FIELDS}
    for name in FIELDS:
        if name in spec.required and values[name] is None:
            raise RuleViolation(
                MISSING_FIELD, rule=RULE, code="missing-field", **_field_params(spec.name, name)
            )
    for name in FIELDS:
        if name not in spec.fields and values[name] is not None:
            raise RuleViolation(
                UNEXPECTED_FIELD, rule=RULE, code="bad-field", **_field_params(spec.name, name)
            )

    limits = {"period": None, "subject": SUBJECT_MAX_LENGTH, "text": TEXT_MAX_LENGTH}
    for name, maximum in limits.items():
        value = values[name]
        if not isinstance(value, str):
            continue
        params = _field_params(spec.name, name)
        if not value.strip():
            raise RuleViolation(EMPTY_FIELD, rule=RULE, code="bad-field", **params)
        if maximum is not None and len(value.strip()) > maximum:
            raise RuleViolation(
                FIELD_TOO_LONG,
                rule=RULE,
                code="bad-field",
                length=len(value.strip()),
                maximum=maximum,
                **params,
            )
        if name == "period" and parse_period(value) is None:
            raise RuleViolation(BAD_PERIOD, rule=RULE, code="bad-field", value=value, **params)

    day = draft.date
    if today is not None and day is not None and day < today:
        raise RuleViolation(
            DATE_IN_PAST,
            rule=RULE,
            code="date-in-past",
            date=Localized(lambda lang: format_date(day, lang)),
            **_field_params(spec.name, "date"),
        )


_PERIOD_ONE = Msg("period {first}")
_PERIOD_TWO = Msg("periods {first} and {last}")
_PERIOD_RANGE = Msg("periods {first} to {last}")
_FOR_DATE = Msg(" for {date}")
"""What a reminder with a date puts after its class: ` for Tuesday 1 December 2026`."""


def _format_period(period: str, lang: str) -> str:
    parsed = parse_period(period)
    if parsed is None:
        raise ValueError(f"not a period: {period!r}")
    first, last = parsed
    if first == last:
        return _PERIOD_ONE(lang, first=first)
    if last == first + 1:
        return _PERIOD_TWO(lang, first=first, last=last)
    return _PERIOD_RANGE(lang, first=first, last=last)


_BODY = {
    "lesson-cancelled": Msg("Lesson cancelled {cls}: {date}, {period}{subject}.{text}"),
    "homework": Msg("Homework {cls} for {subject}, due {date}: {text}"),
    "reminder": Msg("Reminder {cls}{date}: {text}"),
    "trip": Msg("School trip {cls}{subject} on {date}: {text}"),
}  # fmt: skip


def render_body(
    kind: str,
    *,
    class_code: str,
    date: Date | None,
    period: str | None,
    subject: str | None,
    text: str | None,
    lang: str = "nl",
) -> str:
    """The announcement as the group (and every fallback channel) sees it, without signature.

    Expects a draft that `validate_draft` passed; raises ValueError when a field the kind requires
    is missing (a programming error, not a person's). Subject and text are shown as written."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ValueError(f"unknown kind: {kind!r}")
    given = {"date": date, "period": period, "subject": subject, "text": text}
    missing = sorted(name for name in spec.required if given[name] is None)
    if missing:
        raise ValueError(f"{kind} needs {', '.join(missing)}; validate the draft first")

    subject_text = subject.strip() if subject else ""
    body_text = text.strip() if text else ""
    when = format_date(date, lang) if date else ""
    if kind == "lesson-cancelled":
        assert period is not None  # required above
        return _BODY[kind](
            lang,
            cls=class_code,
            date=when,
            period=_format_period(period, lang),
            subject=f" ({subject_text})" if subject_text else "",
            text=f" {body_text}" if body_text else "",
        )
    if kind == "homework":
        return _BODY[kind](lang, cls=class_code, subject=subject_text, date=when, text=body_text)
    if kind == "reminder":
        for_date = _FOR_DATE(lang, date=when) if when else ""
        return _BODY[kind](lang, cls=class_code, date=for_date, text=body_text)
    return _BODY[kind](
        lang,
        cls=class_code,
        subject=f" ({subject_text})" if subject_text else "",
        date=when,
        text=body_text,
    )
