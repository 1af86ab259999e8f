"""The render cache: same SQL as a fresh render, any --now served from one entry, Jinja2 skipped on a hit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from seeder import config, pipeline, render_cache

ROOT = Path(__file__).resolve().parents[1]


def options(now, **flags):
    return config.resolve({"seed": "0", "now": now, **flags}, toml_path=None)


def texts(script):
    return [s.sql for s in script.statements] + [c.sql for c in script.checks]


def test_cached_render_equals_fresh_render_and_takes_each_runs_anchor(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = pipeline.build(options("2026-11-01T12:00:00"), None)
    entries = list((tmp_path / "cache" / "seed-sql").glob("rendered-*.json"))
    assert len(entries) == 1
    later = pipeline.build(options("2026-12-24T08:30:00"), None)
    assert len(list((tmp_path / "cache" / "seed-sql").glob("rendered-*.json"))) == 1  # served from the entry
    monkeypatch.setenv("SEED_SQL_NO_CACHE", "1")
    fresh = pipeline.build(options("2026-12-24T08:30:00"), None)
    assert texts(later) == texts(fresh)
    joined = "\n".join(texts(later))
    assert "2026-12-24 08:30:00" in joined and "2026-11-01" not in joined
    assert render_cache.ANCHOR_TOKEN not in joined
    assert "2026-11-01 12:00:00" in "\n".join(texts(first))


def test_key_changes_with_options_and_template_files(tmp_path):
    dirs = pipeline.template_dirs(options("2026-11-01T12:00:00"))
    base = options("2026-11-01T12:00:00")
    sel = pipeline.plan.select(pipeline.load_enrichers(base))
    k = render_cache.key(base, sel.enrichers, sel.minimums, dirs)
    assert k == render_cache.key(options("2030-01-01T00:00:00"), sel.enrichers, sel.minimums, dirs)
    assert k != render_cache.key(options("2026-11-01T12:00:00", scale="2"), sel.enrichers, sel.minimums, dirs)
    assert k != render_cache.key(base, sel.enrichers, {**sel.minimums, "client_posts": 9}, dirs)
    own = tmp_path / "mine"
    own.mkdir()
    (own / "_note.txt").write_text("one")
    k1 = render_cache.key(base, sel.enrichers, sel.minimums, [own, *dirs])
    (own / "_note.txt").write_text("two")
    assert k1 != render_cache.key(base, sel.enrichers, sel.minimums, [own, *dirs])


def test_satisfied_run_from_the_cache_never_imports_jinja2(schema_db, tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "DATABASE_URL": schema_db}
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['seed-sql', 'run', '--seed', '0', '--now', '2026-11-01T12:00:00', '--format', 'json']\n"
        "try:\n    runpy.run_module('seeder.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('JINJA2' if 'jinja2' in sys.modules else 'NO-JINJA2', file=sys.stderr)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True)
            for _ in range(2)]
    assert [json.loads(r.stdout)["outcome"] for r in runs] == ["first-run", "satisfied"], runs[0].stderr
    assert [r.stderr.strip().splitlines()[-1] for r in runs] == ["JINJA2", "NO-JINJA2"]
