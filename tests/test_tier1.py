"""Tier-1 enrichers (memberships, moderator_assignments, relationships, availability) on a real PostgreSQL.

Every requirement and data rule is proved by querying the database for violations, not by trusting the
tool's own checks. The property tests run once per module and scale (1 and 10) on a module-scoped
database seeded with `--only` the four tier-1 enrichers (which pull accounts and communities), so that
work in progress on later tiers cannot change what is tested here.
"""

from __future__ import annotations

import json
import re

import psycopg
import pytest

from conftest import seeded_database
from helpers import NOW, counts, digest, execute, query, seed, one

TIER1 = ["memberships", "moderator_assignments", "relationships", "availability"]
ONLY = [a for name in TIER1 for a in ("--only", name)]
TABLES = ["Membership", "ModeratorCommunity", "ClientTherapist", "TherapistAvailability"]
ANCHOR = NOW.replace("T", " ")


def run_json(url: str, *extra: str, expect: int = 0) -> dict:
    return json.loads(seed(url, *ONLY, "--format", "json", *extra, expect=expect).stdout)


@pytest.fixture(scope="module", params=[1, 10], ids=["scale1", "scale10"])
def seeded(request, server_url, _templates):
    """(url, scale): a database after one first run of the tier-1 enrichers at that scale."""
    with seeded_database(server_url, _templates["plain"], *ONLY, "--scale", str(request.param)) as url:
        yield url, request.param


@pytest.fixture
def db1(schema_db):
    """A fresh database after one first run of the tier-1 enrichers at scale 1."""
    seed(schema_db, *ONLY)
    return schema_db



# --------------------------------------------------------------------------------------------------
# memberships
# --------------------------------------------------------------------------------------------------


def test_member_communities_every_client_and_therapist_is_in_a_community(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT u."email" FROM "User" u
        WHERE u."role" IN ('client', 'therapist')
          AND NOT EXISTS (SELECT FROM "Membership" m WHERE m."userId" = u."id")""")
    assert one(url, """SELECT count(*) FROM "User" WHERE "role" IN ('client', 'therapist')""") > 0
    assert bad == []


def test_community_members_every_community_has_at_least_8_members(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT c."name", count(m."id") FROM "Community" c LEFT JOIN "Membership" m ON m."communityId" = c."id"
        GROUP BY c."name" """)
    assert len(rows) == 12 * scale
    assert [r for r in rows if r[1] < 8] == []


def test_membership_is_unique_per_user_and_community_and_only_clients_therapists_moderators(seeded):
    url, _ = seeded
    assert query(url, """
        SELECT "userId", "communityId" FROM "Membership" GROUP BY 1, 2 HAVING count(*) > 1""") == []
    roles = {r[0] for r in query(url, """
        SELECT DISTINCT u."role" FROM "Membership" m JOIN "User" u ON u."id" = m."userId" """)}
    assert roles <= {"client", "therapist", "moderator"} and {"client", "therapist"} <= roles


def test_membership_joined_after_user_and_community_created_and_before_anchor(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT m."id" FROM "Membership" m
        JOIN "User" u ON u."id" = m."userId" JOIN "Community" c ON c."id" = m."communityId"
        WHERE m."joinedAt" < u."createdAt" OR m."joinedAt" < c."createdAt" OR m."joinedAt" > %s::timestamp""",
        (ANCHOR,))
    assert one(url, 'SELECT count(*) FROM "Membership"') > 0
    assert bad == []


# --------------------------------------------------------------------------------------------------
# moderator_assignments
# --------------------------------------------------------------------------------------------------


def test_community_moderators_every_community_has_a_moderator(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT c."name" FROM "Community" c
        WHERE NOT EXISTS (SELECT FROM "ModeratorCommunity" mc WHERE mc."communityId" = c."id")""")
    assert one(url, 'SELECT count(*) FROM "Community"') > 0
    assert bad == []


def test_moderator_communities_every_moderator_moderates_a_community(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT m."userId", count(mc."id") FROM "Moderator" m
        LEFT JOIN "ModeratorCommunity" mc ON mc."moderatorId" = m."userId" GROUP BY 1""")
    assert len(rows) == 3 * scale
    assert [r for r in rows if r[1] < 1] == []
    # spread evenly: 12 communities for 3 moderators per scale unit
    assert {r[1] for r in rows} == {4}


def test_moderators_are_members_of_every_community_they_moderate(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT mc."id" FROM "ModeratorCommunity" mc
        WHERE NOT EXISTS (SELECT FROM "Membership" m
                          WHERE m."userId" = mc."moderatorId" AND m."communityId" = mc."communityId")""")
    assert one(url, 'SELECT count(*) FROM "ModeratorCommunity"') > 0
    assert bad == []


