"""Real PostgreSQL for every test: DATABASE_URL when set, else the embedded server.

Each test that needs a database gets its own, cloned from a template database
that already holds the schema (CREATE DATABASE ... TEMPLATE is fast).
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from seeder import resources

REPO = Path(__file__).resolve().parent.parent


def _admin_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return make_conninfo(url, dbname="postgres")
    from seeder import embedded

    return embedded.ensure_running(REPO / ".seed-sql-test", dbname="postgres")


def _create_db(admin: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        tpl = f' TEMPLATE "{template}"' if template else " TEMPLATE template0"
        conn.execute(f'CREATE DATABASE "{name}"{tpl}')
    return make_conninfo(admin, dbname=name)


def _drop_db(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _apply(url: str, *paths: Path) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for path in paths:
            conn.execute(path.read_text())


@pytest.fixture(scope="session")
def server_url() -> str:
    """Admin URL (database "postgres") of the server the tests use."""
    return _admin_url()


@pytest.fixture(scope="session")
def _templates(server_url):
    tag = uuid.uuid4().hex[:8]
    plain, audit = f"seedsql_tpl_{tag}", f"seedsql_tpl_audit_{tag}"
    _apply(_create_db(server_url, plain), resources.schema_path())
    _apply(_create_db(server_url, audit), resources.schema_path(), resources.optional_sql("audit_log"))
    yield {"plain": plain, "audit": audit}
    _drop_db(server_url, plain)
    _drop_db(server_url, audit)


@contextmanager
def seeded_database(server_url: str, template: str, *run_args: str):
    """A fresh database (from a template database) after one `seed-sql run` with run_args; dropped after."""
    from helpers import seed

    name, url = _fresh(server_url, template)
    try:
        seed(url, *run_args)
        yield url
    finally:
        _drop_db(server_url, name)


def _fresh(server_url, template):
    name = f"seedsql_t_{uuid.uuid4().hex[:12]}"
    url = _create_db(server_url, name, template)
    return name, url


@pytest.fixture
def new_db(server_url, _templates):
    """Factory: new_db(kind) -> URL of a fresh database; kind is 'schema', 'audit' or 'empty'."""
    made = []

    def make(kind: str = "schema") -> str:
        template = {"schema": _templates["plain"], "audit": _templates["audit"], "empty": None}[kind]
        name, url = _fresh(server_url, template)
        made.append(name)
        return url

    yield make
    for name in made:
        _drop_db(server_url, name)


@pytest.fixture
def schema_db(new_db) -> str:
    """URL of a fresh database holding sql/schema.sql (no data)."""
    return new_db("schema")


@pytest.fixture
def audit_db(new_db) -> str:
    """URL of a fresh database holding sql/schema.sql and sql/optional/audit_log.sql."""
    return new_db("audit")


@pytest.fixture
def empty_db(new_db) -> str:
    """URL of a fresh database with nothing in it."""
    return new_db("empty")


def dbname_of(url: str) -> str:
    return conninfo_to_dict(url)["dbname"]
