"""Requirement checks: all of them in one round trip."""

from __future__ import annotations

from dataclasses import dataclass

from .rendered import Check

SAMPLE = 3


@dataclass
class CheckResult:
    requirement: str
    enricher: str
    violators: int
    sample: list[str]


def combined_sql(checks: list[Check], *extra: str) -> str:
    parts = [
        f"SELECT {i} AS i, count(*) AS n, (array_agg(v.entity::text ORDER BY v.entity::text))[1:{SAMPLE}] AS sample\n"
        f"FROM (\n{c.sql}\n) v"
        for i, c in enumerate(checks)
    ]
    return "\nUNION ALL\n".join([*parts, *extra])


def run_checks(conn, checks: list[Check]) -> list[CheckResult]:
    if not checks:
        return []
    found = {i: (n, sample or []) for i, n, sample in conn.execute(combined_sql(checks))}
    return [CheckResult(c.requirement, c.enricher, *found[i]) for i, c in enumerate(checks)]


def run_checks_at(conn, checks: list[Check]):
    """The checks, and the snapshot they all read (one statement): (results, proof.Snapshot)."""
    from .proof import SNAPSHOT_ROW, Snapshot

    found = {i: (n, sample or []) for i, n, sample in conn.execute(combined_sql(checks, SNAPSHOT_ROW))}
    snapshot = Snapshot.from_row(found.pop(-1)[1])
    return [CheckResult(c.requirement, c.enricher, *found[i]) for i, c in enumerate(checks)], snapshot
