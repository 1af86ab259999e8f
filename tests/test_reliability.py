"""Reliability under stress (issue #4): concurrent runs, killed and interrupted runs, timeouts,
schema drift, odd text and "nothing but inserts", on a real PostgreSQL.

Real `seed-sql` processes where the property needs them (concurrency, kill -9, SIGINT); the CLI
in-process elsewhere. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
import uuid
from pathlib import Path

import psycopg
import pytest

from helpers import NOW, cli, counts, digest, execute, query, seed
from seeder import headers, resources
from seeder.pipeline import LOCK_KEY, POOL_TABLE

SEED_SQL = Path(sys.executable).parent / "seed-sql"
REPO = Path(__file__).resolve().parent.parent
# A line `seed-sql run` prints when an enricher has finished: "  accounts      +30 rows   0.012 s".
ENRICHER_LINE = re.compile(r"^\s+[a-z][a-z0-9_]*\s+(\+\d+|0)\s+rows\s+[\d.]+ s$")
# Variables that would change what a run does; the runs started here must not inherit them.
_CLEAN_ENV = ("SEED_", "APP_ENV", "NODE_ENV", "PGAPPNAME", "DATABASE_URL")


# ----------------------------------------------------------------------------------------------
# helpers


def _env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEAN_ENV)}
    env.update(extra or {})
    return env


def _poll(predicate, timeout: float, interval: float = 0.1):
    """Call predicate until it returns a truthy value or timeout seconds pass; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class Run:
    """A real `seed-sql run` process; stdout and stderr are read by threads so waits can time out."""

    def __init__(self, url: str, *args: str, env: dict | None = None):
        self.app = f"seedsql-test-{uuid.uuid4().hex[:10]}"
        argv = [str(SEED_SQL), "run", "--database-url", url, "--now", NOW, *args]
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
            env=_env({"PGAPPNAME": self.app, **(env or {})}),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out, True), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err, False), daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _read(self, stream, sink: list[str], announce: bool) -> None:
        for line in stream:
            sink.append(line)
            if announce:
                self.lines.put(line)

    def wait_line(self, pattern: re.Pattern, timeout: float) -> str:
        """The first stdout line matching pattern; fails the test after timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    self.finish(5)
                    pytest.fail(f"seed-sql ended (exit {self.proc.returncode}) before printing a line "
                                f"matching {pattern.pattern!r}:\n{self.stdout}\n{self.stderr}")
                continue
            if pattern.search(line.rstrip("\n")):
                return line
        self.kill()
        pytest.fail(f"no line matching {pattern.pattern!r} within {timeout} s:\n{self.stdout}")

    def finish(self, timeout: float) -> int:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"seed-sql did not end within {timeout} s:\n{self.stdout}\n{self.stderr}")
        for t in self._readers:
            t.join(5)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)


@pytest.fixture
def runs():
    """Processes started by a test; any still running at its end are killed (by their own pid)."""
    started: list[Run] = []
    yield started
    for r in started:
        r.kill()


def _lock_holders(url: str, granted: bool) -> list[int]:
    """Backends holding (granted) or waiting for (not granted) the seed-sql advisory lock in this database."""
    rows = query(url, """
        SELECT pid FROM pg_locks
        WHERE locktype = 'advisory' AND granted = %s
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND classid::bigint * 4294967296 + objid::bigint = %s AND objsubid = 1""", (granted, LOCK_KEY))
    return [r[0] for r in rows]


def _any_advisory_lock(url: str) -> list[tuple]:
    return query(url, """
        SELECT pid, granted FROM pg_locks WHERE locktype = 'advisory'
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())""")


def _backends_of(url: str, app: str) -> list[int]:
    return [r[0] for r in query(url, "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app,))]


def _seed_temp_tables(url: str) -> list[str]:
    return [r[0] for r in query(url, """
        SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relpersistence = 't' AND c.relname IN ('seed_pool', 'seed_ctx')""")]


def _one_error_line(result_or_text) -> str:
    text = result_or_text if isinstance(result_or_text, str) else result_or_text.stderr
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected exactly one stderr line, got {len(lines)}:\n{text}"
    assert "Traceback" not in text
    return lines[0]


def _nothing_written(url: str) -> None:
    assert sum(counts(url).values()) == 0, counts(url)


class _Watchdog:
    """Ends a blocking session after `seconds` so a test that would hang fails instead."""

    def __init__(self, url: str, pid: int, seconds: float):
        self.timer = threading.Timer(seconds, lambda: execute(url, "SELECT pg_terminate_backend(%s)", (pid,)))
        self.timer.daemon = True

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        return False


# ----------------------------------------------------------------------------------------------
# 1. concurrency


_REFERENCE: dict[tuple, dict] = {}


def _one_run_digest(new_db, *args: str) -> dict:
    """The digest of a fresh database seeded once with args (computed once per argument list)."""
    if args not in _REFERENCE:
        once = new_db()
        seed(once, *args)
        _REFERENCE[args] = digest(once)
    return _REFERENCE[args]


def _outcomes(done: list[Run]) -> list[str]:
    out = []
    for r in done:
        last = [ln for ln in r.stdout.splitlines() if ln.strip()][-1]
        out.append(last.split(":")[0])
    return sorted(out)


def test_runs_started_at_once_all_succeed_and_equal_one_run(new_db, runs):
    n, scale = 4, 1
    shared = new_db()
    runs += [Run(shared, "--scale", str(scale)) for _ in range(n)]
    codes = [r.finish(180) for r in runs]
    assert codes == [0] * n, [r.stderr for r in runs]
    assert _outcomes(runs) == sorted(["First run"] + ["Already satisfied"] * (n - 1)), [r.stdout for r in runs]
    assert digest(shared) == _one_run_digest(new_db, "--scale", str(scale))


@pytest.mark.parametrize("n, scale", [(4, 1), (10, 10)])
def test_runs_queued_on_the_lock_print_waiting_and_never_duplicate(new_db, runs, n, scale):
    """The test holds the lock while n runs start, so every one of them must wait for it."""
    shared = new_db()
    args = ["--scale", str(scale)]
    with psycopg.connect(shared, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        runs += [Run(shared, *args) for _ in range(n)]
        waiting = _poll(lambda: len(_lock_holders(shared, granted=False)) >= n, timeout=90)
        assert waiting, f"only {len(_lock_holders(shared, granted=False))} of {n} runs wait for the lock"
        for r in runs:
            r.wait_line(re.compile(r"^Waiting"), timeout=10)
        assert all(r.proc.poll() is None for r in runs), "a run ended while the lock was held"
        assert sum(counts(shared).values()) == 0
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    codes = [r.finish(180) for r in runs]
    assert codes == [0] * n, [r.stderr for r in runs]
    assert _outcomes(runs) == sorted(["First run"] + ["Already satisfied"] * (n - 1))
    assert digest(shared) == _one_run_digest(new_db, *args)


def test_no_wait_fails_at_once_while_another_session_holds_the_lock(schema_db):
    with psycopg.connect(schema_db, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        with _Watchdog(schema_db, holder.info.backend_pid, 30):
            started = time.monotonic()
            result = cli("run", "--now", NOW, "--no-wait", url=schema_db)
            elapsed = time.monotonic() - started
        assert result.exit_code == 2, result.stdout + result.stderr
        assert elapsed < 5, f"--no-wait took {elapsed:.1f} s"
        line = _one_error_line(result)
        assert "another seed-sql run holds the lock" in line and "--no-wait" in line
        _nothing_written(schema_db)
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    # The lock was the only obstacle: the same run now succeeds.
    seed(schema_db, "--no-wait")


# ----------------------------------------------------------------------------------------------
# 2. killed and interrupted runs


def _assert_no_leftovers(url: str, app: str) -> None:
    """The server lets go of everything a dead client had: backend, advisory lock, temp tables."""
    assert _poll(lambda: not _backends_of(url, app), timeout=10), f"backend of {app} still alive"
    assert _poll(lambda: not _any_advisory_lock(url), timeout=10), _any_advisory_lock(url)
    assert _seed_temp_tables(url) == []


@pytest.mark.parametrize("start", ["empty", "seeded"])
def test_kill_9_in_the_middle_of_an_enricher_leaves_the_database_as_before(schema_db, runs, start):
    extra = ()
    if start == "seeded":
        seed(schema_db)
        extra = ("--force",)
    before = digest(schema_db)
    n_before = counts(schema_db)
    run = Run(schema_db, "--scale", "200", *extra)
    runs.append(run)
    run.wait_line(ENRICHER_LINE, timeout=90)
    assert run.proc.poll() is None, "the run ended before it could be killed"
    assert _backends_of(schema_db, run.app), "the run has no backend to leave behind"
    os.kill(run.proc.pid, signal.SIGKILL)
    assert run.finish(10) == -signal.SIGKILL
    _assert_no_leftovers(schema_db, run.app)
    assert counts(schema_db) == n_before
    assert digest(schema_db) == before
    summary = json.loads(seed(schema_db, "--format", "json").stdout)
    assert summary["outcome"] == ("first-run" if start == "empty" else "satisfied")


def _backend_waits_on_a_lock(url: str, app: str) -> bool:
    rows = query(url, "SELECT wait_event_type FROM pg_stat_activity WHERE application_name = %s", (app,))
    return any(r[0] == "Lock" for r in rows)


def test_ctrl_c_rolls_back_with_exit_130_and_one_line(schema_db, runs):
    """SIGINT while an enricher's INSERT waits: the test holds a SHARE lock on "Post" (reads pass, inserts
    wait), taken after the first enricher line, so the run is certainly inside a statement of posts."""
    if _writer_of("Post") is None:
        pytest.skip('no enricher writes "Post" yet')
    run = Run(schema_db, "--scale", "200")
    runs.append(run)
    run.wait_line(ENRICHER_LINE, timeout=90)
    with psycopg.connect(schema_db) as holder:
        holder.execute("SET lock_timeout = '10s'")
        holder.execute('LOCK TABLE "Post" IN SHARE MODE')
        with _Watchdog(schema_db, holder.info.backend_pid, 120):
            assert _poll(lambda: _backend_waits_on_a_lock(schema_db, run.app) or run.proc.poll() is not None,
                         timeout=90)
            assert run.proc.poll() is None, f"the run ended before it could be interrupted:\n{run.stderr}"
            os.kill(run.proc.pid, signal.SIGINT)
            code = run.finish(30)
        holder.rollback()
    assert code == 130, run.stderr
    line = _one_error_line(run.stderr)
    assert "rolled back" in line
    _assert_no_leftovers(schema_db, run.app)
    _nothing_written(schema_db)


def test_interrupt_with_a_query_in_flight_is_exit_130_and_one_line(schema_db, monkeypatch):
    """The same interruption, made deterministic in-process: the query is sent, then KeyboardInterrupt."""
    real_execute = psycopg.Connection.execute
    fired = []

    def execute_then_interrupt(self, query, *args, **kwargs):
        if not fired and isinstance(query, str) and query.lstrip().startswith(("INSERT", "WITH")) \
                and '"Community"' in query:
            fired.append(query)
            self.pgconn.send_query(query.encode("utf-8"))
            raise KeyboardInterrupt
        return real_execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", execute_then_interrupt)
    result = cli("run", "--now", NOW, url=schema_db)
    monkeypatch.undo()
    assert fired, "no INSERT into Community was executed"
    assert result.exit_code == 130, result.stderr
    assert "rolled back" in _one_error_line(result)
    _nothing_written(schema_db)


# ----------------------------------------------------------------------------------------------
# 3. timeouts


def _timeout_source(tmp_path, via: str, key: str, value: str):
    """(extra args, env) that set lock_timeout / statement_timeout through the environment or seed.toml."""
    env_var = f"SEED_{key.upper()}"
    if via == "env":
        return (), {env_var: value}
    config = tmp_path / "seed.toml"
    config.write_text(f'{key} = "{value}"\n')
    return ("--config", str(config)), {env_var: None}


@pytest.mark.parametrize("via", ["env", "toml"])
def test_table_lock_held_elsewhere_fails_fast_on_lock_timeout(schema_db, tmp_path, via):
    args, env = _timeout_source(tmp_path, via, "lock_timeout", "1s")
    with psycopg.connect(schema_db) as holder:
        holder.execute('LOCK TABLE "User" IN ACCESS EXCLUSIVE MODE')
        with _Watchdog(schema_db, holder.info.backend_pid, 30):
            started = time.monotonic()
            result = cli("run", "--now", NOW, *args, url=schema_db, env=env)
            elapsed = time.monotonic() - started
        holder.rollback()
    assert result.exit_code == 2, result.stdout + result.stderr
    assert elapsed < 6, f"a 1 s lock_timeout took {elapsed:.1f} s"
    assert "lock_timeout" in _one_error_line(result)
    _nothing_written(schema_db)


@pytest.mark.parametrize("via", ["env", "toml"])
def test_statement_timeout_fails_the_run_with_one_line(schema_db, tmp_path, via):
    args, env = _timeout_source(tmp_path, via, "statement_timeout", "1ms")
    result = cli("run", "--now", NOW, "--scale", "5", *args, url=schema_db, env=env)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "statement_timeout" in _one_error_line(result)
    _nothing_written(schema_db)


# ----------------------------------------------------------------------------------------------
# 4. schema drift


def _writer_of(table: str) -> str | None:
    """The first enricher (in execution order) that writes table, or None when no template does."""
    from seeder import plan

    enrichers = headers.discover([], resources.templates_dir())
    for e in plan.order(enrichers):
        if table in e.tables:
            return e.name
    return None


DRIFT = {
    "table Room dropped": ('DROP TABLE "Room" CASCADE', "Room", None),
    "table Report dropped": ('DROP TABLE "Report" CASCADE', "Report", None),
    "column User.bio dropped": ('ALTER TABLE "User" DROP COLUMN "bio"', "User", "bio"),
    "column User.lastName renamed": ('ALTER TABLE "User" RENAME COLUMN "lastName" TO "surname"', "User", "lastName"),
    "column Room.order is bigint": ('ALTER TABLE "Room" ALTER COLUMN "order" TYPE bigint', "Room", "order"),
    "column TherapistAvailability.endTime dropped":
        ('ALTER TABLE "TherapistAvailability" DROP COLUMN "endTime"', "TherapistAvailability", "endTime"),
    "NOT NULL column without default added to User":
        ('ALTER TABLE "User" ADD COLUMN "nickname" text NOT NULL', "User", "nickname"),
}


@pytest.mark.parametrize("case", list(DRIFT))
def test_schema_drift_names_enricher_table_and_column_and_writes_nothing(schema_db, case):
    ddl, table, column = DRIFT[case]
    enricher = _writer_of(table)
    if enricher is None:
        pytest.skip(f'no enricher in templates/ writes "{table}" yet')
    execute(schema_db, ddl)
    result = cli("run", "--now", NOW, url=schema_db)
    assert result.exit_code == 2, result.stdout + result.stderr
    line = _one_error_line(result)
    assert f"enricher {enricher}" in line, line
    if column is None:
        assert f'table "{table}" does not exist' in line, line
        assert "schema.sql" in line, "the message says how to apply the schema"
    else:
        assert f'"{table}"."{column}"' in line, line
    if "bigint" in ddl:
        assert "bigint" in line and "integer" in line, line
    if "NOT NULL" in ddl:
        assert "NOT NULL" in line, line
    _nothing_written(schema_db)


@pytest.mark.skipif(not (REPO / "templates" / "audit_logs.sql.j2").exists(),
                    reason="templates/audit_logs.sql.j2 does not exist yet (another developer is writing it)")
def test_absent_optional_table_is_skipped_with_one_line(schema_db):
    result = seed(schema_db)
    lines = [ln for ln in result.stdout.splitlines() if "audit_logs" in ln]
    assert len(lines) == 1 and "skipped" in lines[0] and "AuditLog" in lines[0], result.stdout
    assert "audit_logs" in json.loads(seed(schema_db, "--format", "json").stdout)["skipped"]
    assert "AuditLog" not in counts(schema_db)
    assert sum(counts(schema_db).values()) > 0


# ----------------------------------------------------------------------------------------------
# 7. odd text: quoting of pool values, through COPY (run) and SQL literals (render | psql)

ODD_NAMES = [
    "O'Brien",
    "''Doubled'' quotes",
    '"Quoted" Name',
    "Back\\slash \\\\ double \\' end\\",
    "Dollar $$ quoted $tag$ body $1",
    'Semi; DROP TABLE "User"; --',
    "Percent %s %% 100% %(name)s",
    "Tab\tinside\there",
    "Zoë Ñuñez-Åström",
    "日本語の名前",
    "Emoji 🙂 name",
    "Colon :var :'var' :\"var\"",
    "E'\\n' escape",
    "*/ /* comment {{ jinja }} {% raw %}",
]


def _odd_templates(tmp_path) -> Path:
    content = tmp_path / "odd" / "_content"
    content.mkdir(parents=True)
    (content / "first_name.txt").write_text("\n".join(ODD_NAMES) + "\n", encoding="utf-8")
    return content.parent


def _psql() -> str:
    system = shutil.which("psql")
    if system:
        return system
    from seeder import embedded

    return str(embedded.psql_path())


def _psql_apply(url: str, script: str) -> subprocess.CompletedProcess:
    return subprocess.run([_psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url],
                          input=script.encode("utf-8"), capture_output=True, timeout=120,
                          env=_env({"PGCLIENTENCODING": "UTF8"}))


def test_user_pool_with_odd_text_reaches_the_rows_byte_for_byte(new_db, tmp_path):
    ran, applied = new_db(), new_db()
    templates = str(_odd_templates(tmp_path))
    seed(ran, "--templates", templates)
    names = [r[0] for r in query(ran, 'SELECT "firstName" FROM "User"')]
    assert len(names) == 30
    allowed = {n.encode("utf-8") for n in ODD_NAMES}
    assert {n.encode("utf-8") for n in names} <= allowed, set(names) - set(ODD_NAMES)
    assert len(set(names)) >= 8, "the user pool replaced the built-in first names"

    script = cli("render", "--now", NOW, "--templates", templates).stdout
    proc = _psql_apply(applied, script)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert digest(applied) == digest(ran)


NASTY = [
    "line one\nline two",
    "windows\r\nline",
    "tab\tand\\backslash\\",
    "quote ' and '' and \"",
    "$$ dollar $x$ ; semicolon % percent",
    "E'\\n' not an escape",
    "ends with backslash \\",
    "\n leading newline",
    "unicode ✓ ñ 日本 🙂 \u2028 separator",
    "",
]


def test_literal_round_trips_every_odd_character(server_url):
    from seeder.sqltext import literal

    with psycopg.connect(server_url) as conn:
        for value in NASTY:
            got = conn.execute(f"SELECT {literal(value)}").fetchone()[0]
            assert got == value, (value, literal(value))
    with pytest.raises(ValueError):
        literal("nul \x00 byte")


def _pool_script():
    return types.SimpleNamespace(pools={"nasty": NASTY, "plain": ["a", "b"]})


READ_POOL = "SELECT json_agg(v ORDER BY idx) FROM seed_pool WHERE kind = 'nasty'"


def test_pool_inserts_round_trip_through_psycopg_and_psql(server_url):
    from seeder.script_text import pool_inserts

    statements = pool_inserts(_pool_script())
    with psycopg.connect(server_url) as conn:
        conn.execute(POOL_TABLE)
        for st in statements:
            conn.execute(st)
        got = conn.execute(READ_POOL).fetchone()[0]
        conn.rollback()
    assert got == NASTY

    script = "\n".join(["BEGIN;", POOL_TABLE + ";", *statements, READ_POOL + ";", "ROLLBACK;"]) + "\n"
    proc = subprocess.run([_psql(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", server_url],
                          input=script.encode("utf-8"), capture_output=True, timeout=60,
                          env=_env({"PGCLIENTENCODING": "UTF8"}))
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert json.loads(proc.stdout.decode("utf-8")) == NASTY


def test_pools_loaded_by_copy_round_trip(server_url):
    from seeder.runner import _load_pools

    with psycopg.connect(server_url) as conn:
        _load_pools(conn, _pool_script())
        got = conn.execute(READ_POOL).fetchone()[0]
        conn.rollback()
    assert got == NASTY


# ----------------------------------------------------------------------------------------------
# 8. nothing but inserts

GUARD_FN = """
CREATE OR REPLACE FUNCTION seedtest_only_inserts() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_LEVEL = 'STATEMENT' THEN
    RAISE EXCEPTION 'seedtest: % of table %', TG_OP, TG_TABLE_NAME;
  END IF;
  IF OLD.xmin::text <> (txid_current() % 4294967296)::text THEN
    RAISE EXCEPTION 'seedtest: % of a pre-existing row of %', TG_OP, TG_TABLE_NAME;
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$fn$;
"""


def _all_tables(url: str) -> list[str]:
    from helpers import tables

    with psycopg.connect(url) as conn:
        return tables(conn)


def _install_guards(url: str) -> None:
    sql = [GUARD_FN]
    for t in _all_tables(url):
        sql.append(f'CREATE TRIGGER seedtest_rows BEFORE UPDATE OR DELETE ON "{t}" '
                   f"FOR EACH ROW EXECUTE FUNCTION seedtest_only_inserts();")
        sql.append(f'CREATE TRIGGER seedtest_truncate BEFORE TRUNCATE ON "{t}" '
                   f"FOR EACH STATEMENT EXECUTE FUNCTION seedtest_only_inserts();")
    execute(url, "\n".join(sql))


def _drop_guards(url: str) -> None:
    execute(url, "\n".join(
        f'DROP TRIGGER IF EXISTS seedtest_rows ON "{t}"; DROP TRIGGER IF EXISTS seedtest_truncate ON "{t}";'
        for t in _all_tables(url)))


def _rows(url: str) -> dict[str, list[str]]:
    out = {}
    with psycopg.connect(url) as conn:
        for t in _all_tables(url):
            out[t] = sorted(r[0] for r in conn.execute(f'SELECT x::text FROM "{t}" x'))
    return out


def _assert_kept(before: dict[str, list[str]], after: dict[str, list[str]]) -> None:
    """Every row that existed before is still there, byte for byte (multiset inclusion)."""
    from collections import Counter

    for table, rows in before.items():
        missing = Counter(rows) - Counter(after.get(table, []))
        assert not missing, f'{table}: {sum(missing.values())} pre-existing rows changed or vanished'


RUNS_AFTER = [(), ("--force",), ("--scale", "3"), ("--force", "--scale", "3")]


def test_runs_never_update_or_delete_rows_they_did_not_insert(schema_db):
    seed(schema_db)
    for t in ["Membership", "TherapistAvailability", "ClientTherapist", "ModeratorCommunity", "Post", "Comment"]:
        execute(schema_db, f'DELETE FROM "{t}" x WHERE abs(hashtext(x::text)) % 10 = 0')
    _install_guards(schema_db)
    # The guard is live: changing an old row fails.
    with pytest.raises(psycopg.errors.RaiseException):
        execute(schema_db, 'UPDATE "User" SET "bio" = "bio" WHERE "id" = (SELECT min("id") FROM "User")')
    with pytest.raises(psycopg.errors.RaiseException):
        execute(schema_db, 'DELETE FROM "Membership" WHERE "id" = (SELECT min("id") FROM "Membership")')
    before = _rows(schema_db)

    top_up = json.loads(seed(schema_db, "--format", "json").stdout)
    assert top_up["outcome"] == "top-up" and top_up["rows_added"] > 0
    satisfied = json.loads(seed(schema_db, "--format", "json").stdout)
    assert satisfied["outcome"] == "satisfied"
    for extra in RUNS_AFTER:
        seed(schema_db, *extra)
    assert sum(counts(schema_db).values()) > sum(len(v) for v in before.values())
    _assert_kept(before, _rows(schema_db))
    _drop_guards(schema_db)


def test_top_up_after_deleting_rooms_of_reported_posts_restores_every_requirement(schema_db):
    seed(schema_db)
    execute(schema_db, """DELETE FROM "Room" WHERE "id" IN (
        SELECT p."roomId" FROM "Report" r JOIN "Post" p ON p."id" = r."postId")""")
    summary = json.loads(seed(schema_db, "--format", "json").stdout)
    assert summary["outcome"] == "top-up"


HAND_MADE = """
INSERT INTO "User" ("id", "email", "firstName", "lastName", "role", "bio", "createdAt", "updatedAt")
VALUES ('hand-user', 'hand@example.org', 'Hand', 'O''Made', 'client', E'two\\nlines, a tab\\t and 🙂',
        '2025-01-01 10:00:00.123', '2025-01-02 11:00:00.456');
