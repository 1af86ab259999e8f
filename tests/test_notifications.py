"""notifications enricher (Notification) on a real PostgreSQL.

Requirements and data rules are proved by querying the database for violations (not by trusting the tool's
checks), once per module and scale (1 and 10) on a database seeded with `--only notifications` (which pulls
accounts). Restore, idempotency and determinism tests use fresh databases.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from conftest import seeded_database
from helpers import NOW, counts, digest, execute, query, seed, one

ONLY = ["--only", "notifications"]
ANCHOR = NOW.replace("T", " ")

# The types each role may get (system notices fit everyone): what the app shows on each role's screens.
GENERAL = {"SYSTEM_UPDATE", "SYSTEM_MAINTENANCE", "SECURITY_ALERT"}
FITS = {
    "client": {"APPOINTMENT_REMINDER", "APPOINTMENT_CONFIRMED", "APPOINTMENT_CANCELLED", "APPOINTMENT_RESCHEDULED",
               "MESSAGE_RECEIVED", "MESSAGE_REACTION", "WORKSHEET_ASSIGNED", "WORKSHEET_DUE", "WORKSHEET_FEEDBACK",
               "REVIEW_REQUEST", "THERAPIST_REQUEST_ACCEPTED", "THERAPIST_REQUEST_DECLINED", "ALTERNATIVE_RECOMMENDATIONS",
               "COMMUNITY_POST", "COMMUNITY_REPLY", "COMMUNITY_RECOMMENDATION", "COMMUNITY_JOINED", "COMMUNITY_WELCOME",
               "RECOMMENDATIONS_UPDATED", "NEW_RECOMMENDATIONS", "RELATIONSHIP_ESTABLISHED", "PROFILE_COMPLETION",
               "SCHEDULING_INFO", "PAYMENT_SUCCESS", "PAYMENT_FAILED", "SUBSCRIPTION_EXPIRING", "INCOMING_VIDEO_CALL",
               "VIDEO_CALL_MISSED", "VIDEO_CALL_ENDED"},
    "therapist": {"CLIENT_REQUEST_RECEIVED", "CLIENT_REQUEST_CANCELLED", "REQUEST_REMINDER", "APPOINTMENT_REMINDER",
                  "APPOINTMENT_CONFIRMED", "APPOINTMENT_CANCELLED", "APPOINTMENT_RESCHEDULED", "MESSAGE_RECEIVED",
                  "MESSAGE_REACTION", "REVIEW_RECEIVED", "RELATIONSHIP_ESTABLISHED", "SCHEDULING_INFO", "THERAPIST_APPROVED",
                  "THERAPIST_REJECTED", "THERAPIST_STATUS_UPDATED", "PROFILE_COMPLETION", "COMMUNITY_POST",
                  "COMMUNITY_REPLY", "PAYMENT_SUCCESS", "PAYMENT_FAILED", "INCOMING_VIDEO_CALL", "VIDEO_CALL_MISSED",
                  "VIDEO_CALL_ENDED"},
    "admin": {"THERAPIST_APPLICATION", "THERAPIST_STATUS_UPDATED", "SYSTEM_MAINTENANCE", "SYSTEM_UPDATE",
              "SECURITY_ALERT", "PAYMENT_FAILED"},
    "moderator": {"COMMUNITY_POST", "COMMUNITY_REPLY", "COMMUNITY_JOINED", "COMMUNITY_WELCOME", "SYSTEM_UPDATE",
                  "SYSTEM_MAINTENANCE", "SECURITY_ALERT"},
}
# what only one role's screens carry (a client never sees a therapist application, an admin never a worksheet)
ROLE_ONLY = {"client": {"WORKSHEET_ASSIGNED", "THERAPIST_REQUEST_ACCEPTED"}, "therapist": {"CLIENT_REQUEST_RECEIVED"},
             "admin": {"THERAPIST_APPLICATION"}, "moderator": set()}


def key_id(key: str, seed_value: int = 0) -> str:
    d = hashlib.md5(f"{key}:{seed_value}".encode()).hexdigest()
    return str(uuid.UUID(d[:12] + "4" + d[13:16] + "8" + d[17:]))



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


def test_user_notifications_every_user_has_at_least_3(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT u."email", count(n."id") FROM "User" u LEFT JOIN "Notification" n ON n."userId" = u."id" GROUP BY 1""")
    assert len(rows) == 30 * scale
    assert [r for r in rows if r[1] < 3] == []


def test_notifications_fit_role_no_type_outside_the_roles_screens(seeded):
    url, _ = seeded
    rows = query(url, """
        SELECT u."role", n."type"::text, count(*) FROM "Notification" n JOIN "User" u ON u."id" = n."userId" GROUP BY 1, 2""")
    bad = [(role, t) for role, t, _ in rows if t not in GENERAL and t not in FITS.get(role, set())]
    assert bad == []
    seen = {(role, t) for role, t, _ in rows}
    for role, types in ROLE_ONLY.items():
        others = {r for r in FITS if r != role}
        assert not {(o, t) for o in others for t in types} & seen
    # every role gets its own kinds, not only the general notices
    assert {role for role, t, _ in rows if t not in GENERAL} == {"client", "therapist", "admin", "moderator"}


