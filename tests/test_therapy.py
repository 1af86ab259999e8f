"""Therapy-side enrichers (assessments, worksheets, meetings, reviews, payments) on a real PostgreSQL.

Every requirement and data rule is proved by querying the database for violations (or by recomputing in
Python), never by trusting the tool's own checks. The property tests run once per module and scale
(1 and 10) on a module-scoped database seeded with `--only` these five enrichers and `--with payments`
(they pull accounts, relationships and availability), so work in progress elsewhere cannot change them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import psycopg
import pytest

from conftest import seeded_database
from helpers import NOW, counts, digest, execute, query, seed, one

MINE = ["assessments", "worksheets", "meetings", "reviews", "payments"]
ONLY = [a for name in MINE for a in ("--only", name)] + ["--with", "payments"]
TABLES = ["PreAssessment", "Worksheet", "WorksheetSubmission", "Meeting", "MeetingNotes", "Review",
          "PaymentMethod", "Payment"]
ANCHOR = dt.datetime.fromisoformat(NOW)

# The intake questionnaire as the app scores it: name, items, highest answer, reverse-scored positions,
# severity bands (upper bound, label). 201 answers in this order.
SCALES = [
    ("Stress", 10, 4, {3, 4, 6, 7}, [(13, "Low Stress"), (26, "Moderate Stress"), (40, "High Perceived Stress")]),
    ("Anxiety", 7, 3, set(), [(4, "Minimal Anxiety"), (9, "Mild Anxiety"), (14, "Moderate Anxiety"), (21, "Severe Anxiety")]),
    ("Depression", 9, 3, set(), [(4, "Minimal Depression"), (9, "Mild Depression"), (14, "Moderate Depression"),
                                 (19, "Moderately Severe Depression"), (27, "Severe Depression")]),
    ("Insomnia", 7, 4, set(), [(7, "No clinically significant insomnia"), (14, "Subthreshold insomnia"),
                               (21, "Clinical insomnia (moderate severity)"), (28, "Clinical insomnia (severe)")]),
    ("Panic", 7, 4, set(), [(7, "No panic disorder"), (15, "Mild panic disorder"), (23, "Moderate panic disorder"),
                            (28, "Severe panic disorder")]),
    ("Bipolar disorder (BD)", 13, 1, set(), [(6, "Negative for bipolar disorder"), (13, "Positive for bipolar disorder")]),
    ("Obsessive compulsive disorder (OCD)", 18, 4, set(), [(20, "Subclinical"), (40, "Mild"), (60, "Moderate"), (72, "Severe")]),
    ("Post-traumatic stress disorder (PTSD)", 20, 4, set(), [(10, "None to minimal"), (20, "Mild"), (30, "Moderate"),
                                                             (40, "Severe"), (80, "Extreme")]),
    ("Social anxiety", 17, 4, set(), [(20, "Minimal or No Social Phobia"), (30, "Mild Social Phobia"),
                                      (40, "Moderate Social Phobia"), (50, "Severe Social Phobia"),
                                      (68, "Very Severe Social Phobia")]),
    ("Phobia", 17, 4, set(), [(20, "No significant phobia"), (40, "Mild phobia"), (60, "Moderate phobia"), (68, "Severe phobia")]),
    ("Burnout", 22, 4, set(), [(30, "Low burnout"), (50, "Moderate burnout"), (70, "High burnout"), (88, "Severe burnout")]),
    ("Binge eating / Eating disorders", 16, 3, set(), [(17, "No binge eating"), (26, "Mild binge eating"),
                                                       (48, "Moderate binge eating")]),
    ("ADD / ADHD", 18, 2, set(), [(16, "No ADHD symptoms"), (23, "Mild ADHD symptoms"), (30, "Moderate ADHD symptoms"),
                                  (36, "Severe ADHD symptoms")]),
    ("Substance or Alcohol Use Issues", 10, 4, set(), [(7, "No significant alcohol use"), (15, "Mild alcohol use"),
                                                       (19, "Moderate alcohol use"), (40, "Severe alcohol use")]),
    ("Drug Issues", 10, 1, set(), [(0, "No drug problems reported"), (2, "Low level of drug problems"),
                                   (5, "Moderate level of drug problems"), (8, "Substantial level of drug problems"),
                                   (10, "Severe level of drug problems")]),
]


def score_intake(answers: list) -> tuple[dict, dict]:
    """Scores and severity labels of 201 answers, or raise AssertionError when the answers are malformed."""
    assert isinstance(answers, list) and len(answers) == 201, f"{len(answers)} answers"
    scores, levels, pos = {}, {}, 0
    for name, n, top, rev, bands in SCALES:
        total = 0
        for p in range(n):
            v = answers[pos + p]
            assert isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= top, (name, p, v)
            total += top - v if p in rev else v
        scores[name] = total
        levels[name] = next(label for upper, label in bands if total <= upper)
        pos += n
    return scores, levels


def run_json(url: str, *extra: str, expect: int = 0) -> dict:
    return json.loads(seed(url, *ONLY, "--format", "json", *extra, expect=expect).stdout)


@pytest.fixture(scope="module", params=[1, 10], ids=["scale1", "scale10"])
def seeded(request, server_url, _templates):
    """(url, scale): a database after one first run of the therapy enrichers at that scale."""
    with seeded_database(server_url, _templates["plain"], *ONLY, "--scale", str(request.param)) as url:
        yield url, request.param


@pytest.fixture
def db1(schema_db):
    """A fresh database after one first run of the therapy enrichers (payments on) at scale 1."""
    seed(schema_db, *ONLY)
    return schema_db



def nonempty(url: str, table: str) -> int:
    n = one(url, f'SELECT count(*) FROM "{table}"')
    assert n > 0, f"{table} is empty"
    return n


# --------------------------------------------------------------------------------------------------
# assessments
# --------------------------------------------------------------------------------------------------


def test_client_assessments_every_client_has_one_processed_intake(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT c."userId", count(p."id"), bool_and(p."isProcessed")
        FROM "Client" c LEFT JOIN "PreAssessment" p ON p."clientId" = c."userId" GROUP BY 1""")
    assert len(rows) == 18 * scale
    assert [r for r in rows if r[1] != 1 or not r[2]] == []


