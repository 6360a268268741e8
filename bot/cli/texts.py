"""What the command line says to the admin (gettext msgids; the school's language is used)."""

from __future__ import annotations

from bot.i18n import Msg

M_BAD_DATE_OPTION = Msg("--at {value!r}: use e.g. 2026-12-01 08:00 or tomorrow 08:00.")
M_AT_TOO_FAR = Msg("--at {value!r}: at most a year ahead (until {limit}).")
M_NOT_AN_ID = Msg("{where} {value!r} is not an id: ids are whole numbers from 1 to {max}")
M_BLANK_VALUE = Msg("{where} {value!r} is empty: give a value")
M_ID_OUT_OF_RANGE = Msg("{where} {value!r} is out of range: ids are whole numbers from 1 to {max}")
# What is wrong with a command line; `command` is e.g. `klasbot deliveries`.
M_USAGE_IN = Msg("{command}: {problem}")
M_USAGE_MISSING = Msg("{command}: {param} is missing; see `{command} --help`")
M_USAGE_NEGATIVE = Msg("{command}: {value} is out of range: negative numbers are not allowed here")
M_USAGE_NO_SUCH_OPTION = Msg("{command}: unknown option {option}; see `{command} --help`")
M_USAGE_NEEDS_VALUE = Msg("{command}: option {option} needs a value")
M_USAGE_TAKES_NO_VALUE = Msg("{command}: option {option} takes no value; see `{command} --help`")
# `problem` is click's own (English) description.
M_USAGE_BAD_VALUE = Msg("{command}: invalid value for {param}: {problem}")
M_USAGE_NO_SUCH_COMMAND = Msg("{command}: unknown command {name!r}; see `{command} --help`")
M_USAGE_EXTRA = Msg("{command}: unexpected argument(s) {arguments}; see `{command} --help`")
M_USAGE_OTHER = Msg("{command}: {problem}; see `{command} --help`")
M_USAGE_NO_COMMAND = Msg("{command}: no command given; see `{command} --help`")
M_USAGE_NOT_UTF8 = Msg("klasbot: argument {value!r} is not valid UTF-8 text")
M_PLATFORM_REFUSED = Msg("the chat platform refused: {error}")
M_NO_SCHEMA = Msg("the database has no schema yet; run `klasbot db upgrade` first")
# `database` is the database's URL without its password (for SQLite: its file).
M_DB_UP_TO_DATE = Msg("database {database} is up to date (revision {revision})")
M_DB_UPGRADE_FAILED = Msg("database {database}: upgrade failed: {error}")
M_UNKNOWN_PERSON = Msg("unknown person: {ref!r} ({option} takes a sourcedId from the roster)")
M_NOT_A_DIRECTORY = Msg("{path}: not a directory")
M_NO_SUCH_FILE = Msg("{path}: no such file")
M_ROSTER_NOT_IMPORTED = Msg("roster not imported ({count} problem(s)):")
M_WOULD_ADD = Msg("would add {count} {table}: {keys}")
M_WOULD_UPDATE = Msg("would update {count} {table}: {keys}")
M_WOULD_REMOVE = Msg("would remove {count} {table}: {keys}")
M_ADDED = Msg("added {count} {table}")
M_UPDATED = Msg("updated {count} {table}")
M_REMOVED = Msg("removed {count} {table}")
M_ROSTER_UP_TO_DATE = Msg("nothing to change: the roster is up to date")
M_GROUP_CREATED = Msg("group {id} for {klas} on {platform}: {chat} ({state})")
M_CLASS_OR_PERSON = Msg("give either --class CLASS or --person PERSON")
M_NO_CODES = Msg("no codes: nobody in it is eligible (pupils get a code from their 13th birthday)")
M_ANNOUNCED = Msg("announcement {id}: {counts}")
M_HELD_UNTIL = Msg("quiet hours: held until {time}")
M_UNREACHABLE = Msg("warning: unreachable pupils: {pupils}")
M_DISPATCHED = Msg(
    "sent {sent}, notices {notices}, letters {letters}, retried {retried}, rerouted {rerouted}, "
    "failed {failed}, held {held}, waiting for another platform {waiting}"
)
M_SWEPT = Msg(
    "daily sweep: {invites} 13th-birthday codes, {reports} reports of expired codes, "
    "{groups} groups archived"
)
M_FIRED = Msg("scheduled messages: fired {fired}, missed {missed}, refused {refused}")
M_NAME_LETTERS = Msg("name the letters (keys from `klasbot letters list`) or give --all")
M_UNKNOWN_LETTERS = Msg("unknown letter(s): {keys}; see `klasbot letters list --all`")
M_MARKED_POSTED = Msg("marked {count} letter(s) as posted")
M_RUNNING = Msg("klasbot is running ({platforms}); stop with Ctrl-C")
M_STOPPED = Msg("klasbot stopped")

