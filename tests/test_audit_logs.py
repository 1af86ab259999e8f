"""audit_logs enricher (optional table AuditLog) on a real PostgreSQL, with and without the table.

Requirements and data rules are proved by querying the database for violations (not by trusting the tool's
checks), once per module and scale (1 and 10) on a database with sql/optional/audit_log.sql seeded with
`--only audit_logs` (which pulls accounts, communities and reports with what reports need).
"""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from conftest import seeded_database
from helpers import NOW, counts, digest, execute, query, seed, one

ONLY = ["--only", "audit_logs"]
ANCHOR = NOW.replace("T", " ")

# an entry names an existing row: per entity, the table and its key column
EXISTS = """CASE a."entity"
  WHEN 'User' THEN EXISTS (SELECT FROM "User" x WHERE x."id" = a."entityId")
  WHEN 'Therapist' THEN EXISTS (SELECT FROM "Therapist" x WHERE x."userId" = a."entityId")
  WHEN 'Community' THEN EXISTS (SELECT FROM "Community" x WHERE x."id" = a."entityId")
  WHEN 'Post' THEN EXISTS (SELECT FROM "Post" x WHERE x."id" = a."entityId")
  WHEN 'Report' THEN EXISTS (SELECT FROM "Report" x WHERE x."id" = a."entityId")
  ELSE false END"""
ADMIN_ACTIONS = {"THERAPIST_APPLICATION_APPROVE", "THERAPIST_APPLICATION_REJECT", "ADMIN_USER_ACTIVATE", "DATA_EXPORT",
                 "THERAPIST_PROFILE_UPDATE", "ADMIN_SYSTEM_CONFIG"}


def key_id(key: str, seed_value: int = 0) -> str:
    d = hashlib.md5(f"{key}:{seed_value}".encode()).hexdigest()
    return str(uuid.UUID(d[:12] + "4" + d[13:16] + "8" + d[17:]))



def run_json(url: str, *extra: str) -> dict:
    return json.loads(seed(url, *ONLY, "--format", "json", *extra).stdout)


@pytest.fixture(scope="module", params=[1, 10], ids=["scale1", "scale10"])
def seeded(request, server_url, _templates):
    with seeded_database(server_url, _templates["audit"], *ONLY, "--scale", str(request.param)) as url:
        yield url, request.param


@pytest.fixture
def db1(audit_db):
    seed(audit_db, *ONLY)
    return audit_db


def test_staff_audit_entries_every_admin_and_moderator_has_3_about_existing_rows(seeded):
    url, scale = seeded
    rows = query(url, f"""
        SELECT u."email", count(a."id") FILTER (WHERE {EXISTS})
        FROM "User" u LEFT JOIN "AuditLog" a ON a."userId" = u."id"
        WHERE u."role" IN ('admin', 'moderator') GROUP BY 1""")
    assert len(rows) == 5 * scale
    assert [r for r in rows if r[1] < 3] == []
    # and no entry at all names a row that does not exist
    assert query(url, f'SELECT a."id" FROM "AuditLog" a WHERE NOT ({EXISTS})') == []


def test_audit_application_entries_every_processed_application_by_its_admin(seeded):
    url, scale = seeded
    bad = query(url, """
        SELECT t."userId" FROM "Therapist" t
        WHERE t."status" IN ('APPROVED', 'REJECTED') AND t."processedByAdminId" IS NOT NULL
          AND NOT EXISTS (SELECT FROM "AuditLog" a
                          WHERE a."entity" = 'Therapist' AND a."entityId" = t."userId" AND a."userId" = t."processedByAdminId"
                            AND a."action"::text = CASE t."status" WHEN 'APPROVED' THEN 'THERAPIST_APPLICATION_APPROVE'
                                                                  ELSE 'THERAPIST_APPLICATION_REJECT' END
                            AND a."createdAt" >= t."processingDate")""")
    assert one(url, """SELECT count(*) FROM "AuditLog" WHERE "action" = 'THERAPIST_APPLICATION_APPROVE'""") == 6 * scale
    assert bad == []


def test_audit_actions_fit_the_role_and_moderators_act_in_their_communities(seeded):
    url, _ = seeded
    rows = query(url, """
        SELECT u."role", a."userRole", a."action"::text, a."entity" FROM "AuditLog" a JOIN "User" u ON u."id" = a."userId" """)
    assert [r for r in rows if r[0] != r[1]] == []
    assert {r[2] for r in rows if r[0] == "admin"} <= ADMIN_ACTIONS
    assert {r[2] for r in rows if r[0] == "moderator"} == {"ADMIN_CONTENT_MODERATE"}
    assert {r[3] for r in rows if r[0] == "moderator"} >= {"Community", "Report"}
    outside = query(url, """
        SELECT a."id" FROM "AuditLog" a
        LEFT JOIN "Report" r ON a."entity" = 'Report' AND r."id" = a."entityId"
        LEFT JOIN "Comment" cm ON cm."id" = r."commentId"
        LEFT JOIN "Post" p ON p."id" = CASE a."entity" WHEN 'Post' THEN a."entityId" ELSE coalesce(r."postId", cm."postId") END
        LEFT JOIN "Room" rm ON rm."id" = p."roomId" LEFT JOIN "RoomGroup" rg ON rg."id" = rm."roomGroupId"
        WHERE a."userRole" = 'moderator'
          AND NOT EXISTS (SELECT FROM "ModeratorCommunity" mc WHERE mc."moderatorId" = a."userId"
                          AND mc."communityId" = CASE a."entity" WHEN 'Community' THEN a."entityId" ELSE rg."communityId" END)""")
    assert outside == []