def test_assessment_consistent_scores_and_severity_levels_recomputed_from_answers(seeded):
    url, _ = seeded
    rows = query(url, 'SELECT "id", "answers", "scores", "severityLevels" FROM "PreAssessment"')
    assert rows
    bad = []
    for pid, answers, scores, levels in rows:
        want_scores, want_levels = score_intake(answers)
        if scores != want_scores or levels != want_levels:
            bad.append(pid)
    assert bad == []
    # the answers spread over the bands: not everybody minimal, not everybody severe
    depression = {r[3]["Depression"] for r in rows}
    assert len(depression) >= 3


def test_assessment_consistent_processed_after_created_with_ai_estimate_object(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT p."id" FROM "PreAssessment" p JOIN "Client" c ON c."userId" = p."clientId"
        WHERE NOT p."isProcessed" OR p."processedAt" IS NULL OR p."processedAt" <= p."createdAt"
           OR p."createdAt" < c."createdAt" OR p."processedAt" > %s::timestamp OR p."updatedAt" < p."createdAt"
           OR jsonb_typeof(p."aiEstimate") <> 'object'
           OR jsonb_typeof(p."aiEstimate" -> 'risk_factors') <> 'array'
           OR jsonb_typeof(p."aiEstimate" -> 'recommendations') <> 'array'
           OR (p."aiEstimate" ->> 'confidence')::numeric NOT BETWEEN 0 AND 1
           OR p."aiEstimate" -> 'estimated_severity' ->> 'overall' NOT IN ('low', 'mild', 'moderate', 'high', 'severe')""",
        (NOW,))
    nonempty(url, "PreAssessment")
    assert bad == []


TAMPER = {
    # answer 21 is a PHQ-9 item: moving it by one changes the depression score the row claims
    "answer_changed": """jsonb_set("answers", '{20}', to_jsonb(CASE WHEN ("answers" ->> 20)::int = 0 THEN 1 ELSE 0 END))""",
    "answer_out_of_range": """jsonb_set("answers", '{20}', '9')""",
    "answer_not_integer": """jsonb_set("answers", '{20}', '1.5')""",
    "answer_missing": """"answers" - 200""",
}


@pytest.mark.parametrize("case", sorted(TAMPER) + ["wrong_label", "not_processed"])
def test_assessment_consistent_check_names_a_tampered_intake(db1, case):
    pid = one(db1, 'SELECT "id" FROM "PreAssessment" ORDER BY "id" LIMIT 1')
    if case in TAMPER:
        execute(db1, f'UPDATE "PreAssessment" SET "answers" = {TAMPER[case]} WHERE "id" = %s', (pid,))
    elif case == "wrong_label":
        # the label of the band next to the right one
        execute(db1, """UPDATE "PreAssessment" SET "severityLevels" = jsonb_set("severityLevels", '{Anxiety}',
                          CASE WHEN ("scores" ->> 'Anxiety')::int <= 4 THEN '"Mild Anxiety"' ELSE '"Minimal Anxiety"' END::jsonb)
                        WHERE "id" = %s""", (pid,))
    else:
        execute(db1, 'UPDATE "PreAssessment" SET "isProcessed" = false WHERE "id" = %s', (pid,))
    res = seed(db1, *ONLY, expect=1)
    assert "assessment_consistent" in res.stdout + res.stderr
    assert pid[:8] in res.stdout + res.stderr


# --------------------------------------------------------------------------------------------------
# worksheets
# --------------------------------------------------------------------------------------------------


def test_therapist_worksheets_every_approved_therapist_created_at_least_3(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT t."userId", count(w."id") FROM "Therapist" t LEFT JOIN "Worksheet" w ON w."therapistId" = t."userId"
        WHERE t."status" = 'APPROVED' GROUP BY 1""")
    assert len(rows) == 6 * scale
    assert [r for r in rows if r[1] < 3] == []


