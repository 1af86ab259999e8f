"""Delete about 10% of the rows of every table at random, middle rows included: one run restores every
requirement and rule, by inserts only, and a further run adds nothing."""

from __future__ import annotations

import json

import psycopg
import pytest

from helpers import NOW, cli, counts, seed, tables

# Raise on UPDATE / DELETE / TRUNCATE of any row the run did not insert itself.
GUARD = """
CREATE OR REPLACE FUNCTION seed_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' OR OLD.xmin::text <> (txid_current() % 4294967296)::text THEN
    RAISE EXCEPTION 'seed-sql touched an existing row: % on %', TG_OP, TG_TABLE_NAME;
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
"""


def _delete_random_tenth(url: str, seed_value: float) -> dict[str, int]:
    """Deletes ~10% of each table (FK cascades and SET NULLs happen as in real life); returns counts deleted."""
    deleted = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT setseed(%s)", (seed_value,))
        for table in tables(conn):
            cur = conn.execute(f'DELETE FROM "{table}" WHERE random() < 0.1')
            deleted[table] = cur.rowcount
    return deleted


def _guard(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(GUARD)
        for table in tables(conn):
            conn.execute(f'CREATE TRIGGER seed_guard BEFORE UPDATE OR DELETE ON "{table}" '
                         f"FOR EACH ROW EXECUTE FUNCTION seed_guard()")
            conn.execute(f'CREATE TRIGGER seed_guard_t BEFORE TRUNCATE ON "{table}" '
                         f"FOR EACH STATEMENT EXECUTE FUNCTION seed_guard()")


@pytest.mark.parametrize("random_seed", [0.11, 0.57])
def test_random_tenth_deleted_everywhere_is_restored_by_inserts_only(schema_db, random_seed):
    seed(schema_db)
    deleted = _delete_random_tenth(schema_db, random_seed)
    assert sum(deleted.values()) > 100
    _guard(schema_db)
    summary = json.loads(seed(schema_db, "--format", "json").stdout)
    assert summary["outcome"] == "top-up" and summary["rows_added"] > 0
    assert all(r["missing_after"] == 0 for r in summary["requirements"])
    assert cli("verify", "--now", NOW, url=schema_db).exit_code == 0
    again = json.loads(seed(schema_db, "--format", "json").stdout)
    assert again["rows_added"] == 0 and again["outcome"] == "satisfied"
    assert all(n > 0 for t, n in counts(schema_db).items() if t not in ("Payment", "PaymentMethod"))
