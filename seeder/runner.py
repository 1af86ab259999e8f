"""Execute a Script in one transaction: lock, pools, enrichers, verification, COMMIT or ROLLBACK."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from . import db, expected_schema, pools, proof, resources
from .checks import CheckResult, run_checks, run_checks_at
from .config import Options
from .errors import (ConnectionFailed, EnricherFailed, InfeasibleMinimum, LockBusy, RequirementsUnmet,
                     SchemaError, TimedOut)
from .sqltext import identifier
from .pipeline import LOCK_KEY, POOL_TABLE, Script, build, context_sql, timeouts_sql

ANALYZE_AFTER = 5000  # rows an enricher must insert before its tables are re-analyzed
# The run's ANALYZE samples 300 x this many rows (the server default, 100, samples 30,000). It serves only
# the run's later statements: the inserts count as changes once committed, so autovacuum analyzes the
# tables again at the server's own target. At 10 the scale-1000 ANALYZEs take about a tenth of the time.
ANALYZE_STATISTICS_TARGET = 10
_INSERT = re.compile(r'INSERT\s+INTO\s+"([^"]+)"\s*\(([^)]*)\)', re.IGNORECASE)


class Progress:
    """Receives events as the run goes; the CLI prints them."""

    def waiting(self) -> None: ...
    def skipped(self, name: str, why: str) -> None: ...
    def enricher_done(self, name: str, rows: int, seconds: float) -> None: ...
    def enricher_satisfied(self, name: str) -> None: ...
    def statement_done(self, enricher: str, table: str, note: str, rows: int, seconds: float) -> None: ...


@dataclass
class Result:
    mode: str
    script: Script | None = None
    rows_by_table: dict[str, int] = field(default_factory=dict)
    rows_by_enricher: dict[str, int] = field(default_factory=dict)
    before: list[CheckResult] = field(default_factory=list)
    after: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    committed: bool = False
    base_run: bool = False
    pools_loaded: bool = False
    found: list[CheckResult] = field(default_factory=list)  # per requirement, just before its enricher
    proven: int = 0  # requirements not queried: no transaction completed since a run verified them (proof.py)

    @property
    def rows(self) -> int:
        return sum(self.rows_by_table.values())

    @property
    def unmet(self) -> list[CheckResult]:
        return [c for c in self.after if c.violators]


def check_schema(script: Script, catalog: db.Catalog) -> None:
    """Every table and column the enrichers write exists, before anything is written."""
    apply = f'apply the schema first: psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f {resources.schema_path()} (or seed-sql reset)'
    for rendered in script.rendered:
        for table in rendered.enricher.tables:
            if not catalog.has(table):
                raise SchemaError(
                    f'table "{table}" does not exist (needed by enricher {rendered.enricher.name})', hint=apply
                )
        for st in rendered.statements:
            _check_columns(st, catalog)


def _check_columns(st, catalog: db.Catalog) -> None:
    m = _INSERT.search(st.sql)
    if not m or not catalog.has(m.group(1)):
        return
    table = m.group(1)
    have = catalog.tables[table]
    used = [c.strip().strip('"') for c in m.group(2).split(",") if c.strip()]
    want = expected_schema.expected().get(table, {})
    for col in used:
        if col not in have:
            raise SchemaError(
                f'enricher {st.enricher}: column "{table}"."{col}" does not exist',
                hint="the database schema differs from sql/schema.sql; migrate it or seed-sql reset",
            )
        if col in want and have[col][0] != want[col]:
            raise SchemaError(
                f'enricher {st.enricher}: column "{table}"."{col}" is {have[col][0]}, expected {want[col]}',
                hint="the database schema differs from sql/schema.sql; migrate it or seed-sql reset",
            )
    for col, (_typ, notnull, hasdef) in have.items():
        if notnull and not hasdef and col not in used:
            raise SchemaError(
                f'enricher {st.enricher}: column "{table}"."{col}" is NOT NULL without a default '
                "and the enricher does not fill it",
                hint="the database schema differs from sql/schema.sql; give the column a default or extend the template",
            )


def _acquire_lock(conn, options: Options, progress: Progress) -> None:
    got = conn.execute(f"SELECT pg_try_advisory_xact_lock({LOCK_KEY})").fetchone()[0]
    if got:
        return
    if options.no_wait:
        raise LockBusy("another seed-sql run holds the lock on this database", hint="retry later, or drop --no-wait to wait for it")
    progress.waiting()
    conn.execute(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")


def _load_pools(conn, script: Script) -> None:
    conn.execute(POOL_TABLE)
    with conn.cursor().copy("COPY seed_pool (kind, idx, v) FROM STDIN") as copy:
        for row in pools.rows(script.pools):
            copy.write_row(row)
    conn.execute("ANALYZE seed_pool")


def _fill(conn, script: Script, result: Result, progress: Progress) -> None:
    """Each enricher fills only when one of its requirements is unmet just before it (or on a first run).

    Fills insert exactly what checks find missing, so an enricher whose checks all pass
    would insert nothing: skipping it is the same result without the statements. An enricher
    with gaps at the start fills without checking again (its fill finds what is missing then);
    one without re-runs its checks once anything was inserted, since earlier enrichers create new
    gaps. A first run fills everything and re-checks only to report what each enricher found.
    """
    by_name = {c.requirement: c for c in result.before}
    if not result.base_run and not any(c.violators for c in result.before):
        result.found = list(result.before)
        return  # satisfied: nothing to insert anywhere, and nothing to print per enricher
    changed = False
    for rendered in script.rendered:
        name = rendered.enricher.name
        now = [by_name[c.requirement] for c in rendered.checks]
        if changed and (result.base_run or not any(c.violators for c in now)):
            now = run_checks(conn, rendered.checks)
        result.found.extend(now)
        if not result.base_run and not any(c.violators for c in now):
            result.rows_by_enricher[name] = 0
            progress.enricher_satisfied(name)
            continue
        if not result.pools_loaded:
            _load_pools(conn, script)
            result.pools_loaded = True
        rows = _fill_enricher(conn, script, rendered, result, progress)
        changed = changed or rows > 0


def _fill_enricher(conn, script: Script, rendered, result: Result, progress: Progress) -> int:
    import psycopg

    name, started, total = rendered.enricher.name, time.perf_counter(), 0
    _check_feasible(conn, rendered, script.selection.minimums)
    for st in rendered.statements:
        t0 = time.perf_counter()
        try:
            cur = conn.execute(st.sql)
        except psycopg.Error as exc:
            raise as_seed_error(exc, script.options, name, st.table) from None
        rows = max(cur.rowcount, 0)
        total += rows
        result.rows_by_table[st.table] = result.rows_by_table.get(st.table, 0) + rows
        progress.statement_done(name, st.table, st.note, rows, time.perf_counter() - t0)
    if total >= ANALYZE_AFTER:
        # Statistics taken before this run are stale now; later statements plan on real row counts.
        conn.execute(f"SET LOCAL default_statistics_target = {ANALYZE_STATISTICS_TARGET};\n"
                     f"ANALYZE {', '.join(identifier(t) for t in rendered.enricher.tables)}")
    result.rows_by_enricher[name] = total
    progress.enricher_done(name, total, time.perf_counter() - started)
    return total


def as_seed_error(exc, options: Options, enricher: str | None = None, table: str | None = None):
    """A server error as one line: timeouts say which setting to change, others name the enricher."""
    import psycopg.errors as pe

    first = (getattr(exc.diag, "message_primary", None) or str(exc)).strip().splitlines()[0]
    where = f" (enricher {enricher})" if enricher else ""
    if isinstance(exc, pe.LockNotAvailable):
        return TimedOut(
            f"gave up waiting for a table lock held by another session after lock_timeout={options.lock_timeout}{where}; "
            "the run was rolled back",
            hint="finish the other session, or raise SEED_LOCK_TIMEOUT / lock_timeout in seed.toml",
        )
    if isinstance(exc, pe.QueryCanceled):
        return TimedOut(
            f"a statement ran longer than statement_timeout={options.statement_timeout}{where}; the run was rolled back",
            hint="raise SEED_STATEMENT_TIMEOUT / statement_timeout in seed.toml",
        )
    if enricher:
        return EnricherFailed(enricher, table, first)
    return ConnectionFailed(f"the database failed during the run: {first}; the run was rolled back")


def _check_feasible(conn, rendered, minimums: dict[str, int]) -> None:
    """Minimums that cannot be met are bad input (exit 2), reported before the enricher writes."""
    for f in rendered.feasibility:
        row = conn.execute(f"SELECT problem FROM ({f.sql}) p LIMIT 1").fetchone()
        if row:
            raise InfeasibleMinimum(f.enricher, f.requirement, minimums.get(f.requirement), row[0])


def execute(options: Options, url: str, mode: str, progress: Progress) -> Result:
    """mode: 'run' commits when every requirement holds; 'audit' always rolls back; 'verify' only checks."""
    import psycopg

    started = time.perf_counter()
    result = Result(mode)
    try:
        _execute(options, url, mode, progress, result)
    except psycopg.Error as exc:
        raise as_seed_error(exc, options) from None
    result.seconds = time.perf_counter() - started
    if result.unmet and mode == "run":
        raise RequirementsUnmet(result.unmet, result=result)
    return result


def _execute(options: Options, url: str, mode: str, progress: Progress, result: Result) -> None:
    conn = db.connect(url)
    try:
        catalog = db.read_catalog(conn)
        script = build(options, set(catalog.tables))
        result.script = script
        for name, why in script.selection.skipped.items():
            progress.skipped(name, why)
        check_schema(script, catalog)
        if mode == "verify":
            result.after = run_checks(conn, script.checks)
        else:
            _transaction(conn, script, result, progress, options)
    finally:
        # Closing without COMMIT is the rollback: the server undoes the open transaction. An explicit
        # ROLLBACK could fail on a connection a Ctrl-C left busy and hide the real error.
        conn.close()


def _transaction(conn, script: Script, result: Result, progress: Progress, options: Options) -> None:
    import psycopg

    try:
        _steps(conn, script, result, progress, options)
    except psycopg.Error as exc:
        raise as_seed_error(exc, options) from None


def _steps(conn, script: Script, result: Result, progress: Progress, options: Options) -> None:
    # Statements without parameters go in one round trip each group (simple query protocol).
    conn.execute(";\n".join(script.setup))
    _acquire_lock(conn, options, progress)
    # Read before this transaction writes anything (the temp tables below take a transaction id).
    begin = proof.start(conn) if result.mode == "run" else None
    conn.execute(";\n".join([*timeouts_sql(options), context_sql(options)]))
    result.base_run = conn.execute("SELECT base FROM seed_ctx").fetchone()[0]
    result.before, verified = _checks_before(conn, script, begin, result)
    _fill(conn, script, result, progress)
    if result.rows:
        result.after, verified = run_checks_at(conn, script.checks)
    else:  # nothing inserted: the state is the one just checked (the satisfied run's single round trip)
        result.after = list(result.before)
    if result.mode == "run" and not result.unmet:
        verified = verified.of_transaction(conn) if verified is not None else None
        conn.commit()
        result.committed = True
        if verified is not None:
            proof.record(conn, begin, script.checks, verified)


def _checks_before(conn, script: Script, begin, result: Result):
    """Every requirement's violators, and the one snapshot they describe (None if there is none).

    Requirements proven at the start (seeder/proof.py) are not queried, unless a transaction completed
    between the start and the checks: then they are checked too, in a second statement.
    """
    checks = script.checks
    skip = proof.proven(begin, checks) if begin else set()
    ran, snapshot = run_checks_at(conn, [c for i, c in enumerate(checks) if i not in skip])
    proven_too = [CheckResult(c.requirement, c.enricher, 0, []) for i, c in enumerate(checks) if i in skip]
    if skip and snapshot.xmax != begin.snapshot.xmax:
        proven_too, snapshot = run_checks(conn, [c for i, c in enumerate(checks) if i in skip]), None
    else:
        result.proven = len(skip)
    found, again = iter(ran), iter(proven_too)
    return [next(again) if i in skip else next(found) for i in range(len(checks))], snapshot