def test_client_worksheets_every_client_with_an_active_therapist_has_one_from_that_therapist(seeded):
    url, _ = seeded
    nonempty(url, "ClientTherapist")
    bad = query(url, """
        SELECT ct."clientId" FROM "ClientTherapist" ct
        WHERE ct."status" = 'active'
          AND NOT EXISTS (SELECT FROM "Worksheet" w WHERE w."clientId" = ct."clientId" AND w."therapistId" = ct."therapistId")""")
    assert bad == []


def test_worksheet_matched_pairs_only_between_client_and_therapist_with_a_match(seeded):
    url, _ = seeded
    nonempty(url, "Worksheet")
    assert query(url, """
        SELECT w."id" FROM "Worksheet" w
        WHERE NOT EXISTS (SELECT FROM "ClientTherapist" ct
                          WHERE ct."clientId" = w."clientId" AND ct."therapistId" = w."therapistId")""") == []


def test_worksheet_submissions_submitted_and_reviewed_have_one_reviewed_have_feedback(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT w."id", w."status" FROM "Worksheet" w LEFT JOIN "WorksheetSubmission" s ON s."worksheetId" = w."id"
        WHERE (w."status" IN ('SUBMITTED', 'REVIEWED') AND s."id" IS NULL)
           OR (w."status" = 'REVIEWED' AND coalesce(s."feedback", '') = '')
           OR (w."status" IN ('ASSIGNED', 'OVERDUE') AND s."id" IS NOT NULL)""")
    statuses = {r[0] for r in query(url, 'SELECT DISTINCT "status"::text FROM "Worksheet"')}
    assert statuses == {"ASSIGNED", "SUBMITTED", "REVIEWED", "OVERDUE"}
    assert bad == []


def test_worksheet_times_are_causal_and_status_fits_the_due_date(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT w."id" FROM "Worksheet" w
        JOIN "ClientTherapist" ct ON ct."clientId" = w."clientId" AND ct."therapistId" = w."therapistId"
        LEFT JOIN "WorksheetSubmission" s ON s."worksheetId" = w."id"
        WHERE w."createdAt" > %(a)s::timestamp OR w."createdAt" < ct."assignedAt"
           OR w."dueDate" <= w."createdAt" OR w."updatedAt" < w."createdAt" OR w."updatedAt" > %(a)s::timestamp
           OR (w."status" = 'OVERDUE' AND w."dueDate" > %(a)s::timestamp)
           OR (w."status" = 'ASSIGNED' AND w."dueDate" <= %(a)s::timestamp)
           OR s."submittedAt" < w."createdAt" OR s."submittedAt" > %(a)s::timestamp
           OR cardinality(s."fileUrls") <> cardinality(s."fileNames")
           OR cardinality(s."fileNames") <> cardinality(s."fileSizes")
           OR w."materialUrls" IS NULL OR w."materialNames" IS NULL
           OR (s."id" IS NOT NULL AND (s."fileUrls" IS NULL OR s."fileNames" IS NULL OR s."fileSizes" IS NULL))""",
        {"a": NOW})
    assert one(url, """SELECT count(*) FROM "Worksheet" WHERE "dueDate" > %s::timestamp""", (NOW,)) > 0
    assert bad == []


# --------------------------------------------------------------------------------------------------
# meetings
# --------------------------------------------------------------------------------------------------


def test_pair_meetings_every_active_pair_has_at_least_3_and_its_planned_4_or_5(seeded):
    url, scale = seeded
    rows = query(url, """
        SELECT ct."clientId", count(m."id") FROM "ClientTherapist" ct
        LEFT JOIN "Meeting" m ON m."clientId" = ct."clientId" AND m."therapistId" = ct."therapistId"
        WHERE ct."status" = 'active' GROUP BY ct."clientId", ct."therapistId" """)
    assert len(rows) >= 12 * scale
    assert [r for r in rows if r[1] < 3] == []
    assert {r[1] for r in rows} == {4, 5}


def test_meetings_total_is_40_to_60_per_scale_unit(seeded):
    url, scale = seeded
    assert 40 * scale <= one(url, 'SELECT count(*) FROM "Meeting"') <= 60 * scale


