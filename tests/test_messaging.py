"""messages enricher (Conversation, ConversationParticipant, Message, MessageReadReceipt, MessageReaction,
TypingIndicator) on a real PostgreSQL.

Every requirement and data rule is proved by querying the database for violations, not by trusting the
tool's own checks. The property tests run once per module and scale (1 and 10) on a module-scoped database
seeded with `--only messages` (which pulls accounts and relationships), so that work in progress on other
enrichers cannot change what is tested here. Restore, idempotency and determinism tests use fresh databases.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from conftest import seeded_database
from helpers import NOW, counts, digest, execute, query, seed, one, added

ONLY = ["--only", "messages"]
TABLES = ["Conversation", "ConversationParticipant", "Message", "MessageReadReceipt", "MessageReaction", "TypingIndicator"]
ANCHOR = NOW.replace("T", " ")


def key_id(key: str, seed_value: int = 0) -> str:
    """The id seed-sql derives from a row key (render.uuid): md5 of key and seed with version/variant digits."""
    d = hashlib.md5(f"{key}:{seed_value}".encode()).hexdigest()
    return str(uuid.UUID(d[:12] + "4" + d[13:16] + "8" + d[17:]))



def run_json(url: str, *extra: str) -> dict:
    return json.loads(seed(url, *ONLY, "--format", "json", *extra).stdout)


@pytest.fixture(scope="module", params=[1, 10], ids=["scale1", "scale10"])
def seeded(request, server_url, _templates):
    """(url, scale): a database after one first run of `--only messages` at that scale."""
    with seeded_database(server_url, _templates["plain"], *ONLY, "--scale", str(request.param)) as url:
        yield url, request.param


@pytest.fixture
def db1(schema_db):
    """A fresh database after one first run of `--only messages` at scale 1."""
    seed(schema_db, *ONLY)
    return schema_db


# --------------------------------------------------------------------------------------------------
# requirements (minimums)
# --------------------------------------------------------------------------------------------------


def test_every_messaging_table_has_rows(seeded):
    url, _ = seeded
    c = counts(url)
    assert {t: c[t] for t in TABLES if c[t] == 0} == {}


def test_client_conversations_every_client_takes_part_in_at_least_2(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT u."email", count(p."id") FROM "User" u LEFT JOIN "ConversationParticipant" p ON p."userId" = u."id"
        WHERE u."role" = 'client' GROUP BY u."email" """)
    assert len(rows) == 18 * scale
    assert [r for r in rows if r[1] < 2] == []


def test_client_messages_sent_every_client_sent_at_least_10(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT u."email", count(m."id") FROM "User" u LEFT JOIN "Message" m ON m."senderId" = u."id"
        WHERE u."role" = 'client' GROUP BY u."email" """)
    assert len(rows) == 18 * scale
    assert [r for r in rows if r[1] < 10] == []


def test_conversation_messages_every_conversation_has_at_least_5(seeded):
    url, _ = seeded
    rows = query(url, """
        SELECT c."id", count(m."id") FROM "Conversation" c LEFT JOIN "Message" m ON m."conversationId" = c."id"
        GROUP BY c."id" """)
    assert rows
    assert [r for r in rows if r[1] < 5] == []


def test_conversation_reactions_every_conversation_has_a_reaction(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT c."id" FROM "Conversation" c
        WHERE (SELECT count(*) FROM "ConversationParticipant" p WHERE p."conversationId" = c."id") >= 2
          AND NOT EXISTS (SELECT FROM "MessageReaction" r JOIN "Message" m ON m."id" = r."messageId"
                          WHERE m."conversationId" = c."id")""")
    assert one(url, 'SELECT count(*) FROM "MessageReaction"') > 0
    assert bad == []


