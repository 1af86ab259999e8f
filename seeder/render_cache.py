"""Rendered SQL kept per user, so a run whose templates and options are unchanged skips Jinja2.

The anchor (--now, the current time by default) differs on every run, so templates are
rendered with a placeholder that is replaced by the anchor's literal after loading;
everything else that shapes the SQL is part of the key: seed-sql's own code, every file
of the template directories, and the options (seed, scale, force, enrichers, minimums).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from . import __version__, cache
from .headers import Enricher
from .rendered import Rendered

ANCHOR_TOKEN = "__seed_sql_anchor__"
KEEP = 32  # cached renderings kept; the oldest beyond that are removed
_PREFIX = "rendered-"


def _sources(template_dirs: list[Path]) -> list[Path]:
    own = sorted(Path(__file__).parent.glob("*.py"))
    files = []
    for directory in template_dirs:
        files += sorted(p for p in Path(directory).rglob("*") if p.is_file())
    return own + files


def key(options, enrichers: list[Enricher], minimums: dict[str, int], template_dirs: list[Path]) -> str:
    digest = hashlib.sha256()
    shape = (__version__, options.seed, options.scale, options.force,
             [e.name for e in enrichers], sorted(minimums.items()), [str(d) for d in template_dirs])
    digest.update(repr(shape).encode())
    for path in _sources(template_dirs):
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()[:40]


def load(cache_key: str, enrichers: list[Enricher]) -> list[Rendered] | None:
    data = cache.load_json(f"{_PREFIX}{cache_key}.json")
    if not isinstance(data, list) or [d.get("enricher") for d in data] != [e.name for e in enrichers]:
        return None
    try:
        return [Rendered.from_json(d, e) for d, e in zip(data, enrichers)]
    except (KeyError, TypeError):
        return None


def store(cache_key: str, rendered: list[Rendered]) -> None:
    cache.store_json(f"{_PREFIX}{cache_key}.json", [r.to_json() for r in rendered])
    _prune()


def _prune() -> None:
    directory = cache.cache_dir()
    if directory is None:
        return
    try:
        entries = sorted(directory.glob(f"{_PREFIX}*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # another run pruned the same file first