def test_therapist_meetings_every_approved_therapist_with_active_clients_has_at_least_4(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT t."userId" FROM "Therapist" t
        WHERE t."status" = 'APPROVED'
          AND EXISTS (SELECT FROM "ClientTherapist" ct WHERE ct."therapistId" = t."userId" AND ct."status" = 'active')
          AND (SELECT count(*) FROM "Meeting" m WHERE m."therapistId" = t."userId") < 4""")
    nonempty(url, "Meeting")
    assert bad == []


def test_completed_meeting_notes_every_completed_meeting_has_a_note_written_after_it(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT m."id" FROM "Meeting" m WHERE m."status" = 'COMPLETED'
          AND NOT EXISTS (SELECT FROM "MeetingNotes" n WHERE n."meetingId" = m."id")""")
    late = query(url, """
        SELECT n."id" FROM "MeetingNotes" n JOIN "Meeting" m ON m."id" = n."meetingId"
        WHERE n."createdAt" < m."endTime" OR n."createdAt" > %s::timestamp OR n."updatedAt" < n."createdAt"
           OR length(n."notes") < 60""", (NOW,))
    nonempty(url, "MeetingNotes")
    assert bad == [] and late == []


def test_therapist_notes_every_therapist_with_completed_meetings_has_at_least_2_notes(seeded):
    url, _ = seeded
    rows = query(url, """
        SELECT m."therapistId", count(n."id") FROM "Meeting" m LEFT JOIN "MeetingNotes" n ON n."meetingId" = m."id"
        WHERE m."status" = 'COMPLETED' GROUP BY 1""")
    assert rows
    assert [r for r in rows if r[1] < 2] == []


def test_meetings_in_slots_every_meeting_inside_an_available_slot_of_its_weekday(seeded):
    url, _ = seeded
    slots: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for tid, dow, start, end in query(url, """
            SELECT "therapistId", "dayOfWeek", "startTime", "endTime" FROM "TherapistAvailability" WHERE "isAvailable" """):
        h1, m1 = map(int, start.split(":"))
        h2, m2 = map(int, end.split(":"))
        slots.setdefault((tid, int(dow)), []).append((h1 * 60 + m1, h2 * 60 + m2))
    meetings = query(url, 'SELECT "id", "therapistId", "startTime", "endTime" FROM "Meeting"')
    assert meetings
    bad = []
    for mid, tid, start, end in meetings:
        js_dow = (start.weekday() + 1) % 7  # JavaScript: 0 = Sunday
        lo, hi = start.hour * 60 + start.minute, end.hour * 60 + end.minute
        ok = end.date() == start.date() and start.minute == 0 and any(
            s <= lo and hi <= e for s, e in slots.get((tid, js_dow), []))
        if not ok:
            bad.append(mid)
    assert bad == []


def test_meetings_no_overlap_a_therapists_meetings_never_overlap(seeded):
    url, _ = seeded
    nonempty(url, "Meeting")
    assert query(url, """
        SELECT a."id", b."id" FROM "Meeting" a JOIN "Meeting" b
          ON a."therapistId" = b."therapistId" AND a."id" < b."id"
         AND tsrange(a."startTime", a."endTime") && tsrange(b."startTime", b."endTime")""") == []


def test_meetings_matched_pairs_only_between_client_and_therapist_with_a_match(seeded):
    url, _ = seeded
    nonempty(url, "Meeting")
    assert query(url, """
        SELECT m."id" FROM "Meeting" m
        WHERE NOT EXISTS (SELECT FROM "ClientTherapist" ct
                          WHERE ct."clientId" = m."clientId" AND ct."therapistId" = m."therapistId")""") == []


def test_meetings_status_time_past_statuses_before_anchor_future_after_and_all_five_present(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT "id", "status" FROM "Meeting"
        WHERE ("status" IN ('COMPLETED', 'CANCELLED', 'NO_SHOW') AND "endTime" > %(a)s::timestamp)
           OR ("status" IN ('SCHEDULED', 'CONFIRMED') AND "startTime" <= %(a)s::timestamp)
           OR "status" IN ('WAITING', 'IN_PROGRESS')""", {"a": NOW})
    mix = dict(query(url, 'SELECT "status"::text, count(*) FROM "Meeting" GROUP BY 1'))
    assert set(mix) == {"COMPLETED", "CANCELLED", "NO_SHOW", "SCHEDULED", "CONFIRMED"}
    assert mix["COMPLETED"] > sum(mix.values()) / 2
    assert bad == []


def test_meeting_values_are_causal_and_plausible(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT m."id" FROM "Meeting" m
        JOIN "ClientTherapist" ct ON ct."clientId" = m."clientId" AND ct."therapistId" = m."therapistId"
        WHERE m."createdAt" > m."startTime" OR m."createdAt" > %(a)s::timestamp OR m."createdAt" < ct."assignedAt"
           OR m."updatedAt" < m."createdAt" OR m."updatedAt" > %(a)s::timestamp
           OR m."endTime" <> m."startTime" + make_interval(mins => m."duration") OR m."duration" NOT IN (50, 60)
           OR m."startTime" < %(a)s::timestamp - interval '57 days' OR m."startTime" > %(a)s::timestamp + interval '28 days'
           OR m."title" IS NULL OR m."description" IS NULL
           OR (m."meetingType" = 'video') <> (m."meetingUrl" IS NOT NULL)""", {"a": NOW})
    nonempty(url, "Meeting")
    assert bad == []


