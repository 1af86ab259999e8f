"""blocks enricher (UserBlock) on a real PostgreSQL.

Requirements and data rules are proved by querying the database for violations (not by trusting the tool's
checks), once per module and scale (1 and 10) on a database seeded with `--only blocks` (which pulls
accounts and relationships). Restore, idempotency and determinism tests use fresh databases.
"""

from __future__ import annotations

import json
import math

import pytest

from conftest import seeded_database
from helpers import NOW, counts, digest, execute, query, seed, one

ONLY = ["--only", "blocks"]
ANCHOR = NOW.replace("T", " ")



def run_json(url: str, *extra: str) -> dict:
    return json.loads(seed(url, *ONLY, "--format", "json", *extra).stdout)


@pytest.fixture(scope="module", params=[1, 10], ids=["scale1", "scale10"])
def seeded(request, server_url, _templates):
    with seeded_database(server_url, _templates["plain"], *ONLY, "--scale", str(request.param)) as url:
        yield url, request.param


@pytest.fixture
def db1(schema_db):
    seed(schema_db, *ONLY)
    return schema_db


def test_blocks_per_10_clients_at_least_ceil_of_clients_over_10(seeded):
    url, scale = seeded
    clients = one(url, """SELECT count(*) FROM "User" WHERE "role" = 'client'""")
    by_clients = one(url, """SELECT count(*) FROM "UserBlock" b JOIN "User" u ON u."id" = b."blockerId" WHERE u."role" = 'client'""")
    assert clients == 18 * scale
    assert by_clients >= math.ceil(clients / 10)
    # exactly the minimum on a first run: the gap, not more
    assert one(url, 'SELECT count(*) FROM "UserBlock"') == math.ceil(clients / 10)


def test_blocks_not_own_therapist_nor_self(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT b."id" FROM "UserBlock" b
        WHERE b."blockerId" = b."blockedId"
           OR EXISTS (SELECT FROM "ClientTherapist" ct
                      WHERE (ct."clientId" = b."blockerId" AND ct."therapistId" = b."blockedId")
                         OR (ct."clientId" = b."blockedId" AND ct."therapistId" = b."blockerId"))""")
    assert one(url, """SELECT count(*) FROM "ClientTherapist" WHERE "status" = 'active'""") > 0
    assert bad == []


def test_blocks_are_between_members_with_plausible_reasons_and_times(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT b."id" FROM "UserBlock" b
        JOIN "User" a ON a."id" = b."blockerId" JOIN "User" z ON z."id" = b."blockedId"
        WHERE a."role" <> 'client' OR z."role" <> 'client'
           OR b."createdAt" < a."createdAt" OR b."createdAt" < z."createdAt" OR b."createdAt" > %s::timestamp
           OR (b."reason" IS NOT NULL AND (length(b."reason") < 15 OR b."reason" ILIKE '%%lorem%%'))""", (ANCHOR,))
    assert bad == []
    assert query(url, 'SELECT "blockerId" FROM "UserBlock" GROUP BY 1 HAVING count(*) > 1') == []


def test_second_run_adds_nothing_and_changes_nothing(db1):
    before = digest(db1)
    result = run_json(db1)
    assert result["rows_added"] == 0 and result["outcome"] == "satisfied"
    assert digest(db1) == before


def test_deleted_block_is_restored_exactly(db1):
    before_digest, before_counts = digest(db1), counts(db1)
    assert before_counts["UserBlock"] == 2
    execute(db1, 'DELETE FROM "UserBlock" WHERE "id" = (SELECT "id" FROM "UserBlock" ORDER BY "createdAt" LIMIT 1)')
    result = run_json(db1)
    assert {t: n for t, n in result["rows_by_table"].items() if n} == {"UserBlock": 1}
    assert counts(db1) == before_counts
    assert digest(db1) == before_digest


def test_hand_made_block_counts_and_stays_untouched(schema_db):
    seed(schema_db, "--only", "relationships")
    a, b = [r[0] for r in query(schema_db, """SELECT "id" FROM "User" WHERE "role" = 'client' ORDER BY "email" LIMIT 2""")]
    execute(schema_db, """INSERT INTO "UserBlock" ("id", "blockerId", "blockedId", "createdAt")
                          VALUES ('hand-made-block', %s, %s, '2026-01-01 00:00:00')""", (a, b))
    before = query(schema_db, """SELECT t::text FROM "UserBlock" t""")
    result = run_json(schema_db)
    assert query(schema_db, """SELECT t::text FROM "UserBlock" t WHERE "id" = 'hand-made-block'""") == before
    # 18 clients need 2 blocks; the hand-made one counts, so one is added
    assert result["rows_by_table"]["UserBlock"] == 1 and counts(schema_db)["UserBlock"] == 2


def test_raised_minimum_adds_only_the_gap(db1):
    result = run_json(db1, "--set", "blocks_per_10_clients=3")
    assert result["rows_by_table"]["UserBlock"] == math.ceil(3 * 18 / 10) - 2
    assert one(db1, 'SELECT count(*) FROM "UserBlock"') == math.ceil(3 * 18 / 10)


def test_only_blocks_on_a_fresh_schema_database_pulls_its_dependencies(schema_db):
    result = run_json(schema_db)
    assert set(result["rows_by_enricher"]) == {"accounts", "relationships", "blocks"}
    assert counts(schema_db)["UserBlock"] > 0
    assert [r["name"] for r in result["requirements"] if r["missing_after"]] == []


def test_two_fresh_databases_end_byte_identical(new_db):
    a, b = new_db("schema"), new_db("schema")
    seed(a, *ONLY)
    seed(b, *ONLY)
    assert digest(a) == digest(b)
