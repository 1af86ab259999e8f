"""The core properties of requirements.md section 1, on a real PostgreSQL, through the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from helpers import NOW, cli, counts, digest, execute, query, seed

OTHER_NOW = "2026-11-01T12:00:00"


def test_first_run_on_empty_database_satisfies_every_requirement(schema_db):
    result = seed(schema_db, "--format", "json")
    summary = json.loads(result.stdout)
    assert summary["outcome"] == "first-run"
    assert summary["rows_added"] > 0
    assert summary["requirements"] and all(r["missing_after"] == 0 for r in summary["requirements"])
    assert cli("verify", "--now", NOW, url=schema_db).exit_code == 0


def test_first_run_prints_progress_and_summary_tables(schema_db):
    out = seed(schema_db).stdout
    assert "accounts" in out and "rows" in out
    assert "Rows added:" in out and "Requirements:" in out and "First run: created" in out


def test_second_run_adds_nothing_and_says_so_in_one_line(schema_db):
    seed(schema_db)
    before = digest(schema_db)
    result = seed(schema_db, "--format", "json")
    assert json.loads(result.stdout)["rows_added"] == 0
    assert json.loads(result.stdout)["outcome"] == "satisfied"
    assert digest(schema_db) == before
    text = seed(schema_db).stdout.strip().splitlines()
    assert text[-1].startswith("Already satisfied:")
    assert not any(line.startswith("Rows added") for line in text)


def test_five_runs_end_identical_to_one(new_db):
    once, five = new_db(), new_db()
    seed(once)
    for _ in range(5):
        seed(five)
    assert digest(once) == digest(five)


def test_same_seed_and_now_give_byte_identical_databases(new_db):
    a, b, c = new_db(), new_db(), new_db()
    seed(a, "--seed", "7")
    seed(b, "--seed", "7")
    seed(c, "--seed", "8")
    da, db_, dc = digest(a), digest(b), digest(c)
    assert da == db_
    assert da["User"] != dc["User"]


# Rows whose loss leaves a gap: the only membership of a user, an active link of a
# therapist at its minimum; any availability slot.
GAP_ROWS = {
    "Membership": '''SELECT "id" FROM "Membership" WHERE "userId" IN (
        SELECT "userId" FROM "Membership" GROUP BY 1 HAVING count(*) = 1)''',
    "ClientTherapist": '''SELECT "id" FROM "ClientTherapist" WHERE "status" = 'active' AND "therapistId" IN (
        SELECT "therapistId" FROM "ClientTherapist" WHERE "status" = 'active' GROUP BY 1 HAVING count(*) = 2)''',
}


def _delete_one_middle_row(url: str, table: str) -> None:
    rows = GAP_ROWS.get(table, f'SELECT "id" FROM "{table}"')
    execute(url, f'DELETE FROM "{table}" WHERE "id" = (SELECT "id" FROM ({rows}) r ORDER BY "id" '
                 f'OFFSET (SELECT count(*) / 2 FROM ({rows}) q) LIMIT 1)')


# Rooms and room groups are left out: deleting one makes PostgreSQL set "Post"."roomId" to NULL
# (ON DELETE SET NULL), a change no insert-only run can undo; their restoration is tested elsewhere.
@pytest.mark.parametrize("table", ["Membership", "TherapistAvailability", "ClientTherapist"])
def test_deleted_middle_row_is_restored_exactly(schema_db, table):
    seed(schema_db)
    before, n_before = digest(schema_db), counts(schema_db)
    _delete_one_middle_row(schema_db, table)
    assert counts(schema_db)[table] < n_before[table]
    summary = json.loads(seed(schema_db, "--format", "json").stdout)
    assert summary["outcome"] == "top-up"
    assert counts(schema_db) == n_before
    assert digest(schema_db) == before


def test_hand_made_user_is_untouched_and_counts_toward_minimums(schema_db):
    execute(schema_db, """
        INSERT INTO "Community" ("id", "name", "slug", "description", "imageUrl", "updatedAt")
        VALUES ('hand-community', 'Hand Made Circle', 'hand-made', 'Our own test community', 'x.jpg', '2025-01-01');
        INSERT INTO "User" ("id", "email", "firstName", "lastName", "role", "createdAt", "updatedAt")
        VALUES ('hand-user', 'dev@example.org', 'Dev', 'Eloper', 'client', '2025-01-01', '2025-01-02');
        INSERT INTO "Client" ("userId", "createdAt", "updatedAt") VALUES ('hand-user', '2025-01-01', '2025-01-01');
        INSERT INTO "Membership" ("id", "communityId", "userId", "joinedAt")
        VALUES ('hand-membership', 'hand-community', 'hand-user', '2025-01-03');
    """)
    snapshot = query(schema_db, """
        SELECT u::text, c::text, m::text FROM "User" u JOIN "Client" c ON c."userId" = u."id"
        JOIN "Membership" m ON m."userId" = u."id" WHERE u."id" = 'hand-user'""")
    seed(schema_db, "--force")
    after = query(schema_db, """
        SELECT u::text, c::text, m::text FROM "User" u JOIN "Client" c ON c."userId" = u."id"
        JOIN "Membership" m ON m."id" = 'hand-membership' WHERE u."id" = 'hand-user'""")
    assert after == snapshot
    # The hand-made membership counts toward community_members = 8 of the hand-made community:
    # 7 clients or therapists joined it, not 8 (its moderator is a member on top).
    assert query(schema_db, """SELECT count(*) FROM "Membership" m JOIN "User" u ON u."id" = m."userId"
                               WHERE m."communityId" = 'hand-community' AND u."role" IN ('client', 'therapist')
                            """)[0][0] == 8


def _psql() -> str:
    system = shutil.which("psql")
    if system:
        return system
    from seeder import embedded

    return str(embedded.psql_path())


def test_rendered_script_applied_with_psql_equals_run(new_db):
    ran, applied = new_db(), new_db()
    seed(ran)
    script = cli("render", "--now", NOW).stdout
    assert script == cli("render", "--now", NOW).stdout, "two renders must be byte-identical"
    proc = subprocess.run([_psql(), "-q", "-v", "ON_ERROR_STOP=1", "-X", "-d", applied],
                          input=script, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert digest(applied) == digest(ran)


def _unmeetable(tmp_path) -> str:
    """A user enricher whose rule can never hold: every run must roll back."""
    (tmp_path / "never.sql.j2").write_text(
        "-- name: never\n-- tier: 9\n-- depends: accounts\n-- tables: User\n"
        "-- requirement: never_holds: a rule no database meets\n"
        '{% call check("never_holds") %}SELECT \'always\' AS entity{% endcall %}\n')
    return str(tmp_path)


def test_rendered_script_rolls_back_on_unmet_requirement(schema_db, tmp_path):
    script = cli("render", "--now", NOW, "--templates", _unmeetable(tmp_path)).stdout
    proc = subprocess.run([_psql(), "-q", "-v", "ON_ERROR_STOP=1", "-X", "-d", schema_db],
                          input=script, text=True, capture_output=True)
    assert proc.returncode != 0 and "never_holds" in proc.stderr
    assert sum(counts(schema_db).values()) == 0


def test_audit_changes_nothing_and_reports_what_run_would_add(schema_db):
    before = digest(schema_db)
    result = cli("audit", "--now", NOW, "--format", "json", url=schema_db)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["outcome"] == "audit" and summary["rows_by_table"]["User"] == 30
    assert digest(schema_db) == before
    ran = json.loads(seed(schema_db, "--format", "json").stdout)
    assert ran["rows_by_table"] == summary["rows_by_table"]


def test_audit_only_environment_variable_is_audit(schema_db):
    result = cli("run", "--now", NOW, url=schema_db, env={"SEED_AUDIT_ONLY": "true"})
    assert result.exit_code == 0 and "Audit only, nothing changed" in result.stdout
    assert sum(counts(schema_db).values()) == 0


def test_failing_enricher_leaves_database_unchanged_and_is_named(schema_db, tmp_path):
    seed(schema_db)
    before = digest(schema_db)
    (tmp_path / "broken.sql.j2").write_text(
        "-- name: broken\n-- tier: 9\n-- depends: accounts\n-- tables: User\n"
        '{% call fill("User", "bad") %}INSERT INTO "User" SELECT * FROM "User" WHERE 1 / 0 = 1{% endcall %}\n')
    result = cli("run", "--now", NOW, "--templates", str(tmp_path), "--force", url=schema_db)
    assert result.exit_code == 2
    assert "enricher broken" in result.stderr and "division by zero" in result.stderr
    assert "Traceback" not in result.stderr
    assert digest(schema_db) == before


def test_database_without_schema_names_missing_table_and_the_fix(empty_db):
    result = cli("run", "--now", NOW, url=empty_db)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert 'table "User" does not exist' in lines[0] and "schema.sql" in lines[0]


def test_unmet_requirement_rolls_back_with_table_of_violations(schema_db, tmp_path):
    result = cli("run", "--now", NOW, "--templates", _unmeetable(tmp_path), url=schema_db)
    assert result.exit_code == 1
    assert "never_holds" in result.stderr and "violators" in result.stderr and "always" in result.stderr
    assert sum(counts(schema_db).values()) == 0


def test_verify_exits_1_on_unmet_requirements(schema_db):
    result = cli("verify", "--now", NOW, url=schema_db)
    # An empty database meets every "every X has N" requirement vacuously, except none: so seed and
    # then remove a room to break one.
    assert result.exit_code == 0
    seed(schema_db)
    execute(schema_db, 'DELETE FROM "Room" WHERE "id" IN (SELECT "id" FROM "Room" ORDER BY "id" LIMIT 5)')
    broken = cli("verify", "--now", NOW, url=schema_db)
    assert broken.exit_code == 1 and "room_group_rooms" in broken.stdout + broken.stderr


def test_deleted_room_comes_back_with_its_id_and_values(schema_db):
    seed(schema_db)
    room = query(schema_db, """SELECT r."id", r::text FROM "Room" r WHERE r."roomGroupId" IN (
        SELECT "roomGroupId" FROM "Room" GROUP BY 1 HAVING count(*) = 2) ORDER BY r."id" LIMIT 1""")[0]
    execute(schema_db, 'DELETE FROM "Room" WHERE "id" = %s', (room[0],))
    seed(schema_db)
    assert query(schema_db, 'SELECT r::text FROM "Room" r WHERE r."id" = %s', (room[0],)) == [(room[1],)]


def test_raising_client_posts_adds_exactly_two_posts_per_client(schema_db):
    """--set client_posts=7 on a seeded database: 2 more posts per client, no other post; the only other
    rows are what the new posts themselves require (their comments and hearts)."""
    seed(schema_db)
    per_user = dict(query(schema_db, 'SELECT u."id", count(p."id") FROM "User" u LEFT JOIN "Post" p ON p."userId" = u."id" GROUP BY 1'))
    roles = dict(query(schema_db, 'SELECT "id", "role" FROM "User"'))
    old_posts = {r[0] for r in query(schema_db, 'SELECT "id" FROM "Post"')}
    old_comments = {r[0] for r in query(schema_db, 'SELECT "id" FROM "Comment"')}
    before = counts(schema_db)
    summary = json.loads(seed(schema_db, "--set", "client_posts=7", "--format", "json").stdout)
    after = dict(query(schema_db, 'SELECT u."id", count(p."id") FROM "User" u LEFT JOIN "Post" p ON p."userId" = u."id" GROUP BY 1'))
    for user, n in after.items():
        assert n - per_user[user] == (2 if roles[user] == "client" else 0), (user, roles[user])
    clients = sum(1 for r in roles.values() if r == "client")
    assert summary["rows_by_table"]["Post"] == 2 * clients
    grown = {t for t, n in counts(schema_db).items() if n != before[t]}
    assert grown <= {"Post", "Comment", "PostHeart", "CommentHeart"}, grown
    # Nothing beyond the new posts' own needs: every new comment is on a new post.
    new_comments = query(schema_db, 'SELECT "id", "postId" FROM "Comment"')
    added = [post for cid, post in new_comments if cid not in old_comments]
    assert added and all(post not in old_posts for post in added)


def test_a_later_run_with_a_later_anchor_succeeds(schema_db):
    """Time moves on: rules tied to the anchor must not make every later run fail."""
    seed(schema_db)
    result = seed(schema_db, now="2027-03-01T08:00:00")
    assert "requirement" not in result.stderr