# --------------------------------------------------------------------------------------------------
# reviews
# --------------------------------------------------------------------------------------------------


def test_therapist_reviews_every_approved_therapist_with_completed_meetings_has_a_review(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT t."userId" FROM "Therapist" t
        WHERE t."status" = 'APPROVED'
          AND EXISTS (SELECT FROM "Meeting" m WHERE m."therapistId" = t."userId" AND m."status" = 'COMPLETED')
          AND NOT EXISTS (SELECT FROM "Review" r WHERE r."therapistId" = t."userId")""")
    nonempty(url, "Review")
    assert bad == []


def test_reviewed_meetings_pct_about_30_percent_of_completed_meetings_are_reviewed(seeded):
    url, scale = seeded
    completed, reviewed = query(url, """
        SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT FROM "Review" r WHERE r."meetingId" = m."id"))
        FROM "Meeting" m WHERE m."status" = 'COMPLETED'""")[0]
    assert completed > 0
    assert reviewed >= completed * 30 // 100
    assert reviewed <= max((completed * 30 + 50) // 100, 6 * scale)  # therapist coverage counts inside the 30%
    if scale == 1:
        assert 10 <= one(url, 'SELECT count(*) FROM "Review"') <= 15


def test_reviews_completed_meetings_same_client_and_therapist_once_per_meeting_after_it_ended(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT r."id" FROM "Review" r LEFT JOIN "Meeting" m ON m."id" = r."meetingId"
        WHERE m."id" IS NULL OR m."status" <> 'COMPLETED' OR m."clientId" <> r."clientId"
           OR m."therapistId" <> r."therapistId" OR r."createdAt" < m."endTime" OR r."createdAt" > %s::timestamp
           OR r."rating" NOT BETWEEN 1 AND 5 OR r."updatedAt" < r."createdAt" """, (NOW,))
    twice = query(url, 'SELECT "meetingId" FROM "Review" GROUP BY 1 HAVING count(*) > 1')
    nonempty(url, "Review")
    assert bad == [] and twice == []


def test_review_ratings_are_mostly_4_or_5_with_matching_texts(seeded):
    url, _ = seeded
    ratings = dict(query(url, 'SELECT "rating", count(*) FROM "Review" GROUP BY 1'))
    total = sum(ratings.values())
    assert (ratings.get(4, 0) + ratings.get(5, 0)) / total >= 0.7
    assert query(url, """SELECT "id" FROM "Review" WHERE "title" IS NULL OR "content" IS NULL OR length("content") < 40""") == []


# --------------------------------------------------------------------------------------------------
# payments
# --------------------------------------------------------------------------------------------------


def test_client_payment_methods_every_client_with_completed_meetings_has_a_method(seeded):
    url, _ = seeded
    bad = query(url, """
        SELECT DISTINCT m."clientId" FROM "Meeting" m WHERE m."status" = 'COMPLETED'
          AND NOT EXISTS (SELECT FROM "PaymentMethod" pm WHERE pm."userId" = m."clientId")""")
    defaults = query(url, """SELECT "userId" FROM "PaymentMethod" GROUP BY 1 HAVING count(*) FILTER (WHERE "isDefault") <> 1""")
    nonempty(url, "PaymentMethod")
    assert bad == [] and defaults == []


def test_completed_meeting_payments_one_completed_payment_of_rate_times_duration(seeded):
    url, _ = seeded
    rows = query(url, """
        SELECT m."id", t."hourlyRate", m."duration", array_agg(p."amount") FILTER (WHERE p."id" IS NOT NULL)
        FROM "Meeting" m JOIN "Therapist" t ON t."userId" = m."therapistId"
        LEFT JOIN "Payment" p ON p."meetingId" = m."id" AND p."status" = 'COMPLETED'
             AND p."clientId" = m."clientId" AND p."therapistId" = m."therapistId"
        WHERE m."status" = 'COMPLETED' GROUP BY m."id", t."hourlyRate", m."duration" """)
    assert rows
    bad = [r[0] for r in rows
           if not r[3] or (r[1] * r[2] / Decimal(60)).quantize(Decimal("0.01")) not in r[3]]
    assert bad == []
    assert query(url, """
        SELECT p."id" FROM "Payment" p LEFT JOIN "Meeting" m ON m."id" = p."meetingId"
        LEFT JOIN "PaymentMethod" pm ON pm."id" = p."paymentMethodId"
        WHERE m."status" IS DISTINCT FROM 'COMPLETED' OR pm."userId" IS DISTINCT FROM p."clientId"
           OR p."processedAt" < m."endTime" OR p."processedAt" > %s::timestamp OR p."createdAt" < pm."createdAt"
           OR p."updatedAt" < p."createdAt" """, (NOW,)) == []