def test_moderator_assigned_after_moderator_and_community_created_and_before_anchor(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT mc."id" FROM "ModeratorCommunity" mc
        JOIN "User" u ON u."id" = mc."moderatorId" JOIN "Community" c ON c."id" = mc."communityId"
        WHERE mc."assignedAt" < u."createdAt" OR mc."assignedAt" < c."createdAt"
           OR mc."assignedAt" > %s::timestamp OR u."role" <> 'moderator'""", (ANCHOR,))
    assert bad == []


# --------------------------------------------------------------------------------------------------
# relationships
# --------------------------------------------------------------------------------------------------


def test_therapist_active_clients_every_approved_therapist_has_2_active_clients(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT t."userId", count(ct."id") FROM "Therapist" t
        LEFT JOIN "ClientTherapist" ct ON ct."therapistId" = t."userId" AND ct."status" = 'active'
        WHERE t."status" = 'APPROVED' GROUP BY 1""")
    assert len(rows) == 6 * scale
    assert [r for r in rows if r[1] < 2] == []


def test_one_active_therapist_no_client_has_two_active_rows(seeded):
    url, _ = seeded
    assert one(url, """SELECT count(*) FROM "ClientTherapist" WHERE "status" = 'active'""") > 0
    assert query(url, """
        SELECT "clientId" FROM "ClientTherapist" WHERE "status" = 'active' GROUP BY 1 HAVING count(*) > 1""") == []


def test_some_clients_unmatched_about_a_quarter_have_no_active_therapist(seeded):
    url, _ = seeded
    total, unmatched = query(url, """
        SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (
                 SELECT FROM "ClientTherapist" ct WHERE ct."clientId" = c."userId" AND ct."status" = 'active'))
        FROM "Client" c""")[0]
    assert unmatched >= 1
    assert 0.2 <= unmatched / total <= 0.4


def test_relationships_are_active_between_client_and_approved_therapist_assigned_in_causal_time(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT ct."id" FROM "ClientTherapist" ct
        JOIN "User" cu ON cu."id" = ct."clientId" JOIN "User" tu ON tu."id" = ct."therapistId"
        JOIN "Therapist" t ON t."userId" = ct."therapistId"
        WHERE ct."status" <> 'active' OR t."status" <> 'APPROVED' OR cu."role" <> 'client'
           OR ct."assignedAt" < cu."createdAt" OR ct."assignedAt" < tu."createdAt"
           OR ct."assignedAt" < t."processingDate" OR ct."assignedAt" > %s::timestamp""", (ANCHOR,))
    assert bad == []


def test_test_accounts_are_matched(seeded):
    url, _ = seeded
    assert one(url, """
        SELECT count(*) FROM "ClientTherapist" ct JOIN "User" u ON u."id" = ct."clientId"
        WHERE u."email" = 'client@mentara.test' AND ct."status" = 'active'""") == 1


# --------------------------------------------------------------------------------------------------
# availability
# --------------------------------------------------------------------------------------------------


def test_therapist_weekdays_every_therapist_available_on_3_weekdays(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT t."userId", count(DISTINCT a."dayOfWeek") FILTER (WHERE a."isAvailable")
        FROM "Therapist" t LEFT JOIN "TherapistAvailability" a ON a."therapistId" = t."userId" GROUP BY 1""")
    assert len(rows) == 7 * scale
    assert [r for r in rows if r[1] < 3] == []


def test_availability_format_weekday_numbers_hhmm_utc_start_before_end(seeded):
    url, _ = seeded
    rows = query(url, 'SELECT "dayOfWeek", "startTime", "endTime", "timezone" FROM "TherapistAvailability"')
    assert rows
    hhmm = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
    bad = [r for r in rows
           if r[0] not in {"1", "2", "3", "4", "5"} or not hhmm.match(r[1]) or not hhmm.match(r[2])
           or r[1] >= r[2] or r[3] != "UTC"]
    assert bad == []


