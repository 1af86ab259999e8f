"""Community content enrichers (posts, comments, hearts, reports) on a real PostgreSQL.

Every requirement and data rule is proved by querying the database for violations, never by trusting
the tool's own checks. The property tests run once per module and scale (1 and 10) on a module-scoped
database seeded with `--only hearts --only reports` (which pull posts, comments and their tier-0/1
dependencies), so that work in progress on other enrichers cannot change what is tested here. The
gap-filling, idempotency and determinism tests use fresh databases of their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import seeded_database
from helpers import NOW, counts, digest, execute, query, seed, one, added

CONTENT = ["posts", "comments", "hearts", "reports"]
ONLY = ["--only", "hearts", "--only", "reports"]
TABLES = ["Post", "Comment", "PostHeart", "CommentHeart", "Report"]
ANCHOR = NOW.replace("T", " ")
POOLS = Path(__file__).resolve().parent.parent / "templates" / "_content"
TOPICS = ["anxiety", "depression", "adhd", "ptsd", "ocd", "bipolar", "grief", "stress", "sleep", "self-care",
          "lgbtqia", "parenting"]


def pool(kind: str) -> set[str]:
    lines = (POOLS / f"{kind}.txt").read_text(encoding="utf-8").splitlines()
    return {ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")}


def uid(key_sql: str) -> str:
    """SQL for the id seed-sql derives from a key expression with the default seed 0 (render.py's uuid)."""
    return f"overlay(overlay(md5(({key_sql}) || ':0') placing '4' from 13) placing '8' from 17)::uuid::text"


def run_json(url: str, *extra: str, expect: int = 0) -> dict:
    return json.loads(seed(url, *extra, "--format", "json", expect=expect).stdout)



def mine(url: str) -> dict[str, str]:
    d = digest(url)
    return {t: d[t] for t in TABLES + ["Membership"]}


POST_COMMUNITY = """
    SELECT p.*, rg."communityId" AS cid, c."slug"
    FROM "Post" p JOIN "Room" r ON r."id" = p."roomId" JOIN "RoomGroup" rg ON rg."id" = r."roomGroupId"
    JOIN "Community" c ON c."id" = rg."communityId" """


@pytest.fixture(scope="module", params=[1, 10], ids=["scale1", "scale10"])
def seeded(request, server_url, _templates):
    """(url, scale): a database after one first run of the content enrichers at that scale."""
    with seeded_database(server_url, _templates["plain"], *ONLY, "--scale", str(request.param)) as url:
        yield url, request.param


@pytest.fixture
def db1(schema_db):
    """A fresh database after one first run of the content enrichers at scale 1."""
    seed(schema_db, *ONLY)
    return schema_db


# --------------------------------------------------------------------------------------------------
# every table, totals, plausible values
# --------------------------------------------------------------------------------------------------


def test_every_content_table_has_rows_and_totals_are_in_range(seeded):
    url, scale = seeded
    n = counts(url)
    assert all(n[t] > 0 for t in TABLES), n
    # requirements.md section 4 gives the ranges at scale 1; larger scales stay close to N times them
    slack = 0.0 if scale == 1 else 0.05
    assert 150 * scale * (1 - slack) <= n["Post"] <= 200 * scale * (1 + slack), n["Post"]
    assert 300 * scale * (1 - slack) <= n["Comment"] <= 400 * scale * (1 + slack), n["Comment"]


def test_not_null_and_list_columns_hold_plausible_values(seeded):
    url, _ = seeded
    assert query(url, """
        SELECT "id" FROM "Post"
        WHERE "attachmentUrls" IS NULL OR "attachmentNames" IS NULL OR "attachmentSizes" IS NULL
           OR cardinality("attachmentUrls") <> cardinality("attachmentNames")
           OR cardinality("attachmentUrls") <> cardinality("attachmentSizes")
           OR length("title") < 5 OR length("content") < 20 OR "roomId" IS NULL""") == []
    assert query(url, """
        SELECT "id" FROM "Comment"
        WHERE "attachmentUrls" IS NULL OR "attachmentNames" IS NULL OR "attachmentSizes" IS NULL
           OR length("content") < 10""") == []
    assert query(url, """SELECT "id" FROM "Report" WHERE length("reason") < 4""") == []
    assert one(url, """SELECT count(*) FROM "Post" WHERE cardinality("attachmentUrls") > 0""") > 0
    text = " ".join(r[0] for r in query(url, """SELECT string_agg("title" || ' ' || "content", ' ') FROM "Post" """))
    assert "lorem" not in text.lower() and "ipsum" not in text.lower()


def test_posts_read_like_their_community_topic(seeded):
    url, _ = seeded
    general = pool("post_titles_general")
    rows = query(url, f'SELECT x."slug", x."title", x."content" FROM ({POST_COMMUNITY}) x')
    topical = 0
    for slug, title, content in rows:
        topic = slug.rsplit("-", 1)[0] if slug.rsplit("-", 1)[-1].isdigit() else slug
        kind = topic.replace("-", "_")
        assert topic in TOPICS, slug
        assert title in general | pool(f"post_titles_{kind}"), (slug, title)
        lines = pool(f"post_lines_{kind}")
        assert any(line in content for line in lines), (slug, content)
        topical += title not in general
    assert topical > len(rows) / 2
    # texts combine lists: many distinct contents
    assert one(url, 'SELECT count(DISTINCT "content") FROM "Post"') > 0.9 * len(rows)


def test_comments_use_the_phrase_lists_by_role(seeded):
    url, _ = seeded
    therapist = pool("comment_therapist")
    rows = query(url, """
        SELECT c."content", u."role", c."parentId" IS NOT NULL AND c."userId" = p."userId" AS op_reply
        FROM "Comment" c JOIN "User" u ON u."id" = c."userId" JOIN "Post" p ON p."id" = c."postId" """)
    for content, role, op_reply in rows:
        if op_reply:
            assert content in pool("comment_replies"), content
        elif role == "therapist":
            assert any(content.startswith(t) for t in therapist), content
    assert one(url, 'SELECT count(DISTINCT "content") FROM "Comment"') > 100


# --------------------------------------------------------------------------------------------------
# posts
# --------------------------------------------------------------------------------------------------


def test_client_posts_every_client_has_at_least_5_posts(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT u."email", count(p."id") FROM "User" u LEFT JOIN "Post" p ON p."userId" = u."id"
        WHERE u."role" = 'client' GROUP BY u."email" """)
    assert len(rows) == 18 * scale
    assert [r for r in rows if r[1] < 5] == []


def test_therapist_posts_every_approved_therapist_has_at_least_2_posts(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT u."email", count(p."id") FROM "User" u JOIN "Therapist" t ON t."userId" = u."id"
        LEFT JOIN "Post" p ON p."userId" = u."id"
        WHERE u."role" = 'therapist' AND t."status" = 'APPROVED' GROUP BY u."email" """)
    assert len(rows) == 6 * scale
    assert [r for r in rows if r[1] < 2] == []


def test_community_posts_every_community_has_at_least_10_posts(seeded):
    url, scale = seeded
    rows = query(url, f"""
        SELECT c."slug", count(x."id") FROM "Community" c LEFT JOIN ({POST_COMMUNITY}) x ON x.cid = c."id"
        GROUP BY c."slug" """)
    assert len(rows) == 12 * scale
    assert [r for r in rows if r[1] < 10] == []


def test_community_recent_posts_every_community_has_a_post_in_the_30_days_before_the_anchor(seeded):
    url, _ = seeded
    bad = query(url, f"""
        SELECT c."slug" FROM "Community" c
        WHERE NOT EXISTS (SELECT FROM ({POST_COMMUNITY}) x WHERE x.cid = c."id"
                          AND x."createdAt" > %s::timestamp - interval '30 days' AND x."createdAt" <= %s::timestamp)""",
                (ANCHOR, ANCHOR))
    assert one(url, 'SELECT count(*) FROM "Community"') > 0
    assert bad == []


def test_posts_in_member_rooms_every_author_is_a_member_of_the_rooms_community(seeded):
    url, _ = seeded
    bad = query(url, f"""
        SELECT x."id" FROM ({POST_COMMUNITY}) x
        WHERE NOT EXISTS (SELECT FROM "Membership" m WHERE m."userId" = x."userId" AND m."communityId" = x.cid)""")
    assert one(url, 'SELECT count(*) FROM "Post"') > 0
    assert bad == []


def test_posts_created_after_author_and_membership_and_before_the_anchor(seeded):
    url, _ = seeded
    bad = query(url, f"""
        SELECT x."id" FROM ({POST_COMMUNITY}) x
        JOIN "User" u ON u."id" = x."userId"
        JOIN "Membership" m ON m."userId" = x."userId" AND m."communityId" = x.cid
        WHERE x."createdAt" < u."createdAt" OR x."createdAt" < m."joinedAt" OR x."createdAt" > %s::timestamp
           OR x."updatedAt" < x."createdAt" OR x."updatedAt" > %s::timestamp""", (ANCHOR, ANCHOR))
    assert one(url, 'SELECT count(*) FROM "Post"') > 0
    assert bad == []


# --------------------------------------------------------------------------------------------------
# comments
# --------------------------------------------------------------------------------------------------


def test_client_comments_every_client_wrote_at_least_10_comments(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT u."email", count(c."id") FROM "User" u LEFT JOIN "Comment" c ON c."userId" = u."id"
        WHERE u."role" = 'client' GROUP BY u."email" """)
    assert len(rows) == 18 * scale
    assert [r for r in rows if r[1] < 10] == []


def test_therapist_comments_every_therapist_wrote_at_least_5_comments(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT u."email", count(c."id") FROM "User" u LEFT JOIN "Comment" c ON c."userId" = u."id"
        WHERE u."role" = 'therapist' GROUP BY u."email" """)
    assert len(rows) == 7 * scale
    assert [r for r in rows if r[1] < 5] == []


def test_post_comments_every_post_has_at_least_2_comments(seeded):
    url, _ = seeded
    rows = query(url, """
        SELECT p."id", count(c."id") FROM "Post" p LEFT JOIN "Comment" c ON c."postId" = p."id" GROUP BY p."id" """)
    assert len(rows) > 0
    assert [r for r in rows if r[1] < 2] == []


def test_comments_replies_same_post_replies_exist_and_stay_on_their_parents_post(seeded):
    url, _ = seeded
    replies = one(url, 'SELECT count(*) FROM "Comment" WHERE "parentId" IS NOT NULL')
    total = one(url, 'SELECT count(*) FROM "Comment"')
    assert 0.05 * total < replies < 0.5 * total
    assert query(url, """
        SELECT c."id" FROM "Comment" c JOIN "Comment" parent ON parent."id" = c."parentId"
        WHERE parent."postId" <> c."postId" OR c."userId" = parent."userId" """) == []
    # replies are mostly the post's author answering
    op = one(url, """
        SELECT count(*) FROM "Comment" c JOIN "Post" p ON p."id" = c."postId"
        WHERE c."parentId" IS NOT NULL AND c."userId" = p."userId" """)
    assert op > replies / 2


def test_comments_after_post_and_replies_after_their_parent_and_before_the_anchor(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT c."id" FROM "Comment" c
        JOIN "Post" p ON p."id" = c."postId"
        JOIN "User" u ON u."id" = c."userId"
        LEFT JOIN "Comment" parent ON parent."id" = c."parentId"
        WHERE c."createdAt" <= p."createdAt" OR c."createdAt" <= parent."createdAt" OR c."createdAt" < u."createdAt"
           OR c."createdAt" > %s::timestamp OR c."updatedAt" < c."createdAt" OR c."updatedAt" > %s::timestamp""",
                (ANCHOR, ANCHOR))
    assert one(url, 'SELECT count(*) FROM "Comment"') > 0
    assert bad == []


def test_commenters_are_members_of_the_posts_community(seeded):
    url, _ = seeded
    bad = query(url, f"""
        SELECT c."id" FROM "Comment" c JOIN ({POST_COMMUNITY}) x ON x."id" = c."postId"
        WHERE NOT EXISTS (SELECT FROM "Membership" m WHERE m."userId" = c."userId" AND m."communityId" = x.cid)""")
    assert one(url, 'SELECT count(*) FROM "Comment"') > 0
    assert bad == []


# --------------------------------------------------------------------------------------------------
# hearts
# --------------------------------------------------------------------------------------------------


def test_user_hearts_given_every_user_gave_at_least_3_hearts(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT u."email",
               (SELECT count(*) FROM "PostHeart" ph WHERE ph."userId" = u."id")
             + (SELECT count(*) FROM "CommentHeart" ch WHERE ch."userId" = u."id")
        FROM "User" u""")
    assert len(rows) == 30 * scale
    assert [r for r in rows if r[1] < 3] == []


def test_post_hearts_every_post_has_a_heart(seeded):
    url, _ = seeded
    rows = query(url, """
        SELECT p."id", count(ph."id") FROM "Post" p LEFT JOIN "PostHeart" ph ON ph."postId" = p."id" GROUP BY p."id" """)
    assert len(rows) > 0
    assert [r for r in rows if r[1] < 1] == []


def test_no_self_hearts_nobody_hearts_their_own_post_or_comment(seeded):
    url, _ = seeded
    assert one(url, 'SELECT count(*) FROM "PostHeart"') > 0 and one(url, 'SELECT count(*) FROM "CommentHeart"') > 0
    assert query(url, """
        SELECT ph."id" FROM "PostHeart" ph JOIN "Post" p ON p."id" = ph."postId" WHERE p."userId" = ph."userId"
        UNION ALL
        SELECT ch."id" FROM "CommentHeart" ch JOIN "Comment" c ON c."id" = ch."commentId" WHERE c."userId" = ch."userId"
        """) == []


def test_hearts_created_after_their_content_and_giver_and_before_the_anchor(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT ph."id" FROM "PostHeart" ph JOIN "Post" p ON p."id" = ph."postId" JOIN "User" u ON u."id" = ph."userId"
        WHERE ph."createdAt" <= p."createdAt" OR ph."createdAt" < u."createdAt" OR ph."createdAt" > %s::timestamp
        UNION ALL
        SELECT ch."id" FROM "CommentHeart" ch JOIN "Comment" c ON c."id" = ch."commentId" JOIN "User" u ON u."id" = ch."userId"
        WHERE ch."createdAt" <= c."createdAt" OR ch."createdAt" < u."createdAt" OR ch."createdAt" > %s::timestamp""",
                (ANCHOR, ANCHOR))
    assert one(url, 'SELECT count(*) FROM "PostHeart"') > 0
    assert bad == []


# --------------------------------------------------------------------------------------------------
# reports
# --------------------------------------------------------------------------------------------------

REPORT_COMMUNITY = """
    SELECT rp.*, rg."communityId" AS cid, coalesce(cm."userId", p."userId") AS author,
           coalesce(cm."createdAt", p."createdAt") AS target_at
    FROM "Report" rp
    LEFT JOIN "Comment" cm ON cm."id" = rp."commentId"
    JOIN "Post" p ON p."id" = coalesce(cm."postId", rp."postId")
    JOIN "Room" r ON r."id" = p."roomId" JOIN "RoomGroup" rg ON rg."id" = r."roomGroupId" """


def test_community_reports_every_moderated_community_has_a_report_about_its_content(seeded):
    url, scale = seeded
    rows = query(url, f"""
        SELECT c."slug", count(x."id") FROM "Community" c LEFT JOIN ({REPORT_COMMUNITY}) x ON x.cid = c."id"
        WHERE EXISTS (SELECT FROM "ModeratorCommunity" mc WHERE mc."communityId" = c."id")
        GROUP BY c."slug" """)
    assert len(rows) == 12 * scale
    assert [r for r in rows if r[1] < 1] == []
    # both kinds of target occur
    assert one(url, 'SELECT count(*) FROM "Report" WHERE "commentId" IS NOT NULL') > 0
    assert one(url, 'SELECT count(*) FROM "Report" WHERE "postId" IS NOT NULL') > 0


def test_reports_mixed_status_pending_reviewed_and_dismissed_all_present(seeded):
    url, _ = seeded
    statuses = {r[0]: r[1] for r in query(url, 'SELECT "status"::text, count(*) FROM "Report" GROUP BY 1')}
    assert sum(statuses.values()) >= 3
    assert set(statuses) == {"PENDING", "REVIEWED", "DISMISSED"}


def test_reports_not_by_author_reporter_is_never_the_author_and_reported_user_is(seeded):
    url, _ = seeded
    bad = query(url, f"""
        SELECT x."id" FROM ({REPORT_COMMUNITY}) x
        WHERE x."reporterId" = x.author OR x."reportedUserId" IS DISTINCT FROM x.author""")
    assert one(url, 'SELECT count(*) FROM "Report"') > 0
    assert bad == []


def test_reports_are_filed_by_members_after_the_content_and_reviewed_ones_updated_later(seeded):
    url, _ = seeded
    bad = query(url, f"""
        SELECT x."id" FROM ({REPORT_COMMUNITY}) x
        WHERE NOT EXISTS (SELECT FROM "Membership" m WHERE m."userId" = x."reporterId" AND m."communityId" = x.cid)
           OR x."createdAt" <= x.target_at OR x."createdAt" > %s::timestamp OR x."updatedAt" > %s::timestamp
           OR (x."status" = 'PENDING') <> (x."updatedAt" = x."createdAt")""", (ANCHOR, ANCHOR))
    assert one(url, 'SELECT count(*) FROM "Report"') > 0
    assert bad == []


# --------------------------------------------------------------------------------------------------
# idempotency, gap filling, determinism, hand-made rows, --only
# --------------------------------------------------------------------------------------------------


def test_second_run_adds_no_rows_and_changes_nothing(db1):
    before = digest(db1)
    out = run_json(db1, *ONLY)
    assert out["rows_added"] == 0 and added(out) == {}
    assert digest(db1) == before


def _gap_deletes(url: str) -> list[str]:
    """Rows whose loss leaves a gap in every content enricher, plus rows of the same tables in the middle of
    their sequences (ordinal 3 of a client's posts, ordinal 5 of a writer's comments, a reply, ...)."""
    client5 = one(url, """
        SELECT p."userId" FROM "Post" p JOIN "User" u ON u."id" = p."userId" WHERE u."role" = 'client'
        GROUP BY p."userId" HAVING count(*) = 5 ORDER BY p."userId" LIMIT 1""")
    post2 = one(url, """
        SELECT c."postId" FROM "Comment" c GROUP BY c."postId" HAVING count(*) = 2 ORDER BY c."postId" LIMIT 1""")
    post1 = one(url, """
        SELECT ph."postId" FROM "PostHeart" ph GROUP BY ph."postId" HAVING count(*) = 1 ORDER BY ph."postId" LIMIT 1""")
    report1 = one(url, f"""
        SELECT min(x."id") FROM ({REPORT_COMMUNITY}) x GROUP BY x.cid HAVING count(*) = 1 ORDER BY 1 LIMIT 1""")
    writer = one(url, """SELECT "id" FROM "User" WHERE "role" = 'client' ORDER BY "id" DESC LIMIT 1""")
    return [
        # posts: a middle ordinal of a client at exactly the minimum, and a community top-up post
        f"""DELETE FROM "Post" WHERE "id" = {uid(f"'post:{client5}:3'")}""",
        f"""DELETE FROM "Post" WHERE "id" IN (SELECT {uid("'post:community:' || c.id || ':2'")} FROM "Community" c)""",
        # comments: one of a post with exactly two, a middle ordinal of a writer, a reply
        f"""DELETE FROM "Comment" WHERE "id" = (SELECT min("id") FROM "Comment" WHERE "postId" = '{post2}')""",
        f"""DELETE FROM "Comment" WHERE "id" = {uid(f"'comment:{writer}:5'")}""",
        """DELETE FROM "Comment" WHERE "id" = (SELECT max("id") FROM "Comment" WHERE "parentId" IS NOT NULL)""",
        # hearts: the only heart of a post, and a comment heart
        f"""DELETE FROM "PostHeart" WHERE "postId" = '{post1}'""",
        """DELETE FROM "CommentHeart" WHERE "id" = (SELECT min("id") FROM "CommentHeart")""",
        # reports: the only report of a community
        f"""DELETE FROM "Report" WHERE "id" = '{report1}'""",
    ]


def test_deleted_rows_in_the_middle_are_restored_exactly_and_nothing_else_is_added(db1):
    before, n_before = mine(db1), counts(db1)
    for sql in _gap_deletes(db1):
        execute(db1, sql)
    n_deleted = counts(db1)
    lost = {t: n_before[t] - n_deleted[t] for t in TABLES if n_before[t] != n_deleted[t]}
    assert set(lost) == set(TABLES), lost
    out = run_json(db1, *ONLY)
    assert added(out) == lost
    assert counts(db1) == n_before
    assert mine(db1) == before


def test_posts_restore_a_deleted_membership_of_a_post_author(db1):
    """Membership of a post's author whose loss breaks no memberships requirement: posts restores it."""
    before, n_before = mine(db1), counts(db1)
    mid = one(db1, """
        SELECT m."id" FROM "Post" p
        JOIN "Room" r ON r."id" = p."roomId" JOIN "RoomGroup" rg ON rg."id" = r."roomGroupId"
        JOIN "Membership" m ON m."userId" = p."userId" AND m."communityId" = rg."communityId"
        WHERE (SELECT count(*) FROM "Membership" x WHERE x."userId" = m."userId") > 1
          AND (SELECT count(*) FROM "Membership" x WHERE x."communityId" = m."communityId") > 8
        ORDER BY m."id" LIMIT 1""")
    execute(db1, 'DELETE FROM "Membership" WHERE "id" = %s', (mid,))
    out = run_json(db1, *ONLY)
    assert added(out) == {"Membership": 1}
    assert out["rows_by_enricher"]["posts"] == 1 and out["rows_by_enricher"]["memberships"] == 0
    assert counts(db1) == n_before and mine(db1) == before


def test_reports_mixed_status_is_restored_when_a_status_is_missing(db1):
    execute(db1, """UPDATE "Report" SET "status" = 'REVIEWED'""")
    out = run_json(db1, *ONLY)
    assert added(out) == {"Report": 2}
    statuses = {r[0] for r in query(db1, 'SELECT DISTINCT "status"::text FROM "Report"')}
    assert statuses == {"PENDING", "REVIEWED", "DISMISSED"}
    assert query(db1, f"""SELECT x."id" FROM ({REPORT_COMMUNITY}) x WHERE x."reporterId" = x.author""") == []


def test_top_up_after_deleting_rooms_of_reported_posts_restores_posts_and_reports(db1):
    """A deleted room sets Post.roomId NULL: its posts and their reports count for no community any more,
    but keep their ids, so the community top-ups must number past them."""
    execute(db1, """DELETE FROM "Room" WHERE "id" IN (SELECT p."roomId" FROM "Report" r JOIN "Post" p ON p."id" = r."postId")""")
    assert one(db1, 'SELECT count(*) FROM "Post" WHERE "roomId" IS NULL') > 0
    out = run_json(db1, *ONLY)
    assert out["outcome"] == "top-up"
    assert added(out).get("Post", 0) > 0 and added(out).get("Report", 0) > 0
    assert [r for r in out["requirements"] if r["missing_after"]] == []
    rows = query(db1, f"""
        SELECT c."slug", count(x."id") FROM "Community" c LEFT JOIN ({POST_COMMUNITY}) x ON x.cid = c."id"
        GROUP BY c."slug" HAVING count(x."id") < 10""")
    assert rows == []
    assert query(db1, f"""
        SELECT c."slug" FROM "Community" c
        WHERE NOT EXISTS (SELECT FROM ({REPORT_COMMUNITY}) x WHERE x.cid = c."id")""") == []
    assert run_json(db1, *ONLY)["rows_added"] == 0


def test_a_community_that_loses_more_posts_to_deleted_rooms_than_its_target_numbers_past_them(schema_db):
    """Roomless posts and reports keep their ids, so a community's ordinals run past its target. The fill takes
    them in two steps (up to twice the target, then further only where still short); the second step must
    give what one step would: the next free ordinals, exactly the target in rooms, every run."""
    only = ["--only", "reports", "--set", "client_posts=0", "--set", "therapist_posts=0",
            "--set", "community_recent_posts=0"]
    seed(schema_db, *only)
    cid = one(schema_db, 'SELECT min(mc."communityId") FROM "ModeratorCommunity" mc')
    in_c = f"""SELECT p."id" FROM "Post" p JOIN "Room" r ON r."id" = p."roomId"
               JOIN "RoomGroup" rg ON rg."id" = r."roomGroupId" WHERE rg."communityId" = '{cid}'"""
    reports_in_c = f"""SELECT x."id" FROM ({REPORT_COMMUNITY}) x WHERE x.cid = '{cid}'
                       AND x."id" NOT IN (SELECT {uid("'report:status:' || s")}
                                          FROM unnest(ARRAY['PENDING', 'REVIEWED', 'DISMISSED']) s)"""
    want = one(schema_db, f"SELECT count(*) FROM ({in_c}) x")
    want_r = one(schema_db, f"SELECT count(*) FROM ({reports_in_c}) x")
    assert want >= 10 and want_r >= 1
    for lost in (1, 2, 3):
        # what deleting every room of the community does to its posts (roomId SET NULL), rooms kept
        execute(schema_db, f"""UPDATE "Post" SET "roomId" = NULL WHERE "id" IN ({in_c})""")
        seed(schema_db, *only)
        posts = {r[0] for r in query(schema_db, in_c)}
        assert posts == {r[0] for r in query(schema_db, f"""
            SELECT {uid(f"'post:community:{cid}:' || o")}
            FROM generate_series({lost * want + 1}, {(lost + 1) * want}) o""")}, lost
        reports = {r[0] for r in query(schema_db, reports_in_c)}
        assert reports == {r[0] for r in query(schema_db, f"""
            SELECT {uid(f"'report:{cid}:' || o")}
            FROM generate_series({lost * want_r + 1}, {(lost + 1) * want_r}) o""")}, lost
    assert run_json(schema_db, *only)["rows_added"] == 0


def test_two_fresh_databases_with_the_same_seed_are_identical(new_db):
    a, b = new_db(), new_db()
    seed(a, *ONLY, "--seed", "7")
    seed(b, *ONLY, "--seed", "7")
    assert mine(a) == mine(b)
    c = new_db()
    seed(c, *ONLY, "--seed", "8")
    assert mine(c)["Post"] != mine(a)["Post"]


def test_hand_made_rows_are_kept_byte_identical_and_count_toward_minimums(schema_db):
    seed(schema_db, "--only", "memberships")
    client, room = query(schema_db, """
        SELECT m."userId", r."id" FROM "Membership" m JOIN "User" u ON u."id" = m."userId"
        JOIN "RoomGroup" rg ON rg."communityId" = m."communityId" JOIN "Room" r ON r."roomGroupId" = rg."id"
        WHERE u."role" = 'client' ORDER BY m."userId", r."id" LIMIT 1""")[0]
    for i in range(8):
        execute(schema_db, """
            INSERT INTO "Post" ("id", "title", "content", "createdAt", "updatedAt", "userId", "roomId")
            VALUES (%s, 'My own post', 'Written by hand for a test.', TIMESTAMP '2026-10-01', TIMESTAMP '2026-10-02', %s, %s)""",
                (f"hand-{i}", client, room))
    hand = query(schema_db, """SELECT t::text FROM "Post" t WHERE "id" LIKE 'hand-%%' ORDER BY 1""")
    seed(schema_db, *ONLY)
    assert query(schema_db, """SELECT t::text FROM "Post" t WHERE "id" LIKE 'hand-%%' ORDER BY 1""") == hand
    # the client's own target is 5 to 8 posts: eight hand-made ones leave none of its per-author posts to
    # generate (the client may still author a community's top-up post), while other clients get theirs
    own = f"""SELECT count(*) FROM "Post" WHERE "id" IN
              (SELECT {uid("'post:' || %s || ':' || k")} FROM generate_series(1, 8) AS k)"""
    assert one(schema_db, own, (client,)) == 0
    other = one(schema_db, """SELECT "id" FROM "User" WHERE "role" = 'client' AND "id" <> %s ORDER BY "id" LIMIT 1""",
                (client,))
    assert one(schema_db, own, (other,)) >= 5
    # hand-made posts get comments and hearts like any other
    assert one(schema_db, """
        SELECT count(*) FROM "Post" p WHERE p."id" LIKE 'hand-%%'
          AND (SELECT count(*) FROM "Comment" c WHERE c."postId" = p."id") >= 2
          AND EXISTS (SELECT FROM "PostHeart" ph WHERE ph."postId" = p."id")""") == 8


@pytest.mark.parametrize("name", CONTENT)
def test_only_one_content_enricher_on_a_fresh_schema_pulls_its_dependencies(schema_db, name):
    out = run_json(schema_db, "--only", name)
    assert out["outcome"] != "satisfied"
    n = counts(schema_db)
    table = {"posts": "Post", "comments": "Comment", "hearts": "PostHeart", "reports": "Report"}[name]
    assert n[table] > 0 and n["Post"] > 0
    assert [r for r in out["requirements"] if r["missing_after"]] == []
