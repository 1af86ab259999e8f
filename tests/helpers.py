"""Shared test helpers: run the CLI in-process, digest a database, count rows."""

from __future__ import annotations

import hashlib

import psycopg
from typer.testing import CliRunner

from seeder.cli import app

NOW = "2026-11-01T12:00:00"


def cli(*args: str, url: str | None = None, env: dict | None = None):
    """Invoke seed-sql in-process; returns the click Result (exit_code, stdout, stderr)."""
    argv = list(args)
    if url is not None:
        argv += ["--database-url", url]
    return CliRunner().invoke(app, argv, env=env, catch_exceptions=False)


def seed(url: str, *extra: str, now: str = NOW, expect: int = 0):
    """`seed-sql run` with a fixed anchor; asserts the exit code."""
    result = cli("run", "--now", now, *extra, url=url)
    assert result.exit_code == expect, result.stdout + result.stderr
    return result


def tables(conn) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def digest(url: str) -> dict[str, str]:
    """Per table, a sha256 of every row's full text, in a stable order."""
    out = {}
    with psycopg.connect(url) as conn:
        for table in tables(conn):
            h = hashlib.sha256()
            for (row,) in conn.execute(f'SELECT t::text FROM "{table}" t ORDER BY t::text'):
                h.update(row.encode())
                h.update(b"\n")
            out[table] = h.hexdigest()
    return out


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables(conn)}


def query(url: str, sql: str, params=None) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def one(url: str, sql: str, params=None):
    """The single value of a query."""
    return query(url, sql, params)[0][0]


def added(summary: dict) -> dict[str, int]:
    """Tables that got rows, from a `--format json` summary."""
    return {t: n for t, n in summary["rows_by_table"].items() if n}


def execute(url: str, sql: str, params=None) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql, params)
