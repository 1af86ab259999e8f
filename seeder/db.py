"""Connections and catalog look-ups. Messages never contain a password."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import ConnectionFailed, UnsafeTarget

LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}
_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)([^@\s]*)(@)")
_PASSWORD_KV = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def mask(text: str) -> str:
    """Hide any password of a URL or key=value conninfo inside text."""
    text = _PASSWORD_IN_URL.sub(r"\1***\3", text)
    return _PASSWORD_KV.sub(r"\1***", text)


def parse(url: str) -> dict:
    from psycopg.conninfo import conninfo_to_dict

    try:
        return conninfo_to_dict(url)
    except Exception as exc:  # psycopg raises ProgrammingError with the text in it
        raise ConnectionFailed(
            f"malformed database URL {mask(url)!r}: {mask(str(exc)).strip()}",
            hint="expected postgresql://user[:password]@host[:port]/dbname",
        ) from None


def _local_host(host: str) -> bool:
    host = host.strip()
    return host in LOCAL_HOSTS or host.startswith("/") or host.startswith("127.")


def is_local(url: str, env: dict | None = None) -> bool:
    """Where libpq will connect: host and hostaddr of the URL, else $PGHOST / $PGHOSTADDR."""
    env = {} if env is None else env
    info = parse(url)
    hosts = str(info.get("host") or env.get("PGHOST") or "").split(",")
    addrs = str(info.get("hostaddr") or env.get("PGHOSTADDR") or "").split(",")
    return all(_local_host(h) for h in hosts + addrs)


def guard(url: str, env: dict, allow_remote: bool) -> None:
    """Refuse production-looking targets unless --allow-remote."""
    if allow_remote:
        return
    for var in ("APP_ENV", "NODE_ENV", "SEED_ENV"):
        if env.get(var, "").strip().lower() == "production":
            raise UnsafeTarget(
                f"refusing to seed: {var}=production looks like a production environment",
                hint="unset it, or pass --allow-remote if this really is a development database",
            )
    if not is_local(url, env):
        info = parse(url)
        host = info.get("hostaddr") or info.get("host") or env.get("PGHOSTADDR") or env.get("PGHOST")
        raise UnsafeTarget(
            f"refusing to seed non-local host {host!r}: seed-sql writes only to local databases by default",
            hint="pass --allow-remote to seed a remote development database",
        )


def connect(url: str, *, autocommit: bool = False, connect_timeout: int = 5):
    import psycopg

    info = parse(url)
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=connect_timeout)
    except psycopg.OperationalError as exc:
        where = f"{info.get('host') or 'local socket'}:{info.get('port') or 5432}/{info.get('dbname', '')}"
        reason = _reason(mask(str(exc)))
        raise ConnectionFailed(f"cannot connect to PostgreSQL at {where}: {reason}") from None
    return conn


def _reason(text: str) -> str:
    """libpq's failure line (e.g. 'Connection refused'), not its indented hint or the address prefix."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and not ln.startswith(("\t", " "))]
    if not lines:
        return "no answer"
    last = lines[-1]
    return last.split(": ", 1)[-1] if last.startswith("connection to server") else last


@dataclass
class Catalog:
    """Tables and their columns in the current schema: name -> {column: (type, not_null, has_default)}."""

    tables: dict[str, dict[str, tuple[str, bool, bool]]] = field(default_factory=dict)
    server_version: int = 0

    def has(self, table: str) -> bool:
        return table in self.tables


CATALOG_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef,
       current_setting('server_version_num')::int
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p')
ORDER BY c.relname, a.attnum
"""


def read_catalog(conn) -> Catalog:
    catalog = Catalog()
    for table, column, typ, notnull, hasdef, version in conn.execute(CATALOG_SQL):
        catalog.tables.setdefault(table, {})[column] = (typ, notnull, hasdef)
        catalog.server_version = version
    return catalog
