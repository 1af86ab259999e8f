"""The benchmark harness (benchmarks/run.py) runs end to end and writes complete JSON.

It checks that the harness works, never a timing threshold: timings belong to
benchmark runs on the reference machine (requirements section 7).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
HARNESS = REPO / "benchmarks" / "run.py"


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _positive_stats(st: dict) -> bool:
    return st["n"] >= 1 and all(_positive(st[k]) for k in ("median", "min", "max"))


def _databases_named(server_url: str, prefix: str) -> list[str]:
    with psycopg.connect(server_url, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
                                           (prefix,))]


def test_quick_benchmark_writes_complete_json_and_drops_its_databases(server_url, tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(HARNESS), "--quick", "--database-url", server_url, "--json", str(out)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())

    # where and when it was measured
    assert report["timestamp"]
    assert _positive(report["machine"]["nproc"]) and _positive(report["machine"]["memory_mb"])
    assert "PostgreSQL" in report["postgres"]["version"]
    assert report["git"]["commit"]
    assert report["code"]["snapshot"] is True  # one copy of the code for the whole benchmark
    assert {"accounts", "communities"} <= set(report["enrichers_measured"])

    # scale 1: first run, satisfied re-run, top-up after deleting 10%
    (cycle,) = report["scale1"]
    assert cycle["scale"] == 1
    for case in ("first_run", "first_run_cold_cache", "satisfied_rerun"):
        assert _positive_stats(cycle[case]["seconds"]), case
        assert _positive_stats(cycle[case]["in_process_seconds"]), case
        assert _positive_stats(cycle[case]["cpu_seconds"]), case
    assert _positive(cycle["first_run"]["rows"])
    assert cycle["satisfied_rerun"]["rows"] == 0
    for case in ("top_up", "top_up_users_kept"):
        top_up = cycle[case]
        assert _positive(top_up["deleted"]["deleted"]), case
        if top_up.get("failed"):
            # seed-sql failed to fill the gaps (its own tests cover that); the harness reports it and its time
            assert top_up["error"] and _positive_stats(top_up["failed_seconds"]), case
        else:
            assert _positive_stats(top_up["seconds"]) and _positive(top_up["rows"]), case
    assert cycle["top_up_users_kept"]["deleted"]["kept"] == ["User"]

    # throughput, memory and the load limit of the same rows
    (entry,) = report["scales"]
    assert entry["scale"] == 1 and _positive(entry["rows"])
    seed = entry["seed_sql"]
    assert _positive_stats(seed["wall_seconds"]) and _positive(seed["rows_per_s"])
    assert _positive_stats(seed["peak_rss_mb"])
    limit = entry["load_limit"]
    assert limit["rows"] == entry["rows"]
    assert _positive_stats(limit["insert_select"]["seconds"]) and _positive(limit["insert_select"]["rows_per_s"])
    assert _positive_stats(limit["copy"]["seconds"]) and _positive(limit["copy"]["rows_per_s"])
    assert set(limit["insert_select"]["by_table"]) >= {"User", "Community"}
    assert _positive(entry["ratio"]["wall"]) and _positive(entry["ratio"]["statements"])

    # per enricher at the largest scale, with the slowest statement's plan
    enrichers = report["enrichers"]
    assert enrichers["scale"] == 1 and enrichers["items"]
    names = {item["enricher"] for item in enrichers["items"]}
    assert {"accounts", "communities"} <= names
    for item in enrichers["items"]:
        assert item["rows"] >= 0 and _positive_stats(item["seconds"]), item["enricher"]
    accounts = next(i for i in enrichers["items"] if i["enricher"] == "accounts")
    plan = accounts["slowest_statement"]["plan"]
    assert plan and not plan.get("error") and plan["top"][0].startswith("Insert on")
    checks = enrichers["checks"]["items"]
    assert checks and all(c["seconds"] >= 0 and c["requirement"] for c in checks)
    assert checks[0]["plan"]["top"]  # the slowest check's plan

    # the text table went to stdout, and no scratch database is left behind
    assert "load limit" in proc.stdout.lower() or "INSERT…SELECT" in proc.stdout
    assert report["scratch_prefix"].startswith("bench_")
    assert _databases_named(server_url, report["scratch_prefix"]) == []