def test_payment_methods_are_philippine_cards_or_wallets_with_masked_numbers(seeded):
    url, _ = seeded
    types = {r[0] for r in query(url, 'SELECT DISTINCT "type"::text FROM "PaymentMethod"')}
    assert types == {"CARD", "GCASH", "MAYA"}
    bad = query(url, r"""
        SELECT "id" FROM "PaymentMethod" WHERE NOT CASE "type"
          WHEN 'CARD' THEN "cardNumber" ~ '^\*{4} \*{4} \*{4} \d{4}$' AND right("cardNumber", 4) = "cardLast4"
                           AND "cardType" IN ('Visa', 'Mastercard', 'JCB') AND "cardholderName" <> ''
                           AND make_date("expiryYear", "expiryMonth", 1) > %s::date AND "gcashNumber" IS NULL
                           AND "billingAddress" ->> 'country' = 'PH'
          WHEN 'GCASH' THEN "gcashNumber" ~ '^09\d{2} \*{3} \d{4}$' AND "isVerified" AND "cardNumber" IS NULL
          WHEN 'MAYA' THEN "mayaNumber" ~ '^09\d{2} \*{3} \d{4}$' AND "mayaVerified" AND "cardNumber" IS NULL
          ELSE false END""", (NOW,))
    assert bad == []


def test_default_run_leaves_payments_empty_and_with_payments_fills_them(schema_db):
    seed(schema_db)
    n = counts(schema_db)
    assert n["Payment"] == 0 and n["PaymentMethod"] == 0
    assert all(n[t] > 0 for t in TABLES if not t.startswith("Payment"))
    seed(schema_db, "--with", "payments")
    n = counts(schema_db)
    assert n["Payment"] > 0 and n["PaymentMethod"] > 0


# --------------------------------------------------------------------------------------------------
# all five: content, idempotency, gap filling, determinism
# --------------------------------------------------------------------------------------------------


def test_every_owned_table_has_rows_and_list_columns_hold_arrays(seeded):
    url, _ = seeded
    for table in TABLES:
        nonempty(url, table)
    assert query(url, """
        SELECT 'w' FROM "Worksheet" WHERE "materialUrls" IS NULL OR "materialNames" IS NULL
        UNION ALL SELECT 's' FROM "WorksheetSubmission" WHERE "fileUrls" IS NULL OR "fileNames" IS NULL OR "fileSizes" IS NULL""") == []


def test_texts_read_like_the_app_and_vary(seeded):
    url, _ = seeded
    texts = [r[0] for r in query(url, """
        SELECT "notes" FROM "MeetingNotes" UNION ALL SELECT "content" FROM "Review"
        UNION ALL SELECT "instructions" FROM "Worksheet" UNION ALL SELECT "feedback" FROM "WorksheetSubmission"
        WHERE "feedback" IS NOT NULL""")]
    assert texts
    assert not [t for t in texts if re.search(r"lorem|ipsum|dolor sit", t, re.I)]
    notes = [r[0] for r in query(url, 'SELECT "notes" FROM "MeetingNotes"')]
    assert len(set(notes)) >= 0.8 * len(notes)


def test_second_run_adds_nothing_and_changes_nothing(seeded):
    url, scale = seeded
    before = digest(url)
    out = run_json(url, "--scale", str(scale))
    assert out["rows_added"] == 0
    assert digest(url) == before


