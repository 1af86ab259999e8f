"""The embedded default database: started on demand, schema applied when it is empty."""

from __future__ import annotations

from pathlib import Path

from . import embedded, schema_admin

DBNAME = "mentara"


def ensure(state_dir: Path, apply_schema: bool = True) -> str:
    url = embedded.ensure_running(state_dir, dbname=DBNAME)
    if apply_schema and schema_admin.is_empty(url):
        schema_admin.apply(url)
    return url
