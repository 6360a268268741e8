"""Checking and converting single cell values of a OneRoster row; every defect becomes an issue
at the value's line and column.

Values are taken exactly as written: nothing is trimmed or evaluated, except the items of a list
cell (`"id1, id2"`)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import date, datetime
from typing import NamedTuple

from adapters.oneroster.columns import EXT_PREFIX, USER_ROLES
from adapters.oneroster.csvfile import CsvTable
from bot.domain import Role
from bot.i18n import Msg

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Deliberately loose: it catches values that are plainly not an address (a name, a phone number,
# a formula) without rejecting unusual but valid ones.
_EMAIL = re.compile(r"[^@\s,;:<>\"()\[\]]+@[^@\s,;:<>\"()\[\]]+\.[^@\s,;:<>\"()\[\]]+")

M_REQUIRED = Msg("required value is empty")
M_NOT_A_DATE = Msg("not a date (YYYY-MM-DD): '{value}'")
M_NO_SUCH_DATE = Msg("no such date: '{value}'")
M_NOT_A_DATETIME = Msg("not a date-time (YYYY-MM-DDTHH:MM:SS.sssZ): '{value}'")
M_NOT_A_BOOLEAN = Msg("not a boolean (true or false): '{value}'")
M_NOT_AN_EMAIL = Msg("not an e-mail address: '{value}'")


class Terms(NamedTuple):
    """What to say of a value that is not in a vocabulary: when it differs from a term only in
    letter case (`value`, `match`), and otherwise (`value`, `terms`: the vocabulary listed)."""

    case: Msg
    unknown: Msg


ROLE_TERMS = Terms(
    Msg("unknown role '{value}' (values are case-sensitive: did you mean '{match}'?)"),
    Msg("unknown role '{value}' (expected one of: {terms})"),
)
ROLE_TYPE_TERMS = Terms(
    Msg("unknown roleType '{value}' (values are case-sensitive: did you mean '{match}'?)"),
    Msg("unknown roleType '{value}' (expected one of: {terms})"),
)
ORG_TYPE_TERMS = Terms(
    Msg("unknown org type '{value}' (values are case-sensitive: did you mean '{match}'?)"),
    Msg("unknown org type '{value}' (expected one of: {terms})"),
)
ENROLLMENT_ROLE_TERMS = Terms(
    Msg("unknown enrollment role '{value}' (values are case-sensitive: did you mean '{match}'?)"),
    Msg("unknown enrollment role '{value}' (expected one of: {terms})"),
)


def split(value: str) -> list[str]:
    """Items of a OneRoster list cell (`"id1,id2"`); spaces after commas are tolerated."""
    return [item.strip() for item in value.split(",") if item.strip()]


def split_ids(value: str) -> tuple[str, ...]:
    """`split` as a tuple; a cell of plain ids (no white space, no empty item) is split at once."""
    plain = value.split() == [value] and ",," not in value and value[0] != "," != value[-1]
    return tuple(value.split(",")) if plain else tuple(split(value))


def is_ext(value: str) -> bool:
    return value.startswith(EXT_PREFIX) and len(value) > len(EXT_PREFIX)


def same_but_case(value: str, names: Iterable[str]) -> str | None:
    """The first of `names` that equals `value` except for letter case, or None."""
    for name in names:
        if name.lower() == value.lower():
            return name
    return None


def required_value(table: CsvTable, line: int, column: str, value: str) -> str:
    if not value:
        table.issue(line, column, M_REQUIRED)
    return value


def check_term(
    table: CsvTable,
    line: int,
    column: str,
    value: str,
    vocabulary: Collection[str],
    terms: Terms,
    *,
    ext_ok: bool = False,
) -> None:
    """Report a non-empty value that is not in `vocabulary` (nor an `ext:` term, when `ext_ok`)."""
    if not value or value in vocabulary or (ext_ok and is_ext(value)):
        return
    names = sorted(vocabulary)
    match = same_but_case(value, names)
    if match is not None:
        table.issue(line, column, terms.case, value=value, match=match)
    else:
        table.issue(line, column, terms.unknown, value=value, terms=", ".join(names))


def user_role(table: CsvTable, line: int, column: str, value: str) -> Role | None:
    """A person role (users.role in 1.1, roles.role in 1.2) as klasbot's Role; `ext:` is OTHER."""
    role = USER_ROLES.get(value)
    if role is not None:
        return role
    required_value(table, line, column, value)
    check_term(table, line, column, value, USER_ROLES, ROLE_TERMS, ext_ok=True)
    return Role.OTHER if is_ext(value) else None


def date_value(table: CsvTable, line: int, column: str, value: str) -> date | None:
    if not value:
        return None
    if not _DATE.fullmatch(value):
        table.issue(line, column, M_NOT_A_DATE, value=value)
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        table.issue(line, column, M_NO_SUCH_DATE, value=value)
        return None


def check_datetime(table: CsvTable, line: int, column: str, value: str) -> None:
    if not value:
        return
    try:
        datetime.fromisoformat(value)
    except ValueError:
        table.issue(line, column, M_NOT_A_DATETIME, value=value)


def bool_value(
    table: CsvTable, line: int, column: str, value: str, *, required: bool = False
) -> bool | None:
    if value == "true":
        return True
    if value == "false":
        return False
    if value:
        table.issue(line, column, M_NOT_A_BOOLEAN, value=value)
    elif required:
        table.issue(line, column, M_REQUIRED)
    return None


def email_value(table: CsvTable, line: int, column: str, value: str) -> str | None:
    if not value:
        return None
    if not _EMAIL.fullmatch(value):
        table.issue(line, column, M_NOT_AN_EMAIL, value=value)
        return None
    return value