def test_deleted_rows_in_the_middle_are_restored_exactly_and_nothing_else(db1):
    before = digest(db1)
    deleted = {}

    def delete(table: str, where: str):
        with psycopg.connect(db1, autocommit=True) as conn:
            ids = [r[0] for r in conn.execute(f'SELECT "id" FROM "{table}" WHERE {where}').fetchall()]
            assert len(ids) == 1, (table, ids)
            conn.execute(f'DELETE FROM "{table}" WHERE "id" = %s', (ids[0],))
        deleted[table] = deleted.get(table, 0) + 1

    # a middle session of a pair (its 2nd of 4 or 5 by time), one that has no notes, review or payment
    delete("Meeting", """"id" = (SELECT x."id" FROM (
        SELECT m."id", m."status", row_number() OVER (PARTITION BY m."clientId" ORDER BY m."startTime") AS k
        FROM "Meeting" m) x WHERE x.k BETWEEN 2 AND 3 AND x."status" IN ('CANCELLED', 'NO_SHOW', 'SCHEDULED', 'CONFIRMED')
        ORDER BY x.k, x."id" LIMIT 1)""")
    # a therapist's 2nd worksheet (by time) without a submission, and another worksheet's submission
    delete("Worksheet", """"id" = (SELECT x."id" FROM (
        SELECT w."id", w."status", row_number() OVER (PARTITION BY w."therapistId" ORDER BY w."createdAt") AS k
        FROM "Worksheet" w) x WHERE x.k >= 2 AND x."status" IN ('ASSIGNED', 'OVERDUE') ORDER BY x.k, x."id" LIMIT 1)""")
    delete("WorksheetSubmission", """"id" = (SELECT "id" FROM "WorksheetSubmission" ORDER BY "id" OFFSET 3 LIMIT 1)""")
    delete("PreAssessment", """"id" = (SELECT "id" FROM "PreAssessment" ORDER BY "id" OFFSET 7 LIMIT 1)""")
    delete("MeetingNotes", """"id" = (SELECT "id" FROM "MeetingNotes" ORDER BY "id" OFFSET 5 LIMIT 1)""")
    delete("Review", """"id" = (SELECT "id" FROM "Review" ORDER BY "id" OFFSET 4 LIMIT 1)""")
    # a payment method together with its client's payments (deleting only the method would set their
    # paymentMethodId to NULL, which no insert can undo), and one more payment of another client
    with psycopg.connect(db1, autocommit=True) as conn:
        uid = conn.execute('SELECT "userId" FROM "PaymentMethod" ORDER BY "id" OFFSET 2 LIMIT 1').fetchone()[0]
        n = conn.execute('DELETE FROM "Payment" WHERE "clientId" = %s', (uid,)).rowcount
        conn.execute('DELETE FROM "PaymentMethod" WHERE "userId" = %s', (uid,))
    deleted["Payment"], deleted["PaymentMethod"] = n, 1
    delete("Payment", f""""id" = (SELECT "id" FROM "Payment" WHERE "clientId" <> '{uid}' ORDER BY "id" OFFSET 3 LIMIT 1)""")

    out = run_json(db1)
    assert {t: n for t, n in out["rows_by_table"].items() if n} == deleted
    assert digest(db1) == before


def test_a_deleted_reviewed_completed_meeting_comes_back_and_the_run_holds(db1):
    mid = one(db1, """SELECT m."id" FROM "Meeting" m JOIN "Review" r ON r."meetingId" = m."id"
                      ORDER BY m."id" LIMIT 1""")
    start = one(db1, 'SELECT "startTime" FROM "Meeting" WHERE "id" = %s', (mid,))
    execute(db1, 'DELETE FROM "Meeting" WHERE "id" = %s', (mid,))  # review and payment keep a NULL meetingId
    seed(db1, *ONLY)
    assert one(db1, 'SELECT "startTime" FROM "Meeting" WHERE "id" = %s', (mid,)) == start
    assert one(db1, 'SELECT count(*) FROM "Review" WHERE "meetingId" = %s', (mid,)) == 1
    assert one(db1, 'SELECT count(*) FROM "Payment" WHERE "meetingId" = %s', (mid,)) == 1
    assert one(db1, 'SELECT count(*) FROM "MeetingNotes" WHERE "meetingId" = %s', (mid,)) >= 1


