"""Requirements proven to still hold: nothing became visible in the database since they were verified.

Every write to a table (insert, update, delete, truncate, DDL) needs a transaction id, and a snapshot's
xmax is one past the latest transaction id that completed (committed or aborted) anywhere in the
cluster. A run that commits with every requirement met records that xmax, with a hash of each check's
SQL, when it can show that the checks saw everything visible then (conditions in `record`). If a later
run's snapshot has the same xmax, no transaction has completed since, so no change has become visible:
a check with the same SQL returns the same empty result and need not run. Checks whose SQL differs
(those that depend on --now, the time anchor) still run. A restarted server, another database or
user, or a cache that cannot be written only means that every check runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from . import cache
from .rendered import Check

# One row describing the statement's snapshot, appended to the checks' query (seeder/checks.py) so that
# it describes exactly the snapshot the checks read. Only parallel-safe functions: the transaction's own
# id (pg_current_xact_id_if_assigned is parallel unsafe) is read in a statement of its own.
SNAPSHOT_ROW = (
    "SELECT -1, 0::bigint, ARRAY[pg_snapshot_xmin(s)::text, pg_snapshot_xmax(s)::text,"
    " array_to_string(ARRAY(SELECT pg_snapshot_xip(s)), ',')] FROM pg_current_snapshot() s"
)
# What the same check SQL reads: this server since its start, this database, the user's search_path.
_DATABASE_SQL = (
    "SELECT concat_ws('|', pg_postmaster_start_time(), d.oid, current_database(), current_user,"
    " current_setting('search_path')) FROM pg_database d WHERE d.datname = current_database()"
)


@dataclass(frozen=True)
class Snapshot:
    xmin: int
    xmax: int
    own: int | None  # this transaction's id, if it has one
    running: frozenset[int]  # transaction ids in progress below xmax

    @classmethod
    def from_row(cls, sample: list[str], own: int | None = None) -> Snapshot:
        xmin, xmax, running = sample
        return cls(int(xmin), int(xmax), own, frozenset(int(x) for x in running.split(",") if x))

    def of_transaction(self, conn) -> Snapshot:
        """The same snapshot with this transaction's own id (assigned before the checks, so unchanged)."""
        own = conn.execute("SELECT pg_current_xact_id_if_assigned()::text").fetchone()[0]
        return replace(self, own=int(own) if own else None)


@dataclass(frozen=True)
class Start:
    database: str
    snapshot: Snapshot


def read_snapshot(conn) -> Snapshot:
    return Snapshot.from_row(conn.execute(SNAPSHOT_ROW).fetchone()[2])


def start(conn) -> Start:
    """Read before the run writes anything."""
    return Start(conn.execute(_DATABASE_SQL).fetchone()[0], read_snapshot(conn))


def _file(database: str) -> str:
    return "verified-" + hashlib.sha256(database.encode()).hexdigest()[:32] + ".json"


def _digest(check: Check) -> str:
    return hashlib.sha256(f"{check.enricher}\0{check.requirement}\0{check.sql}".encode()).hexdigest()


def proven(begin: Start, checks: list[Check]) -> set[int]:
    """Indexes of the checks verified clean at the recorded xmax, if no transaction completed since."""
    record = cache.load_json(_file(begin.database))
    if not isinstance(record, dict) or record.get("database") != begin.database:
        return set()
    if record.get("xmax") != begin.snapshot.xmax:
        return set()
    clean = set(record.get("checks") or [])
    return {i for i, c in enumerate(checks) if _digest(c) in clean}


def recordable(verified: Snapshot, now: Snapshot) -> bool:
    """Whether checks that held at the snapshot `verified` (read with them, in the run's transaction)
    still hold at `now`, read just after the run's COMMIT, and at every later snapshot with its xmax.

    - No other transaction was in progress below the checks' xmax, and the run's own id is not above
      it: any other transaction completing after the checks has an id above both, so its completion
      moves xmax past what the checks and the run's own commit give.
    - At `now`, xmax is exactly that, and no transaction is in progress below it, so that any later
      completion moves xmax again.
    """
    if verified.running - {verified.own} or (verified.own is not None and verified.own > verified.xmax):
        return False
    return not now.running and now.xmax == max(verified.xmax, (verified.own or 0) + 1)


def record(conn, begin: Start, checks: list[Check], verified: Snapshot) -> None:
    """After COMMIT: remember that `checks` hold, when `recordable` shows they hold from now on."""
    import psycopg

    try:
        now = read_snapshot(conn)
    except psycopg.Error:
        return  # the run has committed; only the next run's speed depends on this record
    if recordable(verified, now):
        cache.store_json(_file(begin.database), {"database": begin.database, "xmax": now.xmax,
                                                 "checks": sorted({_digest(c) for c in checks})})
