"""Column types as sql/schema.sql (and the optional files) declare them, to detect drift."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from . import resources

_TABLE = re.compile(r'CREATE TABLE "([^"]+)" \((.*?)\n\);', re.S)
_COLUMN = re.compile(r'^\s*"([^"]+)" ("[^"]+"|[A-Z]+(?:\(\d+(?:,\d+)?\))?(?:\[\])?)', re.M)
_NAMES = {
    "TEXT": "text", "INTEGER": "integer", "BOOLEAN": "boolean", "JSONB": "jsonb",
    "TIMESTAMP(3)": "timestamp(3) without time zone", "DECIMAL(10,2)": "numeric(10,2)",
}


def _pg_name(ddl_type: str) -> str:
    array = ddl_type.endswith("[]")
    base = ddl_type[:-2] if array else ddl_type
    name = base if base.startswith('"') else _NAMES.get(base, base.lower())
    return name + ("[]" if array else "")


def parse(text: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for table, body in _TABLE.findall(text):
        out[table] = {col: _pg_name(typ) for col, typ in _COLUMN.findall(body)}
    return out


@lru_cache(maxsize=1)
def expected() -> dict[str, dict[str, str]]:
    files = [resources.schema_path(), *sorted((resources.sql_dir() / "optional").glob("*.sql"))]
    types: dict[str, dict[str, str]] = {}
    for path in files:
        types.update(parse(Path(path).read_text(encoding="utf-8")))
    return types