def test_hand_made_rows_count_toward_minimums_and_stay_untouched(schema_db):
    url = schema_db
    seed(url, "--only", "relationships", "--only", "availability")
    # a hand-made past session of an active pair, inside the therapist's first slot, 3 weeks ago
    cid, tid, dow, start = query(url, """
        SELECT ct."clientId", ct."therapistId", a."dayOfWeek"::int, a."startTime"
        FROM "ClientTherapist" ct JOIN "TherapistAvailability" a ON a."therapistId" = ct."therapistId"
        WHERE ct."status" = 'active' ORDER BY ct."id", a."dayOfWeek" LIMIT 1""")[0]
    day = ANCHOR.date() - dt.timedelta(days=21)
    day -= dt.timedelta(days=((day.weekday() + 1) % 7 - dow) % 7)
    st = dt.datetime.combine(day, dt.time(int(start[:2])))
    execute(url, """
        INSERT INTO "Meeting" ("id", "startTime", "endTime", "duration", "status", "clientId", "therapistId",
                               "createdAt", "updatedAt")
        VALUES ('hand-made-meeting', %s, %s, 60, 'COMPLETED', %s, %s, %s, %s)""",
        (st, st + dt.timedelta(minutes=60), cid, tid, st - dt.timedelta(days=2), st + dt.timedelta(hours=1)))
    # a hand-made, consistent intake for one client: all answers 0
    answers = [0] * 201
    scores, levels = score_intake(answers)
    execute(url, """
        INSERT INTO "PreAssessment" ("id", "createdAt", "updatedAt", "clientId", "answers", "scores", "severityLevels",
                                     "aiEstimate", "isProcessed", "processedAt")
        VALUES ('hand-made-intake', %s, %s, %s, %s, %s, %s, '{}', true, %s)""",
        (ANCHOR - dt.timedelta(days=30), ANCHOR - dt.timedelta(days=30), cid, json.dumps(answers),
         json.dumps(scores), json.dumps(levels), ANCHOR - dt.timedelta(days=29)))
    # a hand-made worksheet of the same pair
    execute(url, """
        INSERT INTO "Worksheet" ("id", "clientId", "therapistId", "title", "instructions", "dueDate", "updatedAt")
        VALUES ('hand-made-worksheet', %s, %s, 'My own worksheet', 'Write it down.', %s, %s)""",
        (cid, tid, ANCHOR + dt.timedelta(days=3), ANCHOR - dt.timedelta(days=3)))
    mine = """SELECT t::text FROM "{}" t WHERE "id" LIKE 'hand-made-%%' ORDER BY 1"""
    before = {t: query(url, mine.format(t)) for t in ("Meeting", "PreAssessment", "Worksheet")}

    seed(url, *ONLY)
    assert {t: query(url, mine.format(t)) for t in before} == before
    assert one(url, 'SELECT count(*) FROM "PreAssessment" WHERE "clientId" = %s', (cid,)) == 1
    # the pair got its planned 4 or 5 sessions with the hand-made one among them, none overlapping
    assert one(url, 'SELECT count(*) FROM "Meeting" WHERE "clientId" = %s AND "therapistId" = %s', (cid, tid)) in (4, 5)
    assert query(url, """
        SELECT a."id" FROM "Meeting" a JOIN "Meeting" b ON a."therapistId" = b."therapistId" AND a."id" < b."id"
         AND tsrange(a."startTime", a."endTime") && tsrange(b."startTime", b."endTime")""") == []
    # the hand-made worksheet counts toward the therapist's 3 and its pair's 1
    assert one(url, """SELECT count(*) FROM "MeetingNotes" WHERE "meetingId" = 'hand-made-meeting'""") >= 1
    assert one(url, 'SELECT count(*) FROM "Worksheet" WHERE "therapistId" = %s', (tid,)) == 3


@pytest.mark.parametrize("name", MINE)
def test_only_one_enricher_on_a_fresh_schema_pulls_its_dependencies(schema_db, name):
    res = seed(schema_db, "--only", name)
    n = counts(schema_db)
    tables = {"assessments": ["PreAssessment"], "worksheets": ["Worksheet", "WorksheetSubmission"],
              "meetings": ["Meeting", "MeetingNotes"], "reviews": ["Review", "Meeting"],
              "payments": ["PaymentMethod", "Payment"]}[name]
    assert all(n[t] > 0 for t in tables), res.stdout


def test_two_fresh_databases_end_byte_identical_and_another_seed_differs(new_db):
    a, b, c = new_db(), new_db(), new_db()
    seed(a, *ONLY)
    seed(b, *ONLY)
    seed(c, *ONLY, "--seed", "7")
    da, db_, dc = digest(a), digest(b), digest(c)
    assert {t: da[t] for t in TABLES} == {t: db_[t] for t in TABLES}
    assert all(da[t] != dc[t] for t in TABLES)


def test_raised_minimums_fill_the_therapist_gap_classes_and_keep_the_rules(schema_db):
    seed(schema_db, *ONLY, "--set", "therapist_meetings=12", "--set", "therapist_worksheets=5",
         "--set", "therapist_notes=6", "--set", "therapist_reviews=3")
    url = schema_db
    assert query(url, """
        SELECT t."userId" FROM "Therapist" t WHERE t."status" = 'APPROVED'
          AND ((SELECT count(*) FROM "Meeting" m WHERE m."therapistId" = t."userId") < 12
            OR (SELECT count(*) FROM "Worksheet" w WHERE w."therapistId" = t."userId") < 5
            OR (SELECT count(*) FROM "Review" r WHERE r."therapistId" = t."userId") < 3
            OR (SELECT count(*) FROM "MeetingNotes" n JOIN "Meeting" m ON m."id" = n."meetingId"
                WHERE m."therapistId" = t."userId" AND m."status" = 'COMPLETED') < 6)""") == []
    assert query(url, """
        SELECT a."id" FROM "Meeting" a JOIN "Meeting" b ON a."therapistId" = b."therapistId" AND a."id" < b."id"
         AND tsrange(a."startTime", a."endTime") && tsrange(b."startTime", b."endTime")""") == []
    # a second run with the same settings adds nothing
    out = json.loads(seed(url, *ONLY, "--set", "therapist_meetings=12", "--set", "therapist_worksheets=5",
                          "--set", "therapist_notes=6", "--set", "therapist_reviews=3", "--format", "json").stdout)
    assert out["rows_added"] == 0


def test_client_assessments_above_one_is_refused_before_anything_is_written(db1):
    before = digest(db1)
    res = seed(db1, *ONLY, "--set", "client_assessments=2", expect=2)
    assert "client_assessments" in res.stderr
    assert digest(db1) == before