def test_reactions_are_by_another_participant_with_an_emoji_after_the_message(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT r."id" FROM "MessageReaction" r JOIN "Message" m ON m."id" = r."messageId"
        WHERE r."userId" = m."senderId" OR r."emoji" = '' OR r."createdAt" < m."createdAt" OR r."createdAt" > %s::timestamp
           OR NOT EXISTS (SELECT FROM "ConversationParticipant" p
                          WHERE p."conversationId" = m."conversationId" AND p."userId" = r."userId")""", (ANCHOR,))
    assert bad == []


def test_conversation_typing_every_conversation_has_typing_state_of_a_participant(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT c."id" FROM "Conversation" c
        WHERE NOT EXISTS (SELECT FROM "TypingIndicator" t JOIN "ConversationParticipant" p
                            ON p."conversationId" = t."conversationId" AND p."userId" = t."userId"
                          WHERE t."conversationId" = c."id")""")
    assert bad == []
    assert one(url, """SELECT count(*) FROM "TypingIndicator" WHERE "lastTypingAt" > %s::timestamp""", (ANCHOR,)) == 0
    # some users are typing right now, most are not
    assert {r[0] for r in query(url, 'SELECT DISTINCT "isTyping" FROM "TypingIndicator"')} == {True, False}


# --------------------------------------------------------------------------------------------------
# rules
# --------------------------------------------------------------------------------------------------


def test_pair_conversations_every_active_pair_has_a_direct_conversation_of_the_two(seeded):
    url, scale = seeded
    bad = query(url, """
        SELECT ct."id" FROM "ClientTherapist" ct
        WHERE ct."status" = 'active'
          AND NOT EXISTS (
            SELECT FROM "Conversation" c
            JOIN "ConversationParticipant" a ON a."conversationId" = c."id" AND a."userId" = ct."clientId"
            JOIN "ConversationParticipant" b ON b."conversationId" = c."id" AND b."userId" = ct."therapistId"
            WHERE c."type" = 'DIRECT')""")
    assert one(url, """SELECT count(*) FROM "ClientTherapist" WHERE "status" = 'active'""") >= 12 * scale
    assert bad == []


def test_direct_two_participants_every_direct_conversation_has_exactly_two(seeded):
    url, _ = seeded
    rows = query(url, """
        SELECT c."id", count(p."id") FROM "Conversation" c LEFT JOIN "ConversationParticipant" p ON p."conversationId" = c."id"
        WHERE c."type" = 'DIRECT' GROUP BY c."id" """)
    assert rows
    assert [r for r in rows if r[1] != 2] == []


def test_senders_participate_every_sender_is_a_participant(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT m."id" FROM "Message" m
        WHERE NOT EXISTS (SELECT FROM "ConversationParticipant" p
                          WHERE p."conversationId" = m."conversationId" AND p."userId" = m."senderId")""")
    assert bad == []


def test_last_message_at_equals_the_latest_message_after_a_first_run(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT c."id" FROM "Conversation" c
        WHERE c."lastMessageAt" IS DISTINCT FROM (SELECT max(m."createdAt") FROM "Message" m WHERE m."conversationId" = c."id")""")
    assert bad == []


