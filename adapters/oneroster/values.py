"""Checking and converting single cell values of a OneRoster row; every defect becomes an issue.

Values are taken exactly as written: nothing is trimmed or evaluated, except the items of a list
cell (`"id1, id2"`)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import date, datetime

from adapters.oneroster.columns import EXT_PREFIX, USER_ROLES
from adapters.oneroster.csvfile import CsvTable, Row
from bot.domain import Role

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Deliberately loose: it catches values that are plainly not an address (a name, a phone number,
# a formula) without rejecting unusual but valid ones.
_EMAIL = re.compile(r"[^@\s,;:<>\"()\[\]]+@[^@\s,;:<>\"()\[\]]+\.[^@\s,;:<>\"()\[\]]+")


def split(value: str) -> list[str]:
    """Items of a OneRoster list cell (`"id1,id2"`); spaces after commas are tolerated."""
    return [item.strip() for item in value.split(",") if item.strip()]


def is_ext(value: str) -> bool:
    return value.startswith(EXT_PREFIX) and len(value) > len(EXT_PREFIX)


def same_but_case(value: str, names: Iterable[str]) -> str | None:
    """The first of `names` that equals `value` except for letter case, or None."""
    for name in names:
        if name.lower() == value.lower():
            return name
    return None


def required_value(table: CsvTable, row: Row, column: str) -> str:
    value = row[column]
    if not value:
        table.issue(row.line, column, "required value is empty")
    return value


def check_term(
    table: CsvTable,
    row: Row,
    column: str,
    vocabulary: Collection[str],
    noun: str,
    *,
    ext_ok: bool = False,
) -> None:
    """Report a non-empty value that is not in `vocabulary` (nor an `ext:` term, when `ext_ok`)."""
    value = row[column]
    if not value or value in vocabulary or (ext_ok and is_ext(value)):
        return
    names = sorted(vocabulary)
    match = same_but_case(value, names)
    if match is not None:
        hint = f" (values are case-sensitive: did you mean '{match}'?)"
    else:
        hint = f" (expected one of: {', '.join(names)})"
    table.issue(row.line, column, f"unknown {noun} '{value}'{hint}")


def user_role(table: CsvTable, row: Row, column: str) -> Role | None:
    """A person role (users.role in 1.1, roles.role in 1.2) as klasbot's Role; `ext:` is OTHER."""
    value = required_value(table, row, column)
    check_term(table, row, column, USER_ROLES, "role", ext_ok=True)
    if value in USER_ROLES:
        return USER_ROLES[value]
    return Role.OTHER if is_ext(value) else None


def date_value(table: CsvTable, row: Row, column: str) -> date | None:
    value = row[column]
    if not value:
        return None
    if not _DATE.fullmatch(value):
        table.issue(row.line, column, f"not a date (YYYY-MM-DD): '{value}'")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        table.issue(row.line, column, f"no such date: '{value}'")
        return None


def check_datetime(table: CsvTable, row: Row, column: str) -> None:
    value = row[column]
    if not value:
        return
    try:
        datetime.fromisoformat(value)
    except ValueError:
        table.issue(row.line, column, f"not a date-time (YYYY-MM-DDTHH:MM:SS.sssZ): '{value}'")


def bool_value(table: CsvTable, row: Row, column: str, *, required: bool = False) -> bool | None:
    value = required_value(table, row, column) if required else row[column]
    if value == "true":
        return True
    if value == "false":
        return False
    if value:
        table.issue(row.line, column, f"not a boolean (true or false): '{value}'")
    return None


def email_value(table: CsvTable, row: Row, column: str) -> str | None:
    value = row[column]
    if not value:
        return None
    if not _EMAIL.fullmatch(value):
        table.issue(row.line, column, f"not an e-mail address: '{value}'")
        return None
    return value
