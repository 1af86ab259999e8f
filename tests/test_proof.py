"""Requirements proven by an unchanged database are not re-checked (seeder/proof.py), and never wrongly."""

from __future__ import annotations

import json

import psycopg

from helpers import NOW, cli, seed

TOTAL = 64  # requirements of the default enrichers on sql/schema.sql


def run_json(url: str, *extra: str, now: str = NOW) -> dict:
    return json.loads(seed(url, "--format", "json", *extra, now=now).stdout)


def rerun_until_proven(url: str, tries: int = 3, now: str = NOW) -> dict:
    """A re-run right after a verified one; again if autovacuum happened to write in between."""
    for _ in range(tries):
        out = run_json(url, now=now)
        if out["requirements_proven"]:
            return out
    return out


def test_unchanged_database_proves_every_requirement(schema_db):
    first = run_json(schema_db)
    assert first["outcome"] == "first-run" and first["requirements_proven"] == 0
    again = rerun_until_proven(schema_db)
    assert again["outcome"] == "satisfied"
    assert again["requirements_proven"] == len(again["requirements"]) == TOTAL
    assert all(r["missing_before"] == 0 and r["missing_after"] == 0 for r in again["requirements"])


def test_checks_that_depend_on_the_anchor_still_run(schema_db):
    run_json(schema_db)
    later = rerun_until_proven(schema_db, now="2026-11-02T12:00:00")
    assert later["outcome"] == "satisfied"
    # community_recent_posts and meetings_status_time read the anchor: their SQL differs, so they run
    assert 0 < later["requirements_proven"] < TOTAL


def test_any_write_makes_every_requirement_checked_again(schema_db):
    run_json(schema_db)
    assert rerun_until_proven(schema_db)["requirements_proven"] == TOTAL
    with psycopg.connect(schema_db) as conn:  # a write no requirement cares about
        conn.execute('UPDATE "Community" SET "description" = "description" WHERE "id" IN (SELECT "id" FROM "Community" LIMIT 1)')
    out = run_json(schema_db)
    assert out["outcome"] == "satisfied" and out["requirements_proven"] == 0


def test_deleted_rows_are_found_and_restored(schema_db):
    run_json(schema_db)
    assert rerun_until_proven(schema_db)["requirements_proven"] == TOTAL
    with psycopg.connect(schema_db) as conn:
        conn.execute('DELETE FROM "Comment" WHERE "id" IN (SELECT "id" FROM "Comment" ORDER BY "id" LIMIT 5)')
    out = run_json(schema_db)
    assert out["outcome"] == "top-up" and out["requirements_proven"] == 0
    assert out["rows_by_table"].get("Comment", 0) >= 5


def test_a_writer_open_while_recording_prevents_the_proof(schema_db):
    run_json(schema_db)
    with psycopg.connect(schema_db) as other:
        # a transaction id older than the next run's, still open when that run commits and records
        other.execute('UPDATE "Community" SET "description" = "description" WHERE "id" IN (SELECT "id" FROM "Community" LIMIT 1)')
        assert run_json(schema_db)["outcome"] == "satisfied"  # the open change is invisible to it
        other.commit()
    # its commit moved no "latest completed" transaction id past the run's own, so only the refusal
    # to record a state with a transaction in progress keeps this run from trusting a stale proof
    assert run_json(schema_db)["requirements_proven"] == 0


def test_audit_always_checks_everything(schema_db):
    run_json(schema_db)
    rerun_until_proven(schema_db)
    result = cli("audit", "--now", NOW, "--format", "json", url=schema_db)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["requirements_proven"] == 0


def test_recordable_only_when_no_other_completion_can_hide():
    from seeder.proof import Snapshot, recordable

    def snap(xmin, xmax, own=None, running=()):
        return Snapshot(xmin, xmax, own, frozenset(running))

    # usual: the run's id 100 is the next one; after COMMIT xmax is 101
    assert recordable(snap(100, 100, own=100), snap(101, 101))
    # another transaction completed after the checks: xmax moved further
    assert not recordable(snap(100, 100, own=100), snap(102, 102))
    # one was running below the checks' xmax: it could complete without moving xmax past 101
    assert not recordable(snap(98, 100, own=100, running=[98]), snap(101, 101))
    # 99 was assigned (not yet completed, above the checks' xmax 99) before the run's own 100
    assert not recordable(snap(99, 99, own=100), snap(101, 101))
    # one still running below xmax after COMMIT: its completion later would not move xmax
    assert not recordable(snap(100, 100, own=100), snap(99, 101, running=[99]))
