"""How long the values klasbot keeps may be, in characters: one table for the database schema
(`storage.models` sizes its columns from it) and for the roster import, which refuses a longer
value with its file, line and column before anything is written (PostgreSQL would refuse it with
a bare database error; SQLite would silently keep it)."""

from __future__ import annotations

SOURCED_ID = 255
"""A OneRoster sourcedId (the standard: under 256 characters)."""
NAME = 255
"""A person's given, middle or family name; a school's name; a class's title and code."""
EMAIL = 320
"""An e-mail address (RFC 3696: 64 + 1 + 255)."""
USERNAME = 255
"""A school account's sign-in name (OneRoster users.csv `username`, e.g. a Microsoft 365 UPN)."""
STREET = 255
POSTAL_CODE = 20
CITY = 255
