"""Rule 10: the audit trail is append-only. Only the GDPR erasure (pseudonymises a person's events,
`klasbot person erase`) and the retention purge (`klasbot purge`) change or remove audit rows, and
their storage lives in two modules of its own; everything else only appends and reads.

Checked on the source, in three layers:
- the audit tables are reachable (their models `Audit*Row`, the in-memory `AUDIT` table) only
  from the modules that declare them, the audit repositories and the erasure's modules: a new
  module that reaches them fails here and must be looked at;
- the audit repositories (`SqlAuditRepository`, `InMemoryAuditRepository`) never update or
  delete (no `update()`/`delete()`, no raw SQL, no writable view of the in-memory table);
- no module but the erasure's holds a raw UPDATE/DELETE/TRUNCATE of an audit table;
and in the schema: no foreign key from the audit tables to anything but the event itself, so
that removing a person, a class or an announcement never cascades into the trail."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from storage.models import Base

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("bot", "adapters", "storage", "config")
MAY_CHANGE_THE_AUDIT = {"storage/sql/privacy.py", "storage/memory_privacy.py"}
"""The erasure's and the purge's storage (pseudonymise, apply the retention period)."""
DECLARE_THE_AUDIT = {"storage/models.py", "storage/memory_tables.py"}
AUDIT_REPOSITORIES = {
    "storage/sql/audit.py": "SqlAuditRepository",
    "storage/memory_outbox.py": "InMemoryAuditRepository",
}
"""Where appending and reading happens: module → the repository class in it."""
AUDIT_NAMES = {"AuditEventRow", "AuditPersonRow", "AuditClassRow", "AUDIT"}
AUDIT_TABLES = ("audit_events", "audit_persons", "audit_classes")
RAW_SQL = re.compile(
    r"\b(update\s+|delete\s+from\s+|truncate\s+(table\s+)?)(" + "|".join(AUDIT_TABLES) + r")\b",
    re.IGNORECASE,
)
CHANGING_CALLS = {"update", "delete", "write", "text", "exec_driver_sql", "pop", "clear"}
"""What an audit repository never calls: SQLAlchemy's `update()`/`delete()`, raw SQL, the
in-memory store's writable view (`Tx.write`) or a dict's removals."""


def _identifiers(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.add(node.name.rsplit(".", 1)[-1])
    return found


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def reaches_the_audit(source: str) -> bool:
    return bool(_identifiers(ast.parse(source)) & AUDIT_NAMES)


def changing_calls(source: str, class_name: str) -> list[int]:
    """The lines of class `class_name` in `source` that could change stored rows."""
    [cls] = [
        n
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.ClassDef) and n.name == class_name
    ]
    return sorted(
        n.lineno for n in ast.walk(cls) if isinstance(n, ast.Call) and _called(n) in CHANGING_CALLS
    )


def raw_changes(source: str) -> list[int]:
    """The lines of `source` with a raw UPDATE, DELETE or TRUNCATE of an audit table."""
    return sorted(
        n.lineno
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and RAW_SQL.search(n.value)
    )


def _modules() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for directory in SCANNED
        for path in sorted((ROOT / directory).rglob("*.py"))
    }


def test_the_checks_see_each_way_of_changing_the_trail() -> None:
    repository = """
class InMemoryAuditRepository:
    async def add(self, events):
        self.tx.insert(AUDIT, 1, events[0])
        self.tx.read(AUDIT)
    async def forget(self):
        self.tx.write(AUDIT).clear()
        await self.session.execute(sa.delete(AuditPersonRow.__table__))
        await self.session.execute(sa.update(column.table).values(person_id="x"))
"""
    assert reaches_the_audit(repository)
    assert not reaches_the_audit("sa.update(PersonRow)\ncounts['audit_events'] = 1")
    assert reaches_the_audit("from storage.models import AuditClassRow as Row")
    assert changing_calls(repository, "InMemoryAuditRepository") == [7, 7, 8, 9]
    raw = "x = 1\nconn.exec_driver_sql('DELETE FROM audit_events WHERE id = 1')\n" + (
        "text('update audit_classes set class_id = :c')\ntext('SELECT * FROM audit_events')"
    )
    assert raw_changes(raw) == [2, 3]


def test_only_the_audits_own_modules_reach_its_tables() -> None:
    allowed = MAY_CHANGE_THE_AUDIT | DECLARE_THE_AUDIT | set(AUDIT_REPOSITORIES)
    reaching = {name for name, source in _modules().items() if reaches_the_audit(source)}
    assert reaching - allowed == set()
    assert set(AUDIT_REPOSITORIES) <= reaching  # the check looks where the trail is written


def test_the_audit_repositories_only_append_and_read() -> None:
    modules = _modules()
    for module, class_name in AUDIT_REPOSITORIES.items():
        assert changing_calls(modules[module], class_name) == [], module


def test_no_raw_sql_changes_the_trail_outside_the_erasure() -> None:
    offenders = [
        f"{name}:{line}"
        for name, source in _modules().items()
        if name not in MAY_CHANGE_THE_AUDIT
        for line in raw_changes(source)
    ]
    assert offenders == []


def test_nothing_outside_the_trail_cascades_into_it() -> None:
    for name in AUDIT_TABLES:
        table = Base.metadata.tables[name]
        targets = {fk.column.table.name for fk in table.foreign_keys}
        assert targets <= {"audit_events"}, (name, targets)
