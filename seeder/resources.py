"""Where the shipped templates and SQL files are, for a wheel install and for a source checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    # A built wheel carries the folder inside the package; an editable install
    # or a checkout has it at the repository top level.
    inside = _PKG / name
    return inside if inside.is_dir() else _PKG.parent / name


def templates_dir() -> Path:
    return _shipped("templates")


def sql_dir() -> Path:
    return _shipped("sql")


def schema_path() -> Path:
    return sql_dir() / "schema.sql"


def optional_sql(name: str) -> Path:
    return sql_dir() / "optional" / f"{name}.sql"