INSERT INTO "Client" ("userId", "createdAt", "updatedAt") VALUES ('hand-user', '2025-01-01', '2025-01-01');
INSERT INTO "Membership" ("id", "communityId", "userId", "joinedAt")
VALUES ('hand-membership', (SELECT min("id") FROM "Community"), 'hand-user', '2025-01-03');
INSERT INTO "Post" ("id", "title", "content", "createdAt", "updatedAt", "userId", "roomId")
VALUES ('hand-post', 'My own post', 'Text with ''quotes'' and $$ and ;', '2025-01-04', '2025-01-05', 'hand-user',
        (SELECT min(r."id") FROM "Room" r JOIN "RoomGroup" g ON g."id" = r."roomGroupId"
         WHERE g."communityId" = (SELECT min("id") FROM "Community")));
"""

HAND_ROWS = """
SELECT (SELECT u::text FROM "User" u WHERE u."id" = 'hand-user'),
       (SELECT c::text FROM "Client" c WHERE c."userId" = 'hand-user'),
       (SELECT m::text FROM "Membership" m WHERE m."id" = 'hand-membership'),
       (SELECT p::text FROM "Post" p WHERE p."id" = 'hand-post')
"""


def test_hand_made_rows_stay_byte_identical_through_every_kind_of_run(schema_db):
    seed(schema_db)
    execute(schema_db, HAND_MADE)
    snapshot = query(schema_db, HAND_ROWS)
    assert all(snapshot[0]), snapshot
    before = _rows(schema_db)
    for extra in [(), ("--force",), ("--force", "--scale", "3")]:
        seed(schema_db, *extra)
        assert query(schema_db, HAND_ROWS) == snapshot, f"hand-made rows changed by run {extra}"
    _assert_kept(before, _rows(schema_db))