# Column headings of the tables.
H_CODE = Msg("code")
H_TITLE = Msg("title")
H_SCHOOL = Msg("school")
H_PUPILS = Msg("pupils")
H_STAFF = Msg("staff")
H_CLASS = Msg("class")
H_PLATFORM = Msg("platform")
H_CHAT = Msg("chat")
H_STATE = Msg("state")
H_MEMBERS = Msg("members")
H_PERSON = Msg("person")
H_SENT_BY = Msg("sent by")
H_EXPIRES = Msg("expires")
H_PROBLEM = Msg("problem")
H_KIND = Msg("kind")
H_AUTHOR = Msg("author")
H_CREATED = Msg("created")
H_TEXT = Msg("text")
H_PUPIL = Msg("pupil")
H_CHANNEL = Msg("channel")
H_REASON = Msg("reason")
H_STATUS = Msg("status")
H_ATTEMPTS = Msg("attempts")
H_LAST_ERROR = Msg("last error")
H_KEY = Msg("key")
H_RECIPIENT = Msg("recipient")
H_ADDRESS = Msg("address")
H_POSTED = Msg("posted")
H_ID = Msg("id")
H_SOURCED_ID = Msg("sourcedId")
H_PDF = Msg("pdf")

# What the codes in the tables mean, for a person reading them (`--json` keeps the codes).
_LABELS: dict[str, dict[str, Msg]] = {
    "channel": {
        "group": Msg("group", context="channel"),
        "email": Msg("e-mail", context="channel"),
        "post": Msg("letter", context="channel"),
        "unreachable": Msg("unreachable", context="channel"),
    },
    "status": {
        "pending": Msg("pending", context="delivery status"),
        "sent": Msg("sent", context="delivery status"),
        "failed": Msg("failed", context="delivery status"),
        "held": Msg("held (quiet hours)", context="delivery status"),
        "withdrawn": Msg("withdrawn", context="delivery status"),
    },
    "reason": {
        "no-group": Msg("class has no group", context="reason"),
        "under-13": Msg("under 13", context="reason"),
        "age-unknown": Msg("age unknown", context="reason"),
        "platform-age": Msg("below the app's minimum age", context="reason"),
        "not-linked": Msg("account not linked", context="reason"),
        "not-joined": Msg("not in the group yet", context="reason"),
        "left-group": Msg("left the group", context="reason"),
        "opted-out": Msg("chose not to be in the group", context="reason"),
        "group-lost": Msg("the bot lost the group", context="reason"),
        "blocked": Msg("blocked the bot", context="reason"),
        "bounced": Msg("e-mail bounced", context="reason"),
        "adult-no-contact": Msg(
            "adult without own e-mail or address (guardians only with consent)", context="reason"
        ),
    },
    "table": {
        "schools": Msg("schools", context="roster table"),
        "persons": Msg("persons", context="roster table"),
        "classes": Msg("classes", context="roster table"),
        "guardianships": Msg("guardian links", context="roster table"),
        "enrollments": Msg("enrollments", context="roster table"),
    },
    "group state": {
        "active": Msg("active", context="group state"),
        "pending": Msg("waiting for the bot's rights", context="group state"),
        "lost": Msg("lost (the bot was removed)", context="group state"),
        "archived": Msg("archived (the school year ended)", context="group state"),
    },
}


def label(kind: str, value: str | None, lang: str | None = None) -> str:
    """A table cell for code `value` of `kind` (`channel`, `status`, `reason`, `group state`,
    `kind`, `table`: the roster's tables): its label in `lang` (default: the school's); a code
    without a label (a newer one) as it is, None as empty."""
    if value is None:
        return ""
    if lang is None:
        from bot.cli.common import lang as school_language  # common imports this module

        lang = school_language()
    if kind == "kind":
        from bot.rules import kinds  # the rules (dates, babel's calendars): not for `--help`

        return kinds.kind_title(str(value), lang)
    found = _LABELS.get(kind, {}).get(str(value))
    return found(lang) if found is not None else str(value)
