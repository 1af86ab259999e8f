"""Apply or recreate the shipped schema (the embedded default and `reset`)."""

from __future__ import annotations

from . import db, resources


def is_empty(url: str) -> bool:
    with db.connect(url) as conn:
        return not db.read_catalog(conn).tables


def apply(url: str, *, audit_log: bool = False) -> None:
    with db.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute(resources.schema_path().read_text())
        if audit_log:
            conn.execute(resources.optional_sql("audit_log").read_text())


def reset(url: str) -> None:
    """Drop the current schema and recreate it; re-applies AuditLog when it was there."""
    with db.connect(url, autocommit=True) as conn, conn.transaction():
        had_audit = db.read_catalog(conn).has("AuditLog")
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
        from .sqltext import identifier

        conn.execute(f"DROP SCHEMA {identifier(schema)} CASCADE")
        conn.execute(f"CREATE SCHEMA {identifier(schema)}")
        conn.execute(resources.schema_path().read_text())
        if had_audit:
            conn.execute(resources.optional_sql("audit_log").read_text())
