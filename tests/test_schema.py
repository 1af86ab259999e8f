"""Pin the catalog that sql/schema.sql (and sql/optional/audit_log.sql) create.

Each test applies the SQL file(s) to a fresh, empty database with one
``conn.execute(text)`` (the way the seeder applies them), dumps the catalog as
deterministic text and compares it with the committed snapshot:

* tests/expected/schema_catalog.txt     -- sql/schema.sql alone (33 tables, 11 enums)
* tests/expected/audit_log_catalog.txt  -- what sql/optional/audit_log.sql adds
  ("AuditLog" table and "AuditAction" enum)

The dump holds, for every table of the current schema: its columns in order
(format_type, NOT NULL flag, pg_get_expr default), its indexes (pg_get_indexdef)
and its constraints (name, pg_get_constraintdef); and every enum with its labels
in enumsortorder order. It is identical on PostgreSQL 15 and 18.

Regenerate the snapshots after an intended schema change with

    SEED_SQL_UPDATE_SNAPSHOT=1 python -m pytest tests/test_schema.py

which writes the files instead of comparing (review the diff before committing).
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from seeder import resources

EXPECTED = Path(__file__).resolve().parent / "expected"
SCHEMA_SNAPSHOT = EXPECTED / "schema_catalog.txt"
AUDIT_SNAPSHOT = EXPECTED / "audit_log_catalog.txt"
AUDIT_OBJECTS = {"AuditLog", "AuditAction"}


def _apply(url: str, *paths: Path) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for path in paths:
            conn.execute(path.read_text())


def catalog(url: str) -> dict[str, list[str]]:
    """Catalog of the current schema as {object label: [lines]}, every list in a fixed order."""
    out: dict[str, list[str]] = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            """
            SELECT c.oid, c.relname FROM pg_class c
            WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
            """
        ).fetchall()
        for oid, name in tables:
            lines = []
            for num, col, typ, notnull, default in conn.execute(
                """
                SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                       pg_get_expr(d.adbin, d.adrelid)
                FROM pg_attribute a
                LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY a.attnum
                """,
                (oid,),
            ):
                line = f'  column {num:2d} "{col}" {typ}'
                line += " NOT NULL" if notnull else " NULL"
                if default is not None:
                    line += f" DEFAULT {default}"
                lines.append(line)
            idx = conn.execute(
                """
                SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s
                """,
                (oid,),
            ).fetchall()
            lines += [f'  index "{n}": {d}' for n, d in sorted(idx)]
            # contype 'n' is skipped: PostgreSQL 18 records every NOT NULL as a
            # pg_constraint row ("T_col_not_null"), PostgreSQL 15 does not.
            # Nullability is already pinned by the column lines above.
            cons = conn.execute(
                """
                SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint
                WHERE conrelid = %s AND contype <> 'n'
                """,
                (oid,),
            ).fetchall()
            lines += [f'  constraint "{n}" ({t}): {d}' for n, t, d in sorted(cons)]
            out[f'table "{name}"'] = lines
        for name, labels in conn.execute(
            """
            SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
            FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
            WHERE t.typnamespace = current_schema()::regnamespace
            GROUP BY t.typname
            """
        ):
            out[f'enum "{name}"'] = [f"  {i:2d} {label}" for i, label in enumerate(labels, 1)]
    return out


def render(cat: dict[str, list[str]]) -> str:
    # Sorted in Python (code-point order), so server collation cannot change it.
    keys = sorted(cat, key=lambda k: (not k.startswith("enum "), k))
    return "".join(f"{k}\n" + "".join(f"{line}\n" for line in cat[k]) for k in keys)


def _object_name(label: str) -> str:
    return label.split('"')[1]


def _check_snapshot(text: str, path: Path) -> None:
    if os.environ.get("SEED_SQL_UPDATE_SNAPSHOT") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"{path} missing: run with SEED_SQL_UPDATE_SNAPSHOT=1 to create it"
    expected = path.read_text()
    assert text == expected, f"catalog differs from {path.name} (SEED_SQL_UPDATE_SNAPSHOT=1 rewrites it)"


def test_schema_catalog(empty_db):
    _apply(empty_db, resources.schema_path())
    cat = catalog(empty_db)
    assert sum(k.startswith("table ") for k in cat) == 33
    assert sum(k.startswith("enum ") for k in cat) == 11
    _check_snapshot(render(cat), SCHEMA_SNAPSHOT)


def test_audit_log_catalog(empty_db):
    _apply(empty_db, resources.schema_path(), resources.optional_sql("audit_log"))
    cat = catalog(empty_db)
    added = {k: v for k, v in cat.items() if _object_name(k) in AUDIT_OBJECTS}
    base = {k: v for k, v in cat.items() if _object_name(k) not in AUDIT_OBJECTS}
    assert set(added) == {'table "AuditLog"', 'enum "AuditAction"'}
    assert sum(k.startswith("table ") for k in cat) == 34
    assert sum(k.startswith("enum ") for k in cat) == 12
    _check_snapshot(render(added), AUDIT_SNAPSHOT)
    # The optional file adds its two objects and changes nothing else.
    if os.environ.get("SEED_SQL_UPDATE_SNAPSHOT") != "1":
        assert render(base) == SCHEMA_SNAPSHOT.read_text()