def test_read_receipts_by_others_only_other_participants_read(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT r."id" FROM "MessageReadReceipt" r JOIN "Message" m ON m."id" = r."messageId"
        WHERE r."userId" = m."senderId"
           OR NOT EXISTS (SELECT FROM "ConversationParticipant" p
                          WHERE p."conversationId" = m."conversationId" AND p."userId" = r."userId")""")
    assert one(url, 'SELECT count(*) FROM "MessageReadReceipt"') > 0
    assert bad == []


def test_message_read_receipts_follow_each_participants_last_read(seeded):
    url, _ = seeded
    missing = query(url, """
        SELECT m."id", p."userId" FROM "Message" m JOIN "ConversationParticipant" p ON p."conversationId" = m."conversationId"
        WHERE p."userId" <> m."senderId" AND p."lastReadAt" >= m."createdAt"
          AND NOT EXISTS (SELECT FROM "MessageReadReceipt" r WHERE r."messageId" = m."id" AND r."userId" = p."userId")""")
    beyond = query(url, """
        SELECT r."id" FROM "MessageReadReceipt" r JOIN "Message" m ON m."id" = r."messageId"
        JOIN "ConversationParticipant" p ON p."conversationId" = m."conversationId" AND p."userId" = r."userId"
        WHERE r."readAt" < m."createdAt" OR r."readAt" > p."lastReadAt" """)
    assert missing == [] and beyond == []
    # some participants have unread messages
    assert one(url, """
        SELECT count(*) FROM "ConversationParticipant" p JOIN "Conversation" c ON c."id" = p."conversationId"
        WHERE p."lastReadAt" < c."lastMessageAt" """) > 0


def test_conversation_mix_of_pair_peer_group_and_support_with_fitting_members(seeded):
    url, _ = seeded
    types = {r[0] for r in query(url, 'SELECT DISTINCT "type"::text FROM "Conversation"')}
    assert types == {"DIRECT", "GROUP", "SUPPORT"}
    bad_support = query(url, """
        SELECT c."id" FROM "Conversation" c WHERE c."type" = 'SUPPORT'
          AND NOT EXISTS (SELECT FROM "ConversationParticipant" p JOIN "User" u ON u."id" = p."userId"
                          WHERE p."conversationId" = c."id" AND u."role" IN ('admin', 'moderator'))""")
    small_groups = query(url, """
        SELECT c."id" FROM "Conversation" c WHERE c."type" = 'GROUP'
          AND (SELECT count(*) FROM "ConversationParticipant" p WHERE p."conversationId" = c."id") NOT BETWEEN 3 AND 4""")
    untitled = query(url, """SELECT "id" FROM "Conversation" WHERE "type" IN ('GROUP', 'SUPPORT') AND coalesce("title", '') = ''""")
    assert bad_support == [] and small_groups == [] and untitled == []


def test_messages_read_like_the_app(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT "id", "content" FROM "Message"
        WHERE length("content") < 10 OR "content" ~ '[{}]' OR "content" ILIKE '%%lorem%%'
           OR "attachmentUrls" IS NULL OR "attachmentNames" IS NULL OR "attachmentSizes" IS NULL
           OR ("messageType" = 'IMAGE') <> (cardinality("attachmentUrls") = 1)
           OR cardinality("attachmentUrls") <> cardinality("attachmentNames")
           OR cardinality("attachmentUrls") <> cardinality("attachmentSizes")
           OR "isDeleted" OR "isEdited" <> ("editedAt" IS NOT NULL)""")
    assert bad == []
    distinct = one(url, 'SELECT count(DISTINCT "content")::float / count(*) FROM "Message"')
    assert distinct > 0.5


def test_messaging_timestamps_are_causal_and_not_after_the_anchor(seeded):
    url, _ = seeded
    checks = {
        "conversation": """SELECT c."id" FROM "Conversation" c
            WHERE c."createdAt" > c."updatedAt" OR c."lastMessageAt" < c."createdAt" OR c."updatedAt" > %(a)s::timestamp""",
        "participant": """SELECT p."id" FROM "ConversationParticipant" p
            JOIN "Conversation" c ON c."id" = p."conversationId" JOIN "User" u ON u."id" = p."userId"
            WHERE p."joinedAt" < c."createdAt" OR p."joinedAt" < u."createdAt" OR p."lastReadAt" < p."joinedAt"
               OR p."lastReadAt" > %(a)s::timestamp""",
        "message": """SELECT m."id" FROM "Message" m
            JOIN "Conversation" c ON c."id" = m."conversationId"
            JOIN "ConversationParticipant" p ON p."conversationId" = m."conversationId" AND p."userId" = m."senderId"
            WHERE m."createdAt" < c."createdAt" OR m."createdAt" < p."joinedAt" OR m."createdAt" > m."updatedAt"
               OR m."updatedAt" > %(a)s::timestamp""",
        "receipt": """SELECT r."id" FROM "MessageReadReceipt" r JOIN "Message" m ON m."id" = r."messageId"
            WHERE r."readAt" < m."createdAt" OR r."readAt" > %(a)s::timestamp""",
    }
    bad = {name: query(url, sql, {"a": ANCHOR}) for name, sql in checks.items()}
    assert bad == {name: [] for name in checks}


def test_total_messages_between_200_and_300_at_scale_1(db1):
    assert 200 <= one(db1, 'SELECT count(*) FROM "Message"') <= 300


# --------------------------------------------------------------------------------------------------
# idempotent, gap-filling, deterministic, non-destructive
# --------------------------------------------------------------------------------------------------


def test_second_run_adds_nothing_and_changes_nothing(db1):
    before = digest(db1)
    result = run_json(db1)
    assert result["rows_added"] == 0 and result["outcome"] == "satisfied"
    assert digest(db1) == before


