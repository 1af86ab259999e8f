"""The embedded default database: started on demand, schema applied when it is empty."""

from __future__ import annotations

from pathlib import Path

from . import embedded, schema_admin

DBNAME = "mentara"
MARKER = "schema-applied"


def ensure(state_dir: Path, apply_schema: bool = True) -> str:
    url = embedded.ensure_running(state_dir, dbname=DBNAME)
    marker = Path(state_dir) / "pgdata" / f"seed-sql-{MARKER}"  # goes when the cluster goes
    # The marker spares every later command a connection of its own just to look at the catalog.
    if apply_schema and not marker.exists():
        if schema_admin.is_empty(url):
            schema_admin.apply(url)
        marker.write_text(DBNAME + "\n")
    return url