def test_applicant_therapists_only_get_application_notices(seeded):
    url, _ = seeded
    types = {r[0] for r in query(url, """
        SELECT DISTINCT n."type"::text FROM "Notification" n JOIN "Therapist" t ON t."userId" = n."userId"
        WHERE t."status" <> 'APPROVED'""")}
    assert types and types <= {"THERAPIST_STATUS_UPDATED", "PROFILE_COMPLETION"} | GENERAL


def test_notifications_read_and_unread_both_exist_read_at_iff_read_after_created(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT "id" FROM "Notification"
        WHERE "isRead" <> ("readAt" IS NOT NULL) OR "readAt" < "createdAt" OR "readAt" > %(a)s::timestamp
           OR "createdAt" > %(a)s::timestamp OR "updatedAt" < "createdAt" OR "updatedAt" > %(a)s::timestamp""", {"a": ANCHOR})
    assert bad == []
    assert {r[0] for r in query(url, 'SELECT DISTINCT "isRead" FROM "Notification"')} == {True, False}
    # every user has an unread one (the badge shows) and a read one
    assert query(url, """
        SELECT "userId" FROM "Notification" GROUP BY 1 HAVING bool_and("isRead") OR NOT bool_or("isRead")""") == []


def test_notifications_read_like_the_app(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT n."id" FROM "Notification" n JOIN "User" u ON u."id" = n."userId"
        WHERE length(n."title") < 5 OR length(n."message") < 20 OR n."title" || n."message" ~ '[{}|]'
           OR n."message" ILIKE '%%lorem%%' OR n."actionUrl" NOT LIKE '/%%' OR n."data" IS NULL
           OR n."createdAt" < u."createdAt" """)
    assert bad == []
    assert {r[0] for r in query(url, 'SELECT DISTINCT "priority"::text FROM "Notification"')} >= {"LOW", "NORMAL", "HIGH"}
    assert one(url, 'SELECT count(DISTINCT "message")::float / count(*) FROM "Notification"') > 0.3


def test_second_run_adds_nothing_and_changes_nothing(db1):
    before = digest(db1)
    result = run_json(db1)
    assert result["rows_added"] == 0 and result["outcome"] == "satisfied"
    assert digest(db1) == before


def test_deleted_notifications_in_the_middle_are_restored_exactly(db1):
    """A notification whose loss leaves its user short comes back with the same id and values."""
    before_digest, before_counts = digest(db1), counts(db1)
    # users at exactly the minimum: losing one leaves a gap
    users = [r[0] for r in query(db1, """SELECT "userId" FROM "Notification" GROUP BY 1 HAVING count(*) = 3 ORDER BY 1""")]
    assert len(users) >= 2
    middle = key_id(f"notification:{users[0]}:2")
    assert one(db1, 'SELECT count(*) FROM "Notification" WHERE "id" = %s', (middle,)) == 1
    execute(db1, 'DELETE FROM "Notification" WHERE "id" = %s', (middle,))
    execute(db1, 'DELETE FROM "Notification" WHERE "id" = %s', (key_id(f"notification:{users[1]}:3"),))
    assert counts(db1)["Notification"] == before_counts["Notification"] - 2
    result = run_json(db1)
    assert {t: n for t, n in result["rows_by_table"].items() if n} == {"Notification": 2}
    assert counts(db1) == before_counts
    assert digest(db1) == before_digest


def test_hand_made_notifications_count_and_stay_untouched(db1):
    user = one(db1, """SELECT "id" FROM "User" WHERE "email" = 'client@mentara.test'""")
    execute(db1, 'DELETE FROM "Notification" WHERE "userId" = %s', (user,))
    execute(db1, """
        INSERT INTO "Notification" ("id", "userId", "title", "message", "type", "isRead", "createdAt", "updatedAt")
        SELECT 'hand-made-' || i, %s, 'My test notification', 'Hand-made for a UI test', 'SYSTEM_UPDATE', false,
               '2026-10-01 00:00:00', '2026-10-01 00:00:00'
        FROM generate_series(1, 2) i""", (user,))
    before = query(db1, """SELECT t::text FROM "Notification" t WHERE "userId" = %s ORDER BY 1""", (user,))
    result = run_json(db1)
    after = query(db1, """SELECT t::text FROM "Notification" t WHERE "userId" = %s AND "id" LIKE 'hand-made-%%' ORDER BY 1""", (user,))
    assert after == before
    total = one(db1, 'SELECT count(*) FROM "Notification" WHERE "userId" = %s', (user,))
    want = one(db1, "SELECT 3 + ((hashtextextended(%s || ':notifications', 0) & 9223372036854775807) %% 3)", (user,))
    # the two hand-made ones count toward the user's target: only the rest is added
    assert total == want and result["rows_by_table"]["Notification"] == want - 2


def test_only_notifications_on_a_fresh_schema_database_pulls_accounts(schema_db):
    result = run_json(schema_db)
    assert set(result["rows_by_enricher"]) == {"accounts", "notifications"}
    assert counts(schema_db)["Notification"] > 0
    assert [r["name"] for r in result["requirements"] if r["missing_after"]] == []


def test_two_fresh_databases_end_byte_identical(new_db):
    a, b = new_db("schema"), new_db("schema")
    seed(a, *ONLY)
    seed(b, *ONLY)
    assert digest(a) == digest(b)