def test_deleted_rows_in_the_middle_are_restored_exactly(db1):
    """Rows whose loss leaves a gap (a minimum or a rule unmet) come back with the same ids and values."""
    before_digest, before_counts = digest(db1), counts(db1)
    # a client's own conversation, ordinal 1 while ordinal 2 exists, whose loss leaves the client in one conversation
    owners = [r[0] for r in query(db1, """
        SELECT p."userId" FROM "ConversationParticipant" p JOIN "User" u ON u."id" = p."userId"
        WHERE u."role" = 'client' GROUP BY 1 HAVING count(*) = 2 ORDER BY 1""")
        if one(db1, 'SELECT count(*) FROM "Conversation" WHERE "id" IN (%s, %s)',
               (key_id(f"conversation:client:{r[0]}:1"), key_id(f"conversation:client:{r[0]}:2"))) == 2]
    assert owners, "a client in exactly two conversations, both their own"
    conversation = key_id(f"conversation:client:{owners[0]}:1")
    # a message in the middle of a sender's ordinals (k = 2 of at least 3) whose loss leaves its conversation
    # below 5 messages or its client sender below 10 sent, in another conversation
    pairs = query(db1, """
        SELECT m."conversationId", m."senderId" FROM "Message" m JOIN "User" u ON u."id" = m."senderId"
        WHERE m."conversationId" <> %s
        GROUP BY 1, 2, u."role" HAVING count(*) >= 3
           AND ((SELECT count(*) FROM "Message" x WHERE x."conversationId" = m."conversationId") = 5
                OR (u."role" = 'client' AND (SELECT count(*) FROM "Message" x WHERE x."senderId" = m."senderId") = 10))
        ORDER BY 1, 2""", (conversation,))
    assert pairs, "a sender whose messages are exactly at a minimum"
    cid, uid = pairs[0]
    middle = key_id(f"message:{cid}:{uid}:2")
    assert one(db1, 'SELECT count(*) FROM "Message" WHERE "id" = %s', (middle,)) == 1

    def count_of(sql, *params):
        return one(db1, sql, params)

    expected = {
        "Conversation": 1,
        "ConversationParticipant": count_of('SELECT count(*) FROM "ConversationParticipant" WHERE "conversationId" = %s', conversation) + 2,
        "Message": count_of('SELECT count(*) FROM "Message" WHERE "conversationId" = %s', conversation) + 1,
        "MessageReadReceipt": 1 + count_of("""SELECT count(*) FROM "MessageReadReceipt" r JOIN "Message" m ON m."id" = r."messageId"
                                              WHERE m."conversationId" = %s OR m."id" = %s""", conversation, middle),
        "MessageReaction": 1 + count_of("""SELECT count(*) FROM "MessageReaction" r JOIN "Message" m ON m."id" = r."messageId"
                                           WHERE m."conversationId" = %s OR m."id" = %s""", conversation, middle),
        "TypingIndicator": 1,
    }
    execute(db1, 'DELETE FROM "Conversation" WHERE "id" = %s', (conversation,))
    execute(db1, 'DELETE FROM "Message" WHERE "id" = %s', (middle,))
    # one participant of a therapist pair's DIRECT conversation and one of a group (both senders: a rule breaks)
    execute(db1, """DELETE FROM "ConversationParticipant" WHERE "id" = (
        SELECT p."id" FROM "ConversationParticipant" p JOIN "User" u ON u."id" = p."userId"
        WHERE u."role" = 'therapist' ORDER BY p."id" LIMIT 1)""")
    execute(db1, """DELETE FROM "ConversationParticipant" WHERE "id" = (
        SELECT p."id" FROM "ConversationParticipant" p JOIN "Conversation" c ON c."id" = p."conversationId"
        WHERE c."type" = 'GROUP' AND c."id" <> %s ORDER BY p."id" OFFSET 1 LIMIT 1)""", (conversation,))
    # a read receipt (rule), the only reaction of a conversation, a conversation's only typing state
    execute(db1, """DELETE FROM "MessageReadReceipt" WHERE "id" = (
        SELECT r."id" FROM "MessageReadReceipt" r JOIN "Message" m ON m."id" = r."messageId"
        WHERE m."conversationId" <> %s AND m."id" <> %s ORDER BY r."id" OFFSET 3 LIMIT 1)""", (conversation, middle))
    execute(db1, """DELETE FROM "MessageReaction" WHERE "id" = (
        SELECT min(r."id") FROM "MessageReaction" r JOIN "Message" m ON m."id" = r."messageId"
        WHERE m."conversationId" <> %s AND m."id" <> %s
        GROUP BY m."conversationId" HAVING count(*) = 1 ORDER BY 1 LIMIT 1)""", (conversation, middle))
    execute(db1, """DELETE FROM "TypingIndicator" WHERE "id" = (
        SELECT "id" FROM "TypingIndicator" WHERE "conversationId" <> %s ORDER BY "id" OFFSET 3 LIMIT 1)""", (conversation,))
    gone = {t: before_counts[t] - n for t, n in counts(db1).items() if before_counts[t] != n}
    assert gone == expected
    result = run_json(db1)
    assert added(result) == expected
    assert counts(db1) == before_counts
    assert digest(db1) == before_digest


