"""The `admin-command` audit event of the command running now (rule 10: who ran which command):
which commands record one, and what of their options the event keeps."""

from __future__ import annotations

import os
from typing import Any

from bot.cli.common import click_globals
from bot.usecases import admin_commands

NOT_AUDITED: set[str] = {
    "announcements",
    "deliveries",
    "classes",
    "groups",
    "letters list",
    "holidays list",
    "schedule list",
    "reports list",
    "reports show",
    "doctor",
    "demo",
    "run",
    "dispatch",
}
"""The commands (paths without `klasbot`) that record no `admin-command` audit event: those that
change nothing, and the bot's own operation (`run`, `dispatch`: their deliveries are audited one
by one; `demo`: its own school). Every other command is recorded when it first reaches the
database (`run`), and so is every new one unless its path is added here; `--dry-run` records
nothing either. A command that never calls `run` (`db upgrade`) records nothing."""
PERSON_OPTIONS = frozenset({"--as", "--person"})
"""Options that name a person: the event is tied to them (`admin_commands.record`)."""
KEPT_OPTIONS = frozenset(
    {"--class", "--kind", "--platform", "--date", "--period", "--at", "--when", "--until"}
    | {"--except", "--chat", "keys"}
)
"""Options and arguments whose text is kept in the event: codes, ids and moments. Any other text
(`--text`, `--note`, `--reason`, `--subject`, a file name) may hold personal data: the event keeps
only that it was given (`true`). Flags and numbers are kept as they are."""


def _operator() -> str:
    """Who runs the command: the operating-system user (`by` in the audit event)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no password-database entry (a container)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "?"


def _param_key(param: Any) -> str:
    """How the event names a parameter: an option by its long flag, an argument by its name."""
    longs = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    if getattr(param, "param_type_name", "") == "option" and longs:
        return str(longs[0])
    return str(param.name)


def _names_person(param: Any) -> bool:
    if getattr(param, "param_type_name", "") == "option":
        return bool(PERSON_OPTIONS & set(param.opts))
    metavar = str(getattr(param, "metavar", None) or "").upper()
    return metavar.startswith("PERSON") or param.name in ("person", "persons")


def _kept(key: str, value: Any) -> admin_commands.Value:
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        kept = [_kept(key, v) for v in value]
        return [v for v in kept if not isinstance(v, list)]
    return str(value) if key in KEPT_OPTIONS else True


def admin_command() -> admin_commands.AdminCommand | None:
    """The `admin-command` audit event of the command running now, from its click context;
    None for a command that records none (`NOT_AUDITED`, `--dry-run`, no command running)."""
    ctx = click_globals.get_current_context(silent=True)
    if ctx is None:
        return None
    path = " ".join(ctx.command_path.split()[1:])
    if not path or path in NOT_AUDITED or ctx.params.get("dry_run"):
        return None
    options: dict[str, admin_commands.Value] = {}
    persons: dict[str, str | list[str]] = {}
    ids: dict[str, list[int]] = {"announcement_id": [], "schedule_id": [], "report_id": []}
    classes: list[str] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        source = ctx.get_parameter_source(param.name)
        if value is None or value in ((), []) or getattr(source, "name", "") in _DEFAULTS:
            continue
        key = _param_key(param)
        if _names_person(param):
            persons[key] = (
                [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
            )
            continue
        if key == "--class":
            classes.append(str(value))
        if param.name in ids and isinstance(value, int):
            ids[param.name].append(value)
        options[key] = _kept(key, value)
    return admin_commands.AdminCommand(
        by=_operator(),
        command=path,
        options=options,
        persons=persons,
        class_refs=classes,
        announcement_ids=ids["announcement_id"],
        schedule_ids=ids["schedule_id"],
        report_ids=ids["report_id"],
    )


_DEFAULTS = ("DEFAULT", "DEFAULT_MAP")
"""click's sources of a value the admin did not give."""
