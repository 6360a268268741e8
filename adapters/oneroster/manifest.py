"""manifest.csv: the OneRoster version, and which files are read and whether as bulk or delta."""

from __future__ import annotations

from adapters.oneroster.columns import CONTACTS, MANIFEST, NEEDED, OPTIONAL, V11, V12
from adapters.oneroster.csvfile import CsvTable
from adapters.oneroster.state import RosterState
from adapters.oneroster.values import same_but_case
from bot.i18n import Msg

M_NO_MANIFEST = Msg("missing: a OneRoster directory must contain manifest.csv")
M_DUPLICATE_PROPERTY = Msg("duplicate property '{property}' (first on line {first})")
M_NO_VERSION = Msg("no 'oneroster.version' row (1.1 or 1.2)")
M_UNSUPPORTED_VERSION = Msg("unsupported oneroster.version '{value}' (expected 1.1 or 1.2)")
M_BAD_FILE_MODE = Msg("{property} must be absent, bulk or delta, not '{mode}'")
M_ABSENT_BUT_EXISTS = Msg("{file} is declared absent but exists")
# `mode` is the manifest's own word: bulk or delta.
M_DECLARED_MISSING = Msg("{file} is declared {mode} but does not exist")
M_DECLARED_MISSING_CASE = Msg(
    "{file} is declared {mode} but does not exist (found '{found}'; file names are case-sensitive)"
)
M_NOT_LISTED = Msg("not listed in manifest.csv (add a 'file.{stem}' row)")
M_NEEDED_BUT_ABSENT = Msg("klasbot needs {stem}.csv but file.{stem} is absent")
M_NEEDED_MISSING = Msg("klasbot needs {stem}.csv: add the file and a 'file.{stem}' row (bulk)")

_VERSIONS = {"1.1": V11, "1.2": V12, "1.2.0": V12, "1.2.1": V12}
_FILE_MODES = ("absent", "bulk", "delta")


def read_manifest(state: RosterState) -> bool:
    """Read manifest.csv and decide which files to read; False when nothing more can be done.

    Sets `state.version`, `state.modes` (stem -> "bulk" or "delta" for each file klasbot uses
    that exists) and `state.has_contacts`."""
    name = MANIFEST.file
    if not (state.directory / name).is_file():
        state.issue(name, None, None, M_NO_MANIFEST)
        return False
    table = CsvTable(
        state.directory / name, state.issues, known=MANIFEST.columns, required=MANIFEST.required
    )
    props: dict[str, tuple[str, int]] = {}
    table.header()
    property_at, value_at = table.column("propertyName"), table.column("value")
    for row in table:
        if table.damaged:
            continue
        prop, line = row[property_at], table.line
        if prop in props:
            table.issue(
                line, "propertyName", M_DUPLICATE_PROPERTY, property=prop, first=props[prop][1]
            )
            continue
        props[prop] = (row[value_at], line)
    if not table.complete:
        return False
    if "oneroster.version" not in props:
        state.issue(name, None, None, M_NO_VERSION)
        return False
    value, line = props["oneroster.version"]
    if value not in _VERSIONS:
        state.issue(name, line, "value", M_UNSUPPORTED_VERSION, value=value)
        return False
    state.version = _VERSIONS[value]

    declared: dict[str, tuple[str, int]] = {}
    listed: set[str] = set()
    for prop, (mode, line) in props.items():
        if not prop.startswith("file."):
            continue
        stem = prop.removeprefix("file.")
        listed.add(stem)
        if mode not in _FILE_MODES:
            state.issue(name, line, "value", M_BAD_FILE_MODE, property=prop, mode=mode)
            continue
        declared[stem] = (mode, line)

    present = {
        p.name for p in state.directory.iterdir() if p.is_file() and p.suffix.lower() == ".csv"
    }
    for stem, (mode, line) in declared.items():
        file = f"{stem}.csv"
        if mode == "absent" and file in present:
            state.issue(name, line, "value", M_ABSENT_BUT_EXISTS, file=file)
        elif mode != "absent" and file not in present:
            found = same_but_case(file, present)
            if found is None:
                state.issue(name, line, "value", M_DECLARED_MISSING, file=file, mode=mode)
            else:
                state.issue(
                    name, line, "value", M_DECLARED_MISSING_CASE, file=file, mode=mode, found=found
                )
    for file in sorted(present - {MANIFEST.file, CONTACTS.file}):
        stem = file.removesuffix(".csv")
        if stem not in listed:
            state.issue(file, None, None, M_NOT_LISTED, stem=stem)
    for stem in NEEDED[state.version]:
        mode, line = declared.get(stem, ("", 0))
        if mode == "absent":
            state.issue(name, line, "value", M_NEEDED_BUT_ABSENT, stem=stem)
        elif not mode and f"{stem}.csv" not in present:
            state.issue(name, None, None, M_NEEDED_MISSING, stem=stem)
    # Read every file we use that exists, even when the manifest is wrong about it, so that
    # one run reports the defects inside the file too.
    for stem in NEEDED[state.version] + OPTIONAL:
        if f"{stem}.csv" in present:
            mode = declared.get(stem, ("bulk", 0))[0]
            state.modes[stem] = mode if mode in ("bulk", "delta") else "bulk"
    state.has_contacts = CONTACTS.file in present
    return True