def test_only_messages_on_a_fresh_schema_database_pulls_its_dependencies(schema_db):
    result = run_json(schema_db)
    assert set(result["rows_by_enricher"]) == {"accounts", "relationships", "messages"}
    c = counts(schema_db)
    assert c["ClientTherapist"] > 0 and all(c[t] > 0 for t in TABLES)
    assert [r["name"] for r in result["requirements"] if r["missing_after"]] == []


def test_two_fresh_databases_end_byte_identical(new_db):
    a, b = new_db("schema"), new_db("schema")
    seed(a, *ONLY)
    seed(b, *ONLY)
    da, db_ = digest(a), digest(b)
    assert {t: da[t] == db_[t] for t in TABLES} == {t: True for t in TABLES}
    assert da == db_


def test_hand_made_conversation_is_never_touched_and_gets_messages_not_after_its_last_message_at(db1):
    client_a, client_b = [r[0] for r in query(db1, """SELECT "id" FROM "User" WHERE "role" = 'client' ORDER BY "email" LIMIT 2""")]
    execute(db1, """
        INSERT INTO "Conversation" ("id", "type", "isActive", "lastMessageAt", "createdAt", "updatedAt")
        VALUES ('hand-made-chat', 'DIRECT', true, '2026-10-20 09:00:00', '2026-10-01 09:00:00', '2026-10-20 09:00:00')""")
    execute(db1, """
        INSERT INTO "ConversationParticipant" ("id", "conversationId", "userId", "joinedAt", "lastReadAt")
        VALUES ('hand-made-a', 'hand-made-chat', %(a)s, '2026-10-01 09:00:00', '2026-10-20 09:00:00'),
               ('hand-made-b', 'hand-made-chat', %(b)s, '2026-10-01 09:00:00', NULL)""", {"a": client_a, "b": client_b})
    rows_before = query(db1, """
        SELECT t::text FROM "Conversation" t WHERE "id" = 'hand-made-chat'
        UNION ALL SELECT t::text FROM "ConversationParticipant" t WHERE "conversationId" = 'hand-made-chat'""")
    run_json(db1)
    rows_after = query(db1, """
        SELECT t::text FROM "Conversation" t WHERE "id" = 'hand-made-chat'
        UNION ALL SELECT t::text FROM "ConversationParticipant" t WHERE "conversationId" = 'hand-made-chat'""")
    assert rows_after == rows_before
    n, latest, earliest = query(db1, """
        SELECT count(*), max("createdAt"), min("createdAt") FROM "Message" WHERE "conversationId" = 'hand-made-chat'""")[0]
    assert n >= 5
    assert str(latest) <= "2026-10-20 09:00:00" and str(earliest) >= "2026-10-01 09:00:00"
    # b never read (lastReadAt NULL): no receipt; a has read everything sent by b
    assert one(db1, """SELECT count(*) FROM "MessageReadReceipt" r JOIN "Message" m ON m."id" = r."messageId"
                       WHERE m."conversationId" = 'hand-made-chat' AND r."userId" = %s""", (client_b,)) == 0
    assert run_json(db1)["rows_added"] == 0