def test_audit_entries_are_complete_and_causal(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT a."id" FROM "AuditLog" a JOIN "User" u ON u."id" = a."userId"
        WHERE a."createdAt" < u."createdAt" OR a."createdAt" > %s::timestamp
           OR length(a."description") < 20 OR a."newValues" IS NULL OR a."metadata" IS NULL
           OR a."ipAddress" !~ '^\\d+\\.\\d+\\.\\d+\\.\\d+$' OR a."userAgent" NOT LIKE 'Mozilla/5.0%%'
           OR a."requestId" NOT LIKE 'req\\_%%'""", (ANCHOR,))
    assert bad == []
    late = query(url, """
        SELECT a."id" FROM "AuditLog" a JOIN "Report" r ON a."entity" = 'Report' AND r."id" = a."entityId"
        WHERE a."createdAt" < r."updatedAt" OR r."status" = 'PENDING'""")
    assert late == []


def test_second_run_adds_nothing_and_changes_nothing(db1):
    before = digest(db1)
    result = run_json(db1)
    assert result["rows_added"] == 0 and result["outcome"] == "satisfied"
    assert digest(db1) == before


def test_deleted_entries_in_the_middle_are_restored_exactly(db1):
    before_digest, before_counts = digest(db1), counts(db1)
    moderator = one(db1, """SELECT "id" FROM "User" WHERE "role" = 'moderator' ORDER BY "email" LIMIT 1""")
    middle = key_id(f"audit:staff:{moderator}:2")
    therapist = one(db1, """SELECT "userId" FROM "Therapist" WHERE "status" = 'APPROVED' ORDER BY "userId" LIMIT 1""")
    approval = key_id(f"audit:application:{therapist}")
    assert one(db1, 'SELECT count(*) FROM "AuditLog" WHERE "id" IN (%s, %s)', (middle, approval)) == 2
    execute(db1, 'DELETE FROM "AuditLog" WHERE "id" IN (%s, %s)', (middle, approval))
    result = run_json(db1)
    assert {t: n for t, n in result["rows_by_table"].items() if n} == {"AuditLog": 2}
    assert counts(db1) == before_counts
    assert digest(db1) == before_digest


def test_entries_about_missing_rows_do_not_count_and_stay_untouched(db1):
    moderator = one(db1, """SELECT "id" FROM "User" WHERE "role" = 'moderator' ORDER BY "email" LIMIT 1""")
    execute(db1, 'DELETE FROM "AuditLog" WHERE "userId" = %s', (moderator,))
    execute(db1, """
        INSERT INTO "AuditLog" ("id", "action", "entity", "entityId", "userId", "userRole", "createdAt")
        SELECT 'hand-made-' || i, 'ADMIN_CONTENT_MODERATE', 'Post', 'no-such-post-' || i, %s, 'moderator', '2026-01-01'
        FROM generate_series(1, 3) i""", (moderator,))
    before = query(db1, """SELECT t::text FROM "AuditLog" t WHERE "id" LIKE 'hand-made-%%' ORDER BY 1""")
    result = run_json(db1)
    assert query(db1, """SELECT t::text FROM "AuditLog" t WHERE "id" LIKE 'hand-made-%%' ORDER BY 1""") == before
    assert result["rows_by_table"]["AuditLog"] == 3
    assert one(db1, f"""SELECT count(*) FROM "AuditLog" a WHERE a."userId" = %s AND {EXISTS}""", (moderator,)) == 3


def test_only_audit_logs_on_a_fresh_audit_database_pulls_its_dependencies(audit_db):
    result = run_json(audit_db)
    assert {"accounts", "communities", "reports", "audit_logs"} <= set(result["rows_by_enricher"])
    assert counts(audit_db)["AuditLog"] > 0
    assert [r["name"] for r in result["requirements"] if r["missing_after"]] == []


def test_without_the_table_the_enricher_is_skipped_with_one_line(schema_db):
    text = seed(schema_db, *ONLY).stdout
    lines = [ln for ln in text.splitlines() if "audit_logs" in ln]
    assert len(lines) == 1 and "skipped" in lines[0] and '"AuditLog"' in lines[0]
    assert "AuditLog" not in counts(schema_db)
    result = run_json(schema_db)
    assert "audit_logs" in result["skipped"] and result["rows_added"] == 0
    assert "staff_audit_entries" not in {r["name"] for r in result["requirements"]}


def test_two_fresh_databases_end_byte_identical(new_db):
    a, b = new_db("audit"), new_db("audit")
    seed(a, *ONLY)
    seed(b, *ONLY)
    assert digest(a) == digest(b)
