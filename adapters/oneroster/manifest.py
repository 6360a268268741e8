"""manifest.csv: the OneRoster version, and which files are read and whether as bulk or delta."""

from __future__ import annotations

from adapters.oneroster.columns import CONTACTS, MANIFEST, NEEDED, OPTIONAL, V11, V12
from adapters.oneroster.csvfile import CsvTable
from adapters.oneroster.state import RosterState
from adapters.oneroster.values import same_but_case

_VERSIONS = {"1.1": V11, "1.2": V12, "1.2.0": V12, "1.2.1": V12}
_FILE_MODES = ("absent", "bulk", "delta")


def read_manifest(state: RosterState) -> bool:
    """Read manifest.csv and decide which files to read; False when nothing more can be done.

    Sets `state.version`, `state.modes` (stem -> "bulk" or "delta" for each file klasbot uses
    that exists) and `state.has_contacts`."""
    name = MANIFEST.file
    if not (state.directory / name).is_file():
        state.issue(name, None, None, "missing: a OneRoster directory must contain manifest.csv")
        return False
    table = CsvTable(
        state.directory / name, state.issues, known=MANIFEST.columns, required=MANIFEST.required
    )
    props: dict[str, tuple[str, int]] = {}
    for row in table:
        if row.damaged:
            continue
        prop = row["propertyName"]
        if prop in props:
            table.issue(
                row.line,
                "propertyName",
                f"duplicate property '{prop}' (first on line {props[prop][1]})",
            )
            continue
        props[prop] = (row["value"], row.line)
    if not table.complete:
        return False
    if "oneroster.version" not in props:
        state.issue(name, None, None, "no 'oneroster.version' row (1.1 or 1.2)")
        return False
    value, line = props["oneroster.version"]
    if value not in _VERSIONS:
        state.issue(
            name,
            line,
            "value",
            f"unsupported oneroster.version '{value}' (expected 1.1 or 1.2)",
        )
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
            state.issue(name, line, "value", f"{prop} must be absent, bulk or delta, not '{mode}'")
            continue
        declared[stem] = (mode, line)

    present = {
        p.name for p in state.directory.iterdir() if p.is_file() and p.suffix.lower() == ".csv"
    }
    for stem, (mode, line) in declared.items():
        file = f"{stem}.csv"
        if mode == "absent" and file in present:
            state.issue(name, line, "value", f"{file} is declared absent but exists")
        elif mode != "absent" and file not in present:
            state.issue(
                name,
                line,
                "value",
                f"{file} is declared {mode} but does not exist{_case_hint(file, present)}",
            )
    for file in sorted(present - {MANIFEST.file, CONTACTS.file}):
        stem = file.removesuffix(".csv")
        if stem not in listed:
            state.issue(file, None, None, f"not listed in manifest.csv (add a 'file.{stem}' row)")
    for stem in NEEDED[state.version]:
        mode, line = declared.get(stem, ("", 0))
        if mode == "absent":
            state.issue(name, line, "value", f"klasbot needs {stem}.csv but file.{stem} is absent")
        elif not mode and f"{stem}.csv" not in present:
            state.issue(
                name,
                None,
                None,
                f"klasbot needs {stem}.csv: add the file and a 'file.{stem}' row (bulk)",
            )
    # Read every file we use that exists, even when the manifest is wrong about it, so that
    # one run reports the defects inside the file too.
    for stem in NEEDED[state.version] + OPTIONAL:
        if f"{stem}.csv" in present:
            mode = declared.get(stem, ("bulk", 0))[0]
            state.modes[stem] = mode if mode in ("bulk", "delta") else "bulk"
    state.has_contacts = CONTACTS.file in present
    return True


def _case_hint(file: str, present: set[str]) -> str:
    match = same_but_case(file, present)
    if match is not None:
        return f" (found '{match}'; file names are case-sensitive)"
    return ""