def test_availability_slots_are_whole_hours_and_at_least_3_hours(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT "id" FROM "TherapistAvailability"
        WHERE right("startTime", 2) <> '00' OR right("endTime", 2) <> '00'
           OR left("endTime", 2)::int - left("startTime", 2)::int < 3""")
    assert one(url, 'SELECT count(*) FROM "TherapistAvailability"') > 0
    assert bad == []


def test_availability_one_slot_per_weekday_created_after_therapist_and_before_anchor(seeded):
    url, _ = seeded
    assert query(url, """
        SELECT "therapistId", "dayOfWeek" FROM "TherapistAvailability" GROUP BY 1, 2 HAVING count(*) > 1""") == []
    bad = query(url, """
        SELECT a."id" FROM "TherapistAvailability" a JOIN "User" u ON u."id" = a."therapistId"
        WHERE a."createdAt" < u."createdAt" OR a."updatedAt" < a."createdAt" OR a."updatedAt" > %s::timestamp
           OR NOT a."isAvailable" """, (ANCHOR,))
    assert bad == []


# --------------------------------------------------------------------------------------------------
# idempotent, gap-filling, deterministic, non-destructive
# --------------------------------------------------------------------------------------------------


def test_second_run_adds_no_rows_and_changes_nothing(seeded):
    url, scale = seeded
    before = digest(url)
    summary = run_json(url, "--scale", str(scale))
    assert summary["outcome"] == "satisfied"
    assert summary["rows_added"] == 0
    assert digest(url) == before


def test_deleted_rows_in_the_middle_are_restored_exactly_and_nothing_else(db1):
    url = db1
    before_digest, before_counts = digest(url), counts(url)
    # Membership: every membership of a client whose communities hold 8 members plus their moderator, and
    # the moderators' memberships there: the client's own preferred community and the communities' own
    # rankings must bring back exactly these rows
    client = one(url, """
        SELECT u."id" FROM "User" u
        WHERE u."role" = 'client'
          AND NOT EXISTS (SELECT FROM "Membership" m WHERE m."userId" = u."id"
                          AND (SELECT count(*) FROM "Membership" x WHERE x."communityId" = m."communityId") <> 9)
        ORDER BY u."id" LIMIT 1 OFFSET 1""")
    memberships = [r[0] for r in query(url, """
        SELECT m."id" FROM "Membership" m
        WHERE m."userId" = %(u)s
           OR (m."userId" IN (SELECT "userId" FROM "Moderator")
               AND m."communityId" IN (SELECT "communityId" FROM "Membership" WHERE "userId" = %(u)s))""",
        {"u": client})]
    assert len(memberships) >= 4
    # ModeratorCommunity, ClientTherapist: a row in the middle
    assignment = one(url, 'SELECT "id" FROM "ModeratorCommunity" ORDER BY "id" LIMIT 1 OFFSET 5')
    match = one(url, """SELECT "id" FROM "ClientTherapist" ORDER BY "id" LIMIT 1 OFFSET 5""")
    # TherapistAvailability: the middle one of a therapist's three weekdays
    slot = one(url, """
        SELECT "id" FROM (SELECT "id", row_number() OVER (PARTITION BY "therapistId" ORDER BY "dayOfWeek") AS r
                          FROM "TherapistAvailability") s WHERE r = 2 ORDER BY "id" LIMIT 1 OFFSET 3""")
    deleted = {
        "Membership": memberships,
        "ModeratorCommunity": [assignment],
        "ClientTherapist": [match],
        "TherapistAvailability": [slot],
    }
    for table, ids in deleted.items():
        assert len(set(ids)) == len(ids) and None not in ids
        execute(url, f'DELETE FROM "{table}" WHERE "id" = ANY(%s)', (ids,))
    assert counts(url)["Membership"] == before_counts["Membership"] - len(memberships)
    summary = run_json(url)
    assert {t: n for t, n in summary["rows_by_table"].items() if n} == {t: len(ids) for t, ids in deleted.items()}
    assert summary["rows_added"] == sum(len(ids) for ids in deleted.values())
    assert counts(url) == before_counts
    assert digest(url) == before_digest


def test_deleted_rows_that_leave_no_gap_are_not_replaced(db1):
    url = db1
    # a community member whose community keeps 8 members (moderators count) and who keeps a membership
    victim = one(url, """
        SELECT m."id" FROM "Membership" m JOIN "User" u ON u."id" = m."userId"
        WHERE u."role" IN ('client', 'therapist')
          AND (SELECT count(*) FROM "Membership" x WHERE x."communityId" = m."communityId") > 8
          AND (SELECT count(*) FROM "Membership" x WHERE x."userId" = m."userId") > 1
        ORDER BY m."id" LIMIT 1""")
    execute(url, 'DELETE FROM "Membership" WHERE "id" = %s', (victim,))
    summary = run_json(url)
    assert summary["rows_added"] == 0
    assert one(url, 'SELECT count(*) FROM "Membership" WHERE "id" = %s', (victim,)) == 0


def test_two_fresh_databases_end_byte_identical(new_db):
    a, b = new_db(), new_db()
    seed(a, *ONLY)
    seed(b, *ONLY)
    da, db_ = digest(a), digest(b)
    assert all(counts(a)[t] > 0 for t in TABLES)
    assert da == db_


def test_another_seed_gives_other_pairs(new_db):
    a, b = new_db(), new_db()
    seed(a, *ONLY)
    seed(b, *ONLY, "--seed", "7")
    assert digest(a)["Membership"] != digest(b)["Membership"]
    assert digest(a)["TherapistAvailability"] != digest(b)["TherapistAvailability"]


@pytest.mark.parametrize("name,table", list(zip(TIER1, TABLES)))
def test_enricher_alone_on_fresh_schema_pulls_its_dependencies(schema_db, name, table):
    summary = json.loads(seed(schema_db, "--only", name, "--format", "json").stdout)
    assert summary["rows_by_enricher"].get("accounts", 0) > 0
    assert summary["rows_by_table"][table] > 0
    assert all(r["missing_after"] == 0 for r in summary["requirements"])
    # and nothing of the other tier-1 tables unless it is a dependency
    others = [t for n, t in zip(TIER1, TABLES) if t != table and not (name == "moderator_assignments" and t == "Membership")]
    assert all(counts(schema_db)[t] == 0 for t in others)


# --------------------------------------------------------------------------------------------------
# hand-made rows count and stay untouched; minimums can be raised; impossible ones are refused
# --------------------------------------------------------------------------------------------------


def test_hand_made_rows_count_toward_minimums_and_stay_byte_identical(schema_db):
    url = schema_db
    seed(url, "--only", "accounts", "--only", "communities")  # base data, nothing of tier 1
    therapist, = query(url, """SELECT t."userId" FROM "Therapist" t JOIN "User" u ON u."id" = t."userId"
                               WHERE t."status" = 'APPROVED' ORDER BY u."email" LIMIT 1""")[0]
    client, = query(url, """SELECT "userId" FROM "Client" ORDER BY "userId" LIMIT 1""")[0]
    moderator, = query(url, """SELECT "userId" FROM "Moderator" ORDER BY "userId" LIMIT 1""")[0]
    community, = query(url, """SELECT "id" FROM "Community" ORDER BY "id" LIMIT 1""")[0]
    params = {"t": therapist, "c": client, "m": moderator, "k": community}
    for sql in [
        """INSERT INTO "TherapistAvailability" ("id", "therapistId", "dayOfWeek", "startTime", "endTime", "timezone",
                                               "createdAt", "updatedAt")
           VALUES ('hand-slot', %(t)s, '3', '02:00', '06:00', 'UTC', '2026-01-01', '2026-01-01')""",
        """INSERT INTO "ClientTherapist" ("id", "clientId", "therapistId", "status", "assignedAt")
           VALUES ('hand-match', %(c)s, %(t)s, 'active', '2026-01-01')""",
        """INSERT INTO "ModeratorCommunity" ("id", "moderatorId", "communityId", "assignedAt")
           VALUES ('hand-assignment', %(m)s, %(k)s, '2026-01-01')""",
        """INSERT INTO "Membership" ("id", "userId", "communityId", "joinedAt")
           VALUES ('hand-membership', %(c)s, %(k)s, '2026-01-01')""",
    ]:
        execute(url, sql, params)
    hand = {t: query(url, f'SELECT x::text FROM "{t}" x WHERE "id" LIKE %s', ("hand-%",)) for t in TABLES}
    seed(url, *ONLY)
    assert {t: query(url, f'SELECT x::text FROM "{t}" x WHERE "id" LIKE %s', ("hand-%",)) for t in TABLES} == hand
    # the hand-made slot counts: exactly 3 weekdays, one of them Wednesday from the hand-made row
    assert query(url, """SELECT count(DISTINCT "dayOfWeek"), count(*) FILTER (WHERE "dayOfWeek" = '3')
                         FROM "TherapistAvailability" WHERE "therapistId" = %s""", (therapist,)) == [(3, 1)]
    # the hand-made match counts: exactly 2 active clients, and that client got no second therapist
    assert one(url, """SELECT count(*) FROM "ClientTherapist" WHERE "therapistId" = %s AND "status" = 'active'""",
               (therapist,)) == 2
    assert one(url, """SELECT count(*) FROM "ClientTherapist" WHERE "clientId" = %s AND "status" = 'active'""",
               (client,)) == 1
    # the hand-made assignment counts: that community has exactly one moderator, who is now a member
    assert one(url, 'SELECT count(*) FROM "ModeratorCommunity" WHERE "communityId" = %s', (community,)) == 1
    assert one(url, 'SELECT count(*) FROM "Membership" WHERE "userId" = %s AND "communityId" = %s',
               (moderator, community)) == 1


def test_raised_minimums_are_met_exactly(schema_db):
    url = schema_db
    sets = ["--set", "member_communities=2", "--set", "community_members=10", "--set", "moderator_communities=6",
            "--set", "community_moderators=1", "--set", "therapist_weekdays=5"]
    seed(url, *ONLY, *sets)
    assert one(url, """SELECT min(n) FROM (SELECT count(m."id") AS n FROM "User" u
                       LEFT JOIN "Membership" m ON m."userId" = u."id"
                       WHERE u."role" IN ('client', 'therapist') GROUP BY u."id") s""") >= 2
    assert one(url, """SELECT min(n) FROM (SELECT count(m."id") AS n FROM "Community" c
                       LEFT JOIN "Membership" m ON m."communityId" = c."id" GROUP BY c."id") s""") >= 10
    # the second gap class of moderator_assignments: 12 communities, 3 moderators x 6
    assert query(url, """SELECT count(*) FROM "ModeratorCommunity" GROUP BY "moderatorId" """) == [(6,), (6,), (6,)]
    assert one(url, """SELECT count(*) FROM "Community" c WHERE NOT EXISTS
                       (SELECT FROM "ModeratorCommunity" mc WHERE mc."communityId" = c."id")""") == 0
    assert query(url, """SELECT DISTINCT count(*) FROM "TherapistAvailability" GROUP BY "therapistId" """) == [(5,)]
    assert run_json(url, *sets)["rows_added"] == 0


def test_relationships_fill_from_other_clients_when_the_preferred_ones_are_taken(schema_db):
    url = schema_db
    seed(url, "--only", "accounts", "--only", "communities")  # base data, nothing of tier 1
    # five clients already in therapy with the pending applicant (hand-made): fewer free clients remain
    execute(url, """
        INSERT INTO "ClientTherapist" ("id", "clientId", "therapistId", "status", "assignedAt")
        SELECT 'hand-' || c."userId", c."userId",
               (SELECT "userId" FROM "Therapist" WHERE "status" = 'PENDING' LIMIT 1), 'active', '2026-01-01'
        FROM (SELECT "userId" FROM "Client" ORDER BY "userId" LIMIT 5) c""")
    seed(url, *ONLY)
    assert query(url, """SELECT DISTINCT count(ct."id") FROM "Therapist" t
                         JOIN "ClientTherapist" ct ON ct."therapistId" = t."userId" AND ct."status" = 'active'
                         WHERE t."status" = 'APPROVED' GROUP BY t."userId" """) == [(2,)]
    assert query(url, """SELECT "clientId" FROM "ClientTherapist" WHERE "status" = 'active'
                         GROUP BY 1 HAVING count(*) > 1""") == []
    assert one(url, """SELECT count(*) FROM "Client" c WHERE NOT EXISTS (SELECT FROM "ClientTherapist" ct
                       WHERE ct."clientId" = c."userId" AND ct."status" = 'active')""") >= 1


@pytest.mark.parametrize("setting", [
    "therapist_active_clients=3", "community_members=40", "member_communities=13",
    "therapist_weekdays=6", "moderator_communities=13", "community_moderators=4",
])
def test_minimum_that_cannot_be_met_is_refused_and_nothing_is_written(schema_db, setting):
    result = seed(schema_db, *ONLY, "--set", setting, expect=2)
    assert setting.split("=")[0] in result.stderr and "cannot be met" in result.stderr
    assert one(schema_db, 'SELECT count(*) FROM "User"') == 0
