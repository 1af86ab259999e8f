"""The complete SQL script of a run as text, for `seed-sql render | psql`."""

from __future__ import annotations

from . import __version__
from .pipeline import LOCK_KEY, POOL_TABLE, Script, context_sql, timeouts_sql
from .sqltext import identifier, literal

VERIFY_TAG = "$seed_verify$"


def _header(script: Script) -> list[str]:
    o = script.options
    opts = f"seed={o.seed} scale={o.scale} now={o.anchor.isoformat(sep=' ')} force={str(o.force).lower()}"
    if o.only:
        opts += " only=" + ",".join(o.only)
    names = ", ".join(r.enricher.name for r in script.rendered)
    lines = [
        f"-- seed-sql {__version__}: the complete script of one run ({opts})",
        "-- Apply with: psql -v ON_ERROR_STOP=1 \"$DATABASE_URL\" -f this.sql",
        "-- One transaction: any error or unmet requirement leaves the database as it was.",
        f"-- Enrichers in order: {names}",
    ]
    for name, why in script.selection.skipped.items():
        lines.append(f"-- Skipped {name}: {why}")
    return lines


def pool_inserts(script: Script) -> list[str]:
    from . import pools

    rows = list(pools.rows(script.pools))
    out = []
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        values = ",\n".join(f"({literal(k)}, {i}, {literal(v)})" for k, i, v in chunk)
        out.append(f"INSERT INTO seed_pool (kind, idx, v) VALUES\n{values};")
    return out


def verify_block(script: Script) -> str:
    body = []
    for check in script.checks:
        body.append(
            f"  SELECT count(*) INTO n FROM (\n{check.sql}\n  ) v;\n"
            f"  IF n > 0 THEN RAISE EXCEPTION 'seed-sql: requirement % unmet for % entities (enricher %)', "
            f"{literal(check.requirement)}, n, {literal(check.enricher)}; END IF;"
        )
    inner = "\n".join(body) if body else "  NULL;"
    return f"DO {VERIFY_TAG}\nDECLARE n bigint;\nBEGIN\n{inner}\nEND\n{VERIFY_TAG};"


def feasibility_block(rendered) -> str:
    body = []
    for f in rendered.feasibility:
        body.append(
            f"  SELECT problem INTO p FROM (\n{f.sql}\n  ) q LIMIT 1;\n"
            f"  IF p IS NOT NULL THEN RAISE EXCEPTION 'seed-sql: minimum % cannot be met: % (enricher %)', "
            f"{literal(f.requirement)}, p, {literal(f.enricher)}; END IF;"
        )
    return f"DO {VERIFY_TAG}\nDECLARE p text;\nBEGIN\n" + "\n".join(body) + f"\nEND\n{VERIFY_TAG};"


def terminated(sql: str) -> str:
    """The statement with its semicolon; on a line of its own when the last line holds a `--`
    comment, which would otherwise swallow it and run the statement on into the next."""
    return f"{sql}\n;" if "--" in sql.rsplit("\n", 1)[-1] else f"{sql};"


def enricher_sql(rendered) -> list[str]:
    e = rendered.enricher
    out = [f"-- ===== enricher {e.name} (tier {e.tier}): {', '.join(e.tables)} ====="]
    if rendered.feasibility:
        out.append(feasibility_block(rendered))
    for st in rendered.statements:
        note = f": {st.note}" if st.note else ""
        out.append(f'-- fill "{st.table}"{note}\n{terminated(st.sql)}')
    if rendered.statements:
        # run re-analyzes after large inserts; the script cannot count rows, so it always does.
        out.append("ANALYZE " + ", ".join(identifier(t) for t in e.tables) + ";")
    return out


def render(script: Script) -> str:
    parts = ["\n".join(_header(script)), "BEGIN;"]
    parts += [s + ";" for s in script.setup]
    parts.append(f"SELECT pg_advisory_xact_lock({LOCK_KEY});")
    parts += [s + ";" for s in timeouts_sql(script.options)]
    parts.append(POOL_TABLE + ";")
    parts += pool_inserts(script)
    parts.append("ANALYZE seed_pool;")
    parts.append(context_sql(script.options) + ";")
    for rendered in script.rendered:
        parts += enricher_sql(rendered)
    parts.append("-- ===== verification: every requirement, inside the transaction =====")
    parts.append(verify_block(script))
    parts.append("COMMIT;")
    return "\n\n".join(parts) + "\n"


def render_one(script: Script, name: str) -> str:
    for rendered in script.rendered:
        if rendered.enricher.name == name:
            parts = enricher_sql(rendered)
            parts += [f"-- check {c.requirement}\n{c.sql};" for c in rendered.checks]
            return "\n\n".join(parts) + "\n"
    raise KeyError(name)
