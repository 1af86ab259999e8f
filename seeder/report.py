"""What a run prints: a line per enricher as it runs, then summary tables (or JSON)."""

from __future__ import annotations

import json
import sys

from .runner import Progress, Result


def _echo(text: str = "", err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout, flush=True)


class Printer(Progress):
    """Progress lines go to stdout in text mode, to stderr when stdout carries JSON."""

    def __init__(self, fmt: str = "text", verbose: bool = False):
        self.err = fmt == "json"
        self.verbose = verbose

    def waiting(self) -> None:
        _echo("Waiting: another seed-sql run holds the lock on this database ...", self.err)

    def skipped(self, name: str, why: str) -> None:
        _echo(f"  {name:<24} skipped: {why}", self.err)

    def statement_done(self, enricher, table, note, rows, seconds) -> None:
        if self.verbose:
            _echo(f"    {enricher}: \"{table}\" {note} -> {rows} rows, {seconds:.3f} s", self.err)

    def enricher_satisfied(self, name: str) -> None:
        _echo(f"  {name:<24} {'0':>8} rows  requirements met", self.err)

    def enricher_done(self, name: str, rows: int, seconds: float) -> None:
        _echo(f"  {name:<24} {('+' + str(rows)) if rows else '0':>8} rows  {seconds:6.3f} s", self.err)


def outcome(result: Result) -> str:
    if result.mode == "verify":
        return "verified" if not result.unmet else "unmet"
    if result.mode == "audit":
        return "audit"
    if result.unmet:
        return "unmet"
    if result.rows == 0:
        return "satisfied"
    return "first-run" if result.base_run else "top-up"


def _requirement_rows(result: Result) -> list[list]:
    minimums = result.script.selection.minimums if result.script else {}
    before = {c.requirement: c for c in (result.found or result.before)}
    rows = []
    for c in result.after:
        b = before.get(c.requirement)
        rows.append([c.requirement, c.enricher, minimums.get(c.requirement, "rule"),
                     b.violators if b else "-", c.violators])
    return rows


def summary_text(result: Result) -> str:
    kind = outcome(result)
    n_req = len(result.after)
    if kind == "satisfied":
        return f"Already satisfied: all {n_req} requirements hold, nothing to add ({result.seconds:.2f} s)."
    if kind == "verified":
        return f"Verified: all {n_req} requirements hold ({result.seconds:.2f} s)."
    from tabulate import tabulate  # here: the one-line outcomes above are the common, fast case

    lines = []
    if result.mode != "verify":
        table_rows = [[t, n] for t, n in result.rows_by_table.items() if n] or [["(none)", 0]]
        head = "Rows that run would add" if kind == "audit" else "Rows added"
        lines += [head + ":", tabulate(table_rows, headers=["table", "rows"], tablefmt="simple"), ""]
    req_rows = _requirement_rows(result)
    if kind == "top-up":
        # A top-up lists what it restored; the requirements that already held are summed up in one line.
        held = [r for r in req_rows if r[3] in (0, "-") and not r[4]]
        req_rows = [r for r in req_rows if r not in held]
        lines += [f"{len(held)} other requirements already held."]
    lines += ["Requirements:", tabulate(req_rows,
              headers=["requirement", "enricher", "minimum", "missing before", "missing after"],
              tablefmt="simple"), ""]
    missing = sum(1 for c in (result.found or result.before) if c.violators)
    lines.append({
        "first-run": f"First run: created {result.rows} rows; all {n_req} requirements hold ({result.seconds:.2f} s).",
        "top-up": f"Top-up: added {result.rows} rows to restore {missing} requirement(s); all {n_req} hold ({result.seconds:.2f} s).",
        "audit": f"Audit only, nothing changed: {missing} requirement(s) have gaps; a run would add {result.rows} rows ({result.seconds:.2f} s).",
        "unmet": f"{len(result.unmet)} requirement(s) unmet; the run was rolled back ({result.seconds:.2f} s).",
    }.get(kind, ""))
    return "\n".join(lines)


def violations_text(result: Result) -> str:
    from tabulate import tabulate

    rows = [[c.requirement, c.enricher, c.violators, ", ".join(c.sample)] for c in result.unmet]
    return tabulate(rows, headers=["requirement", "enricher", "violators", "e.g."], tablefmt="simple")


def summary_json(result: Result) -> str:
    minimums = result.script.selection.minimums if result.script else {}
    before = {c.requirement: c.violators for c in (result.found or result.before)}
    return json.dumps({
        "mode": result.mode,
        "outcome": outcome(result),
        "seconds": round(result.seconds, 4),
        "rows_added": result.rows,
        "rows_by_table": result.rows_by_table,
        "rows_by_enricher": result.rows_by_enricher,
        "requirements_proven": result.proven,
        "skipped": result.script.selection.skipped if result.script else {},
        "requirements": [
            {"name": c.requirement, "enricher": c.enricher, "minimum": minimums.get(c.requirement),
             "missing_before": before.get(c.requirement), "missing_after": c.violators, "sample": c.sample}
            for c in result.after
        ],
    }, indent=2)
