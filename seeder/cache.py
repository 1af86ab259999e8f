"""A per-user cache for work that is the same on every run: compiled templates, rendered SQL, Faker pools.

Only speed depends on it: every entry is keyed by what produced it, and a cache
that cannot be written is simply not used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def cache_dir() -> Path | None:
    if os.environ.get("SEED_SQL_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "seed-sql"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def load_json(name: str):
    directory = cache_dir()
    if directory is None:
        return None
    try:
        return json.loads((directory / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def store_json(name: str, value) -> None:
    directory = cache_dir()
    if directory is None:
        return
    tmp = directory / f".{name}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(value), encoding="utf-8")
        tmp.replace(directory / name)  # atomic: concurrent runs never read half a file
    except OSError:
        tmp.unlink(missing_ok=True)


def jinja_bytecode_cache():
    directory = cache_dir()
    if directory is None:
        return None
    import jinja2

    target = directory / "jinja"
    target.mkdir(exist_ok=True)
    return jinja2.FileSystemBytecodeCache(str(target))
