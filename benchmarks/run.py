#!/usr/bin/env python
"""Performance harness of seed-sql (requirements section 7, issue #5).

Runs WHOLE `seed-sql` processes (the `seed-sql` script next to sys.executable)
against scratch databases it creates on the given PostgreSQL server, and reports:

* scale 1: first run on an empty database, satisfied re-run, top-up after
  deleting 10% of the rows of every table (wall seconds of the process);
* every scale: rows created, seconds, rows/s, peak RSS of the Python process,
  and the load limit measured in the same run: the same rows, already generated,
  inserted by INSERT ... SELECT (and, separately, COPY FROM) into an empty
  database with the same indexes and foreign keys; the ratio seed-sql / limit;
* per enricher at the largest scale: rows, seconds, the slowest statement and
  its EXPLAIN (ANALYZE, BUFFERS) plan, taken inside a rolled-back replay of the
  rendered script (`seed-sql render`) on a fresh database.

Usage:
    .venv/bin/python benchmarks/run.py --database-url postgresql://postgres@127.0.0.1:5432/postgres \
        [--scales 1,100,1000] [--repeat 5] [--json out.json] [--quick]

Scratch databases are named bench_<tag>_* and dropped at the end (also on error
or Ctrl-C). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql as pgsql
from psycopg.conninfo import make_conninfo

REPO = Path(__file__).resolve().parent.parent
SEED_SQL = Path(sys.executable).parent / "seed-sql"

NOW = "2026-11-01T12:00:00"  # fixed time anchor: every run generates the same rows
SEED = 0
STAGE = "bench_stage"
# Targets of requirements section 7 (reported next to the measurements, never asserted).
TARGETS = {"first_run": 1.0, "satisfied_rerun": 0.3, "top_up": 0.5, "ratio": 0.6, "rss_mb": 150}
# The settings seed-sql uses in its transaction (seeder/pipeline.py setup_sql); the load limit uses the same.
SESSION = ["SET LOCAL TimeZone = 'UTC'", "SET LOCAL work_mem = '128MB'", "SET LOCAL jit = off"]
PLAN_LINES = 30


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# numbers


def stats(values: list[float], digits: int = 4) -> dict:
    values = [float(v) for v in values]
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0, "values": []}
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
        "values": [round(v, digits) for v in values],
    }


def fmt_s(st: dict) -> str:
    if not st or st.get("median") is None:
        return "-"
    if st["n"] == 1:
        return f"{st['median']:.3f}"
    return f"{st['median']:.3f} ({st['min']:.3f}–{st['max']:.3f})"


def per_s(rows: int, seconds: float | None) -> float:
    return round(rows / seconds, 1) if seconds else 0.0


# ---------------------------------------------------------------------------
# server and scratch databases


def db_url(admin: str, name: str) -> str:
    """The admin URL with another database name (URL form kept, so seed-sql sees a local host)."""
    if admin.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(admin)
        return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    return make_conninfo(admin, dbname=name)


class Server:
    """Creates scratch databases from one template that holds sql/schema.sql; drops them all at the end."""

    def __init__(self, admin_url: str):
        self.admin = admin_url
        self.tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.template = f"bench_{self.tag}_tpl"
        self.made: list[str] = []
        self.count = 0
        self.checkpoints = True

    def admin_exec(self, statement: str) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(statement)

    def setup(self) -> None:
        self.admin_exec(f'CREATE DATABASE "{self.template}" TEMPLATE template0')
        self.made.append(self.template)
        with psycopg.connect(db_url(self.admin, self.template), autocommit=True) as conn:
            conn.execute((CODE.root / "sql" / "schema.sql").read_text(encoding="utf-8"))

    def fresh(self, label: str) -> str:
        self.count += 1
        name = f"bench_{self.tag}_{label}_{self.count}"
        self.admin_exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.made.append(name)
        return db_url(self.admin, name)

    def drop(self, url_or_name: str) -> None:
        name = url_or_name.rsplit("/", 1)[-1] if "/" in url_or_name else url_or_name
        name = name.split("?", 1)[0]
        if name in self.made:
            self.admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.made.remove(name)

    def drop_all(self) -> None:
        for name in reversed(list(self.made)):
            try:
                self.admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except psycopg.Error as exc:  # keep dropping the others
                log(f"warning: could not drop {name}: {exc}")
        self.made.clear()

    def checkpoint(self) -> None:
        """Start every timed phase from the same state: no dirty buffers of the previous phase."""
        if not self.checkpoints:
            return
        try:
            self.admin_exec("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            self.checkpoints = False  # not a superuser: measure without it


def machine_info() -> dict:
    mem_kb = 0
    cpu = platform.processor()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "nproc": usable,
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "memory_mb": round(mem_kb / 1024),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }


def postgres_info(admin: str) -> dict:
    names = ["server_version", "shared_buffers", "work_mem", "maintenance_work_mem", "synchronous_commit",
             "fsync", "wal_level", "max_wal_size", "checkpoint_timeout", "jit", "max_parallel_workers_per_gather"]
    with psycopg.connect(admin, autocommit=True) as conn:
        out = {"version": conn.execute("SELECT version()").fetchone()[0]}
        for name in names:
            out[name] = conn.execute(f"SHOW {name}").fetchone()[0]
    return out


def git_info() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                                  timeout=10).stdout.rstrip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = [ln[3:] for ln in git("status", "--porcelain", "--", "seeder", "templates", "sql").splitlines()]
    return {"commit": git("log", "-1", "--oneline").strip(), "uncommitted_engine_files": dirty}


# ---------------------------------------------------------------------------
# running seed-sql


_STATEMENT = re.compile(r'^ {4}(\S+): "([^"]+)" (.*) -> (\d+) rows, ([0-9.]+) s$')
_ENRICHER = re.compile(r"^ {2}(\S+)\s+\+?(\d+) rows\s+([0-9.]+) s$")


def parse_progress(text: str) -> tuple[list[dict], dict[str, float]]:
    """The --verbose lines of a run: statements in order, and seconds per enricher."""
    statements, enricher_seconds = [], {}
    for line in text.splitlines():
        m = _STATEMENT.match(line)
        if m:
            statements.append({"enricher": m[1], "table": m[2], "note": m[3], "rows": int(m[4]),
                               "seconds": float(m[5])})
            continue
        m = _ENRICHER.match(line)
        if m:
            enricher_seconds[m[1]] = float(m[3])
    return statements, enricher_seconds


class CODE:
    """Which seed-sql code the processes run, and their cache folder.

    Others keep editing the tree while a benchmark runs, so by default the harness copies seeder/,
    templates/ and sql/ once at the start and puts the copy first on PYTHONPATH: every run of one
    benchmark measures the same code. seed-sql caches compiled templates and Faker pools under
    $XDG_CACHE_HOME/seed-sql; the harness points that at its own folder, warmed by one untimed run.
    """

    root: Path = REPO
    pythonpath: str | None = None
    cache: Path | None = None
    statement_timeout: str | None = None  # SEED_STATEMENT_TIMEOUT for the runs; None: seed-sql's default


def take_snapshot(workdir: Path) -> dict:
    snap = workdir / "snapshot"
    for name in ("seeder", "templates", "sql"):
        shutil.copytree(REPO / name, snap / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    CODE.root, CODE.pythonpath = snap, str(snap)
    probe = subprocess.run([sys.executable, "-c", "import seeder; print(seeder.__file__)"], capture_output=True,
                           text=True, env=clean_env(), cwd=workdir)
    imported = probe.stdout.strip()
    if not imported.startswith(str(snap)):
        raise RuntimeError(f"the snapshot is not what seed-sql imports ({imported or probe.stderr.strip()})")
    return {"snapshot": True, "imports": imported}


def clean_env(cache: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SEED_") and k not in ("DATABASE_URL", "APP_ENV", "NODE_ENV")}
    env["PYTHONUNBUFFERED"] = "1"
    # Bytecode is cached as on any normal install (the warm-up run writes it); some sandboxes disable it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if CODE.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (CODE.pythonpath, os.environ.get("PYTHONPATH")) if p)
    cache = cache or CODE.cache
    if cache:
        env["XDG_CACHE_HOME"] = str(cache)
    if CODE.statement_timeout:
        env["SEED_STATEMENT_TIMEOUT"] = CODE.statement_timeout
    return env


def startup_floor(url: str, workdir: Path, n: int = 5) -> dict:
    """What any Python CLI on psycopg and typer pays before doing work: the part of the scale-1 wall
    times seed-sql cannot remove. Median (min-max) of n processes each."""
    probes = {
        "imports": "import typer, psycopg",
        "imports_connect_select1": f"import typer, psycopg; psycopg.connect({url!r}).execute('SELECT 1').fetchone()",
    }
    out = {}
    for name, code in probes.items():
        times = []
        for _ in range(n):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=workdir, env=clean_env(),
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
        out[name] = stats(times)
    return out


class SeedRunFailed(RuntimeError):
    def __init__(self, message: str, wall: float | None = None, cpu: float | None = None, summary: str = "",
                 progress: str = ""):
        super().__init__(message)
        self.wall, self.cpu, self.summary = wall, cpu, summary or message.splitlines()[0]
        self.progress = progress  # seed-sql's --verbose lines up to the failure


def seed_process(url: str, scale: int, *, workdir: Path, echo: bool = False, timeout: float | None = None,
                 command: str = "run", extra: tuple[str, ...] = (), cache: Path | None = None) -> dict:
    """One whole `seed-sql run` process: wall seconds, peak RSS (wait4 rusage of this child), JSON summary."""
    argv = [str(SEED_SQL), command, "--database-url", url, "--scale", str(scale), "--seed", str(SEED),
            "--now", NOW, "--format", "json", "--verbose", *extra]
    out_path = workdir / f"stdout_{uuid.uuid4().hex[:8]}.json"
    err_lines: list[str] = []
    with open(out_path, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, cwd=workdir, env=clean_env(cache))

        def pump():
            for raw in proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                err_lines.append(line)
                if echo:
                    log(f"      | {line}")

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        killer = threading.Timer(timeout, proc.kill) if timeout else None
        if killer:
            killer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            if killer:
                killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        reader.join(timeout=10)
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    out_path.unlink(missing_ok=True)
    stderr = "\n".join(err_lines)
    if proc.returncode != 0:
        tail = "\n".join(ln for ln in err_lines[-40:] if not ln.startswith("    "))
        last = next((ln for ln in reversed(err_lines) if ln.startswith("seed-sql: error:")), "")
        raise SeedRunFailed(f"seed-sql {command} --scale {scale} exited {proc.returncode} after {wall:.1f} s:\n{tail}",
                            wall=wall, cpu=usage.ru_utime + usage.ru_stime,
                            summary=f"exit {proc.returncode}: {last or (err_lines[-1] if err_lines else '')}",
                            progress=stderr)
    try:
        summary = json.loads(stdout)
    except json.JSONDecodeError:
        raise SeedRunFailed(f"seed-sql printed no JSON summary:\n{stdout[-2000:]}") from None
    statements, enricher_seconds = parse_progress(stderr)
    return {
        "wall": wall,
        "seconds": float(summary.get("seconds") or 0.0),
        "outcome": summary.get("outcome"),
        "rows": int(summary.get("rows_added") or 0),
        "rows_by_table": summary.get("rows_by_table", {}),
        "rows_by_enricher": summary.get("rows_by_enricher", {}),
        "enricher_seconds": enricher_seconds,
        "statements": statements,
        "rss_mb": usage.ru_maxrss / 1024.0,  # Linux: kilobytes
        "cpu": usage.ru_utime + usage.ru_stime,  # CPU seconds of the seed-sql process alone
    }


# ---------------------------------------------------------------------------
# catalog helpers


def table_order(conn) -> list[str]:
    """Tables of the public schema, parents first (levels from the FK graph, self-references ignored)."""
    tables = [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1")]
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in conn.execute(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = 'public'"):
        child, parent = child.strip('"'), parent.strip('"')
        if child in parents and parent != child:
            parents[child].add(parent)
    level: dict[str, int] = {}

    def depth(t: str, seen=()) -> int:
        if t not in level:
            level[t] = 1 + max((depth(p, seen + (t,)) for p in parents[t] if p not in seen), default=-1)
        return level[t]

    return sorted(tables, key=lambda t: (depth(t), t))


def columns(conn, table: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum", (pgsql.Identifier(table).as_string(conn),))]


def row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(pgsql.SQL("SELECT count(*) FROM {}").format(pgsql.Identifier(t))).fetchone()[0]
                for t in table_order(conn)}


# ---------------------------------------------------------------------------
# deleting 10% of every table


def delete_fraction(url: str, fraction: float, mode: str, keep: tuple[str, ...] = ()) -> dict:
    """Delete max(1, round(fraction x rows)) pseudo-random rows of every table (middle rows included).

    cascade (default): children first, with the schema's ON DELETE rules, so the database stays
    consistent; a deleted parent also removes its children, so child tables lose somewhat more.
    replica: session_replication_role = replica, so no FK trigger fires: exactly the fraction of
    every table, but rows whose parent was deleted remain as orphans.
    The choice is stable (md5 of the row's text), so every repeat deletes the same rows.
    keep: tables left alone (their rows can still go by cascade from a parent).
    """
    before = row_counts(url)
    with psycopg.connect(url) as conn:
        if mode == "replica":
            conn.execute("SET LOCAL session_replication_role = replica")
        for table in reversed(table_order(conn)):
            n = before.get(table, 0)
            if n == 0 or table in keep:
                continue
            k = max(1, round(n * fraction))
            ident = pgsql.Identifier(table)
            conn.execute(pgsql.SQL(
                "DELETE FROM {t} WHERE ctid = ANY (ARRAY(SELECT s.ctid FROM {t} s "
                "ORDER BY md5(s::text || 'bench-delete') LIMIT {k}))").format(t=ident, k=pgsql.Literal(k)))
        conn.commit()
    after = row_counts(url)
    gone = {t: before[t] - after.get(t, 0) for t in before if before[t] - after.get(t, 0)}
    return {"mode": mode, "kept": list(keep), "rows_before": sum(before.values()), "deleted": sum(gone.values()),
            "by_table": gone}


def timed_top_up(server: Server, url: str, scale: int, args, workdir: Path, keep: tuple[str, ...] = ()):
    """Delete 10% (except `keep`), then one timed seed-sql run: (deletion, run summary or SeedRunFailed)."""
    deleted = delete_fraction(url, 0.10, args.delete_mode, keep)
    server.checkpoint()
    try:
        top = seed_process(url, scale, workdir=workdir, timeout=args.timeout)
    except SeedRunFailed as exc:
        # a gap-filling failure of seed-sql: keep measuring, report it (and how long it took)
        log(f"    TOP-UP FAILED{' (User kept)' if keep else ''}: {exc.summary}")
        return deleted, exc
    if top["outcome"] != "top-up":
        raise SeedRunFailed(f"expected a top-up, seed-sql says {top['outcome']!r}")
    return deleted, top


def top_up_entry(results: list[tuple[dict, object]]) -> dict:
    ok = [r for _d, r in results if isinstance(r, dict)]
    failed = [r for _d, r in results if isinstance(r, SeedRunFailed)]
    entry = {"seconds": stats([t["wall"] for t in ok]),
             "in_process_seconds": stats([t["seconds"] for t in ok]),
             "cpu_seconds": stats([t["cpu"] for t in ok]),
             "rows": ok[-1]["rows"] if ok else None, "deleted": results[-1][0],
             "target_seconds": TARGETS["top_up"]}
    if failed:
        entry.update({
            "failed": len(failed),
            "error": failed[0].summary,
            "failed_seconds": stats([f.wall for f in failed if f.wall is not None]),
            "failed_cpu_seconds": stats([f.cpu for f in failed if f.cpu is not None]),
        })
    return entry


# ---------------------------------------------------------------------------
# the load limit


def dump_tables(url: str, folder: Path) -> tuple[list[str], dict[str, int]]:
    """COPY every table of a seeded database to files; tables parents first."""
    with psycopg.connect(url) as conn:
        order = table_order(conn)
        counts = {}
        for table in order:
            path = folder / f"{table}.copy"
            with open(path, "wb") as f, conn.cursor().copy(
                    pgsql.SQL("COPY {} TO STDOUT").format(pgsql.Identifier(table))) as copy:
                for chunk in copy:
                    f.write(chunk)
            counts[table] = conn.execute(
                pgsql.SQL("SELECT count(*) FROM {}").format(pgsql.Identifier(table))).fetchone()[0]
    return order, counts


def copy_in(cur, target: pgsql.Composable, path: Path) -> None:
    with open(path, "rb") as f, cur.copy(pgsql.SQL("COPY {} FROM STDIN").format(target)) as copy:
        while chunk := f.read(1 << 20):
            copy.write(chunk)


def load_limit(server: Server, source_url: str, workdir: Path) -> dict:
    """The same rows inserted into empty tables with the same indexes and FKs, parents first.

    INSERT ... SELECT: rows are staged (COPY) into unlogged tables of schema bench_stage in a fresh
    schema database, then one INSERT INTO public."T" SELECT ... FROM bench_stage."T" per table, in one
    transaction with seed-sql's session settings; only these INSERTs and the COMMIT are timed. Self-
    references (Comment.parentId, Message.replyToId) need no ordering: the RI checks of one statement
    run at its end. COPY: the same files COPY'd FROM STDIN into another fresh database, timed likewise.
    """
    folder = Path(tempfile.mkdtemp(prefix="dump_", dir=workdir))
    try:
        order, counts = dump_tables(source_url, folder)
        total = sum(counts.values())
        result = {"rows": total}

        target = server.fresh("load")
        try:
            with psycopg.connect(target) as conn:
                conn.execute(pgsql.SQL("CREATE SCHEMA {}").format(pgsql.Identifier(STAGE)))
                cols = {}
                for table in order:
                    cols[table] = columns(conn, table)
                    stage = pgsql.Identifier(STAGE, table)
                    conn.execute(pgsql.SQL("CREATE UNLOGGED TABLE {} (LIKE {})").format(
                        stage, pgsql.Identifier("public", table)))
                    copy_in(conn.cursor(), stage, folder / f"{table}.copy")
                conn.commit()
                conn.autocommit = True
                conn.execute(pgsql.SQL("VACUUM ANALYZE"))
                conn.autocommit = False
            server.checkpoint()
            by_table = {}
            with psycopg.connect(target) as conn:
                started = time.perf_counter()
                for s in SESSION:
                    conn.execute(s)
                for table in order:
                    collist = pgsql.SQL(", ").join(pgsql.Identifier(c) for c in cols[table])
                    t0 = time.perf_counter()
                    cur = conn.execute(pgsql.SQL("INSERT INTO {dst} ({c}) SELECT {c} FROM {src}").format(
                        dst=pgsql.Identifier("public", table), c=collist, src=pgsql.Identifier(STAGE, table)))
                    by_table[table] = round(time.perf_counter() - t0, 4)
                    if cur.rowcount != counts[table]:
                        raise RuntimeError(f"load limit: {table} got {cur.rowcount} rows, expected {counts[table]}")
                t0 = time.perf_counter()
                conn.commit()
                commit = time.perf_counter() - t0
                seconds = time.perf_counter() - started
            result["insert_select"] = {"seconds": round(seconds, 4), "commit_seconds": round(commit, 4),
                                       "rows_per_s": per_s(total, seconds), "by_table": by_table}
        finally:
            server.drop(target)

        target = server.fresh("copy")
        try:
            server.checkpoint()
            by_table = {}
            with psycopg.connect(target) as conn:
                started = time.perf_counter()
                for s in SESSION:
                    conn.execute(s)
                cur = conn.cursor()
                for table in order:
                    t0 = time.perf_counter()
                    copy_in(cur, pgsql.Identifier("public", table), folder / f"{table}.copy")
                    by_table[table] = round(time.perf_counter() - t0, 4)
                conn.commit()
                seconds = time.perf_counter() - started
            result["copy"] = {"seconds": round(seconds, 4), "rows_per_s": per_s(total, seconds), "by_table": by_table}
        finally:
            server.drop(target)
        result["rows_by_table"] = counts
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------
# plans of the slowest statements: a rolled-back replay of the rendered script


_MARK = re.compile(r'^-- (?:===== enricher (\S+)(?: \(tier [^)]*\): (.*?) =====)?.*|===== verification.*'
                   r'|fill "([^"]+)"(?::.*)?)$', re.MULTILINE)


def split_script(script: str) -> tuple[str, list[dict]]:
    """`seed-sql render` output -> (preamble, parts); a part is {enricher, table|None, sql}.

    Relies on the marker comments of seeder/script_text.py: '-- ===== enricher NAME', '-- fill "T": note',
    '-- ===== verification'. The verification block and COMMIT are dropped.
    """
    marks = list(_MARK.finditer(script))
    if not marks:
        raise ValueError("no enricher markers in the rendered script")
    preamble = script[:marks[0].start()]
    parts, enricher = [], None
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(script)
        body = script[m.end():end].strip()
        if m.group(0).startswith("-- ===== verification"):
            break
        if m.group(1):
            enricher = m.group(1)
            tables = [t.strip() for t in (m.group(2) or "").split(",") if t.strip()]
            parts.append({"enricher": enricher, "table": None, "sql": body, "tables": tables, "start": True})
        else:
            parts.append({"enricher": enricher, "table": m.group(3), "sql": body})
    return preamble, parts


_CHECK = re.compile(
    r"  SELECT count\(\*\) INTO n FROM \(\n(.*?)\n  \) v;\n  IF n > 0 THEN RAISE EXCEPTION '(?:[^']|'')*', "
    r"'((?:[^']|'')*)', n, '((?:[^']|'')*)'; END IF;", re.DOTALL)


def split_checks(script: str) -> list[dict]:
    """The requirement checks of the verification block of `seed-sql render` (seeder/script_text.py verify_block)."""
    start = script.find("-- ===== verification")
    if start < 0:
        return []
    return [{"requirement": m[2].replace("''", "'"), "enricher": m[3].replace("''", "'"), "sql": m[1]}
            for m in _CHECK.finditer(script, start)]


def runner_constant(name: str) -> int | None:
    """An integer constant of seeder/runner.py in the code measured."""
    try:
        m = re.search(rf"^{name}\s*=\s*([0-9_]+)", (CODE.root / "seeder" / "runner.py").read_text(), re.M)
    except OSError:
        return None
    return int(m.group(1).replace("_", "")) if m else None


def analyze_after() -> int | None:
    """seed-sql's run ANALYZEs an enricher's tables after it inserted this many rows (seeder/runner.py);
    the rendered script does not, so the replay does it itself to plan like the run."""
    return runner_constant("ANALYZE_AFTER")


_TUPLES = re.compile(r"Tuples Inserted: (\d+)")


def summarize_plan(lines: list[str]) -> dict:
    triggers = [ln.strip() for ln in lines if ln.strip().startswith("Trigger ")]
    timing = [ln.strip() for ln in lines if ln.strip().startswith(("Planning Time", "Execution Time"))]
    return {"top": lines[:PLAN_LINES], "triggers": triggers, "timing": timing, "lines": len(lines), "text": lines}


def explain_slowest(server: Server, scale: int, slowest: dict[str, int], workdir: Path,
                    stop_at: int | None = None, rows_hint: dict | None = None) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of chosen statements inside a replay of the rendered script, rolled back.

    slowest: enricher -> index of its statement (in --verbose order) to explain. Every other statement
    runs as rendered, so the plans see the same data and temp tables as in a real run.
    stop_at: the global number (0-based, in run order) of a statement that did not finish in the run:
    the replay runs everything before it, shows its plain EXPLAIN (no ANALYZE) and stops there.
    rows_hint: (enricher, statement index) -> rows the run inserted, for EXPLAINs that do not say.
    Like the run (and unlike the rendered script), it ANALYZEs an enricher's tables after it inserted
    analyze_after() rows or more.
    """
    url = server.fresh("explain")
    threshold = analyze_after()
    stats_target = runner_constant("ANALYZE_STATISTICS_TARGET")  # None: the server's default, as older runs
    inserted: dict[str, int] = {}
    current: dict = {}

    def finish_enricher(conn) -> None:
        if current and threshold is not None and inserted.get(current["enricher"], 0) >= threshold:
            if stats_target is not None:
                conn.execute(pgsql.SQL("SET LOCAL default_statistics_target = {}").format(pgsql.Literal(stats_target)))
            for table in current["tables"]:
                conn.execute(pgsql.SQL("ANALYZE {}").format(pgsql.Identifier(table)))

    checks_out: list[dict] = []
    try:
        render = subprocess.run([str(SEED_SQL), "render", "--database-url", url, "--scale", str(scale),
                                 "--seed", str(SEED), "--now", NOW], capture_output=True, text=True,
                                cwd=workdir, env=clean_env())
        if render.returncode != 0:
            return {"error": f"seed-sql render failed: {render.stderr.strip()[-500:]}"}
        preamble, parts = split_script(render.stdout)
        plans: dict[str, dict] = {}
        ordinal: dict[str, int] = {}
        number = -1
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(preamble)  # BEGIN; settings; lock; pools; context
            try:
                for part in parts:
                    name = part["enricher"]
                    if part.get("start"):
                        finish_enricher(conn)
                        current.clear()
                        current.update(part)
                    if part["table"] is None:
                        if part["sql"]:
                            conn.execute(part["sql"])
                        continue
                    idx = ordinal.get(name, 0)
                    ordinal[name] = idx + 1
                    number += 1
                    if number == stop_at:
                        rows = conn.execute("EXPLAIN " + part["sql"].rstrip().rstrip(";")).fetchall()
                        plans[name] = {"table": part["table"], "statement_index": idx, "analyze": False,
                                       "sql": part["sql"], **summarize_plan([r[0] for r in rows])}
                        return plans
                    if slowest.get(name) != idx:
                        cur = conn.execute(part["sql"])
                        inserted[name] = inserted.get(name, 0) + max(cur.rowcount, 0)
                        continue
                    statement = part["sql"].rstrip().rstrip(";")
                    conn.execute("SAVEPOINT bench_explain")
                    t0 = time.perf_counter()
                    try:
                        rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement).fetchall()
                        lines = [r[0] for r in rows]
                        conn.execute("RELEASE SAVEPOINT bench_explain")
                        got = next((int(m[1]) for ln in lines if (m := _TUPLES.search(ln))), None)
                        if got is None:
                            got = (rows_hint or {}).get((name, idx), 0)
                        inserted[name] = inserted.get(name, 0) + got
                        plans[name] = {"table": part["table"], "statement_index": idx,
                                       "replay_seconds": round(time.perf_counter() - t0, 4), **summarize_plan(lines)}
                    except psycopg.Error as exc:
                        conn.execute("ROLLBACK TO SAVEPOINT bench_explain")
                        cur = conn.execute(part["sql"])
                        inserted[name] = inserted.get(name, 0) + max(cur.rowcount, 0)
                        plans[name] = {"table": part["table"], "statement_index": idx,
                                       "error": f"EXPLAIN failed: {str(exc).strip().splitlines()[0]}"}
                finish_enricher(conn)
                # the requirement checks, as the run's final verification sees the filled tables
                for check in split_checks(render.stdout):
                    t0 = time.perf_counter()
                    n = conn.execute(f"SELECT count(*) FROM (\n{check['sql']}\n) v").fetchone()[0]
                    checks_out.append({"requirement": check["requirement"], "enricher": check["enricher"],
                                       "violators": n, "seconds": round(time.perf_counter() - t0, 4),
                                       "sql": check["sql"]})
                if checks_out:
                    slow = max(checks_out, key=lambda c: c["seconds"])
                    rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM (\n{slow['sql']}\n) v").fetchall()
                    slow["plan"] = summarize_plan([r[0] for r in rows])
            finally:
                conn.execute("ROLLBACK")
        for check in checks_out:
            if "plan" not in check:
                check.pop("sql")
        plans["_checks"] = checks_out
        return plans
    finally:
        server.drop(url)


# ---------------------------------------------------------------------------
# the benchmark


CYCLE_UP_TO = 100  # scales whose re-run and top-up are measured without --cycle-all


def repeats_for(scale: int, repeat_arg: str, scales: list[int]) -> int:
    values = [int(v) for v in repeat_arg.split(",") if v.strip()]
    if len(values) > 1:
        if len(values) != len(scales):
            raise SystemExit("--repeat: give one number, or one per scale")
        return values[scales.index(scale)]
    n = values[0]
    default = 5 if scale <= 10 else 3 if scale <= 100 else 1
    return n if scale <= 10 else max(1, min(n, default))


def run_scale(server: Server, scale: int, repeat: int, args, workdir: Path) -> tuple[dict, list[dict]]:
    echo = scale >= 100 and not args.quiet
    firsts, satisfied, topups, topups_keep, loads, colds = [], [], [], [], [], []
    # the re-run and top-up cases at every scale up to CYCLE_UP_TO: a top-up whose work grows faster than
    # the data shows only at scale (a candidate set sized by a count of the whole table, say)
    cycle_here = scale <= CYCLE_UP_TO or args.cycle_all
    for r in range(repeat):
        if cycle_here:
            # the very first run of a user: no compiled templates, no Faker pools in the cache yet
            cold_cache = Path(tempfile.mkdtemp(prefix="cold_cache_", dir=workdir))
            url = server.fresh(f"s{scale}cold")
            try:
                server.checkpoint()
                colds.append(seed_process(url, scale, workdir=workdir, timeout=args.timeout, cache=cold_cache))
            finally:
                server.drop(url)
                shutil.rmtree(cold_cache, ignore_errors=True)
        url = server.fresh(f"s{scale}")
        try:
            log(f"  scale {scale}, run {r + 1}/{repeat}: first run ...")
            server.checkpoint()
            try:
                first = seed_process(url, scale, workdir=workdir, echo=echo, timeout=args.timeout)
            except SeedRunFailed as exc:
                log(f"    FIRST RUN FAILED: {exc.summary}")
                return failed_scale(scale, r, repeat, exc, firsts), []
            if first["outcome"] != "first-run":
                raise SeedRunFailed(f"expected a first run, seed-sql says {first['outcome']!r}")
            firsts.append(first)
            log(f"    {first['rows']} rows in {first['wall']:.2f} s wall ({first['seconds']:.2f} s in process), "
                f"peak RSS {first['rss_mb']:.0f} MB")
            if cycle_here:
                server.checkpoint()
                again = seed_process(url, scale, workdir=workdir, timeout=args.timeout)
                if again["outcome"] != "satisfied" or again["rows"]:
                    raise SeedRunFailed(f"re-run was not satisfied: {again['outcome']}, {again['rows']} rows")
                satisfied.append(again)
            if not args.no_load_limit:
                log("    load limit: INSERT ... SELECT and COPY of the same rows ...")
                load = load_limit(server, url, workdir)
                if load["rows"] != first["rows"]:
                    log(f"    note: the database holds {load['rows']} rows, seed-sql reported {first['rows']}")
                loads.append(load)
                log(f"    INSERT ... SELECT {load['insert_select']['seconds']:.2f} s, COPY {load['copy']['seconds']:.2f} s")
            if cycle_here:
                topups.append(timed_top_up(server, url, scale, args, workdir))
        finally:
            server.drop(url)
        if cycle_here:
            # the same with every User row kept: seed-sql never re-creates deleted users (base data goes
            # only into an empty "User" table), so some rules cannot be restored once users are gone
            url = server.fresh(f"s{scale}keep")
            try:
                seed_process(url, scale, workdir=workdir, timeout=args.timeout)
                topups_keep.append(timed_top_up(server, url, scale, args, workdir, keep=("User",)))
            finally:
                server.drop(url)

    rows = firsts[-1]["rows"]
    wall = stats([f["wall"] for f in firsts])
    inproc = stats([f["seconds"] for f in firsts])
    stmt = stats([sum(s["seconds"] for s in f["statements"]) for f in firsts])
    entry = {
        "scale": scale,
        "repeat": repeat,
        "rows": rows,
        "rows_by_table": firsts[-1]["rows_by_table"],
        "seed_sql": {
            "wall_seconds": wall,
            "in_process_seconds": inproc,
            "statement_seconds": stmt,
            "cpu_seconds": stats([f["cpu"] for f in firsts]),
            "rows_per_s": per_s(rows, wall["median"]),
            "rows_per_s_in_process": per_s(rows, inproc["median"]),
            "rows_per_s_statements": per_s(rows, stmt["median"]),
            "peak_rss_mb": stats([f["rss_mb"] for f in firsts], 1),
        },
    }
    if loads:
        ins = stats([ld["insert_select"]["seconds"] for ld in loads])
        cp = stats([ld["copy"]["seconds"] for ld in loads])
        lrows = loads[-1]["rows"]
        limit = per_s(lrows, ins["median"])
        entry["load_limit"] = {
            "rows": lrows,
            "insert_select": {"seconds": ins, "rows_per_s": limit,
                              "by_table": loads[-1]["insert_select"]["by_table"]},
            "copy": {"seconds": cp, "rows_per_s": per_s(lrows, cp["median"]),
                     "by_table": loads[-1]["copy"]["by_table"]},
        }
        entry["ratio"] = {
            "wall": round(entry["seed_sql"]["rows_per_s"] / limit, 3) if limit else None,
            "in_process": round(entry["seed_sql"]["rows_per_s_in_process"] / limit, 3) if limit else None,
            "statements": round(entry["seed_sql"]["rows_per_s_statements"] / limit, 3) if limit else None,
            "target": TARGETS["ratio"],
        }
    cycle = None
    if satisfied:
        cycle = {
            "scale": scale,
            "repeat": repeat,
            "first_run": {"seconds": wall, "in_process_seconds": inproc, "rows": rows,
                          "cpu_seconds": stats([f["cpu"] for f in firsts]),
                          "target_seconds": TARGETS["first_run"]},
            "first_run_cold_cache": {"seconds": stats([c["wall"] for c in colds]),
                                     "in_process_seconds": stats([c["seconds"] for c in colds]),
                                     "cpu_seconds": stats([c["cpu"] for c in colds]), "rows": colds[-1]["rows"],
                                     "target_seconds": TARGETS["first_run"]},
            "satisfied_rerun": {"seconds": stats([s["wall"] for s in satisfied]),
                                "in_process_seconds": stats([s["seconds"] for s in satisfied]),
                                "cpu_seconds": stats([s["cpu"] for s in satisfied]),
                                "rows": 0, "target_seconds": TARGETS["satisfied_rerun"]},
            "top_up": top_up_entry(topups),
            "top_up_users_kept": top_up_entry(topups_keep),
        }
    entry["_runs"] = firsts  # per-enricher data; removed before writing JSON
    return entry, ([cycle] if cycle else [])


def failed_scale(scale: int, run_index: int, repeat: int, exc: SeedRunFailed, done: list[dict]) -> dict:
    """A first run that failed (a statement timeout, an error): where it was, and what had finished."""
    statements, enricher_seconds = parse_progress(exc.progress)
    progress_lines = [ln for ln in exc.progress.splitlines() if ln.strip()]
    running = None
    if statements:  # the statement after the last finished one was running
        running = f"after {statements[-1]['enricher']}: \"{statements[-1]['table']}\" {statements[-1]['note']}"
    return {
        "scale": scale,
        "repeat": repeat,
        "failed": {"run": run_index + 1, "error": exc.summary, "seconds": round(exc.wall or 0, 1),
                   "finished_enrichers": enricher_seconds,
                   "finished_statements": statements,
                   "rows_before_failure": sum(st["rows"] for st in statements),
                   "running": running,
                   "last_lines": progress_lines[-8:]},
        "completed_runs": len(done),
    }


def enricher_report(entry: dict, server: Server, args, workdir: Path) -> dict:
    runs = entry["_runs"]
    names = list(runs[-1]["rows_by_enricher"])
    items = []
    slowest_index: dict[str, int] = {}
    for name in names:
        secs = [r["enricher_seconds"].get(name, 0.0) for r in runs]
        per_statement = []
        for r in runs:
            per_statement.append([s for s in r["statements"] if s["enricher"] == name])
        n_st = min(len(p) for p in per_statement) if per_statement else 0
        st_items = []
        for i in range(n_st):
            st = per_statement[-1][i]
            st_items.append({"table": st["table"], "note": st["note"], "rows": st["rows"],
                             "seconds": stats([p[i]["seconds"] for p in per_statement])})
        if st_items:
            slowest_index[name] = max(range(len(st_items)), key=lambda i: st_items[i]["seconds"]["median"])
        items.append({"enricher": name, "rows": runs[-1]["rows_by_enricher"].get(name, 0),
                      "seconds": stats(secs), "statements": st_items})
    enricher_total = sum(i["seconds"]["median"] or 0 for i in items)
    result = {
        "scale": entry["scale"],
        "items": items,
        "enrichers_seconds": round(enricher_total, 4),
        "other_in_process_seconds": round((entry["seed_sql"]["in_process_seconds"]["median"] or 0) - enricher_total, 4),
        "outside_transaction_seconds": round((entry["seed_sql"]["wall_seconds"]["median"] or 0)
                                             - (entry["seed_sql"]["in_process_seconds"]["median"] or 0), 4),
    }
    if not args.no_explain and slowest_index:
        log(f"  EXPLAIN (ANALYZE, BUFFERS) of each enricher's slowest statement at scale {entry['scale']} "
            "(rolled-back replay of seed-sql render) ...")
        try:
            hint = {(st["enricher"], i): st["rows"] for name in slowest_index
                    for i, st in enumerate([x for x in runs[-1]["statements"] if x["enricher"] == name])}
            plans = explain_slowest(server, entry["scale"], slowest_index, workdir, rows_hint=hint)
        except (psycopg.Error, ValueError, OSError) as exc:
            plans = {"error": str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)}
        if "error" in plans and isinstance(plans["error"], str):
            result["explain_error"] = plans["error"]
            plans = {}
        checks = sorted(plans.pop("_checks", []), key=lambda c: -c["seconds"])
        result["checks"] = {"seconds": round(sum(c["seconds"] for c in checks), 4), "items": checks}
        for item in items:
            idx = slowest_index.get(item["enricher"])
            if idx is None:
                continue
            slow = dict(item["statements"][idx])
            slow["index"] = idx
            slow["plan"] = plans.get(item["enricher"])
            item["slowest_statement"] = slow
    return result


# ---------------------------------------------------------------------------
# output


def print_report(report: dict) -> None:
    from tabulate import tabulate

    m, pg = report["machine"], report["postgres"]
    print(f"seed-sql benchmark  {report['timestamp']}  commit {report['git']['commit']}")
    if report["git"]["uncommitted_engine_files"]:
        print(f"  uncommitted engine files measured too: {', '.join(report['git']['uncommitted_engine_files'])}")
    code = "a copy of seeder/, templates/, sql/ taken at the start" if report["code"]["snapshot"] else "the live tree"
    print(f"code measured: {code}; enrichers: {', '.join(report.get('enrichers_measured', []))}")
    print(f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_mb']} MB RAM, {m['platform']}, Python {m['python']}; "
          f"load average {m['load_average'][0]} at start, {m.get('load_average_end', ['?'])[0]} at end")
    print(f"PostgreSQL: {pg['version']}")
    print(f"  shared_buffers={pg['shared_buffers']} synchronous_commit={pg['synchronous_commit']} "
          f"fsync={pg['fsync']} wal_level={pg['wal_level']} max_wal_size={pg['max_wal_size']}")
    print()
    for cycle in report["scale1"]:
        print(f"Scale {cycle['scale']}: whole seed-sql processes, wall seconds, median (min–max) of {cycle['repeat']}")
        rows = []
        for key, label in (("first_run", "first run, empty database"),
                           ("first_run_cold_cache", "  same, empty seed-sql cache"),
                           ("satisfied_rerun", "satisfied re-run"),
                           ("top_up", "top-up after deleting 10%"),
                           ("top_up_users_kept", "  same, User rows kept")):
            c = cycle[key]
            # the targets are for scale 1 (requirements section 7); larger scales show the trend only
            target = f"≤ {c['target_seconds']}" if cycle["scale"] == 1 else "-"
            if c["seconds"]["median"] is None:  # every run of this case failed
                rows.append([label, "-", f"FAILED {fmt_s(c.get('failed_seconds'))}", "-",
                             fmt_s(c.get("failed_cpu_seconds")), target, "FAILED"])
                continue
            ok = "-" if cycle["scale"] != 1 else "yes" if c["seconds"]["median"] <= c["target_seconds"] else "NO"
            rows.append([label, c["rows"], fmt_s(c["seconds"]), fmt_s(c["in_process_seconds"]),
                         fmt_s(c["cpu_seconds"]), target, ok])
        print(tabulate(rows, headers=["case", "rows", "wall s", "in-process s", "Python CPU s", "target", "met"]))
        first, top = cycle["first_run"]["seconds"]["median"], cycle["top_up"]["seconds"]["median"]
        if first and top is not None:
            print(f"  top-up ÷ first run: {top / first:.2f} (it restores about a tenth of the rows; well above 1 "
                  f"means its work grows faster than the data)")
        for key in ("top_up", "top_up_users_kept"):
            d = cycle[key]["deleted"]
            kept = f", {', '.join(d['kept'])} kept" if d["kept"] else ""
            print(f"  deleted before the {key.replace('_', ' ')} ({d['mode']}{kept}): "
                  f"{d['deleted']} of {d['rows_before']} rows")
            if cycle[key].get("failed"):
                print(f"    FAILED in {cycle[key]['failed']} of {cycle['repeat']} runs (seed-sql rolled back): "
                      f"{cycle[key]['error']}")
        print()
    floor = report.get("startup_floor")
    if floor and report["scale1"]:
        print(f"Startup floor (not seed-sql's work; inside every wall time above): python + import typer, psycopg "
              f"{fmt_s(floor['imports'])} s; + connect and SELECT 1 {fmt_s(floor['imports_connect_select1'])} s")
        print()
    print("Throughput: rows created by a first run vs the load limit (same rows, same indexes and FKs)")
    rows = []
    for e in report["scales"]:
        s = e["seed_sql"]
        ll = e.get("load_limit")
        rows.append([
            e["scale"], e["repeat"], e["rows"], fmt_s(s["wall_seconds"]), f"{s['rows_per_s']:.0f}",
            fmt_s(ll["insert_select"]["seconds"]) if ll else "-",
            f"{ll['insert_select']['rows_per_s']:.0f}" if ll else "-",
            f"{e['ratio']['wall']:.2f} / {e['ratio']['statements']:.2f}" if ll else "-",
            f"{ll['copy']['rows_per_s']:.0f}" if ll else "-",
            f"{s['peak_rss_mb']['max']:.0f}",
        ])
    print(tabulate(rows, headers=["scale", "n", "rows", "seed-sql wall s", "rows/s", "INSERT…SELECT s",
                                  "limit rows/s", "ratio wall / stmts", "COPY rows/s", "peak RSS MB"]))
    for f in report.get("failed_scales", []):
        fl = f["failed"]
        print(f"  scale {f['scale']}: FAILED in run {fl['run']} after {fl['seconds']} s: {fl['error']}")
        print(f"    {fl['rows_before_failure']} rows were inserted (then rolled back); the statement running was the one "
              f"{fl['running'] or 'before any finished'}")
        done = ", ".join(f"{k} {v:.1f} s" for k, v in fl["finished_enrichers"].items())
        print(f"    finished enrichers: {done or '-'}")
        for name, plan in (fl.get("running_plan") or {}).items():
            if not isinstance(plan, dict):
                print(f"    plan unavailable: {plan}")
                continue
            print(f"    EXPLAIN of the unfinished statement ({name}, \"{plan['table']}\"; estimates only):")
            for line in plan["text"]:
                print(f"      {line}")
    print(f"  ratio target ≥ {TARGETS['ratio']} (wall: whole process; stmts: only seed-sql's fill statements); "
          f"RSS target < {TARGETS['rss_mb']} MB")
    print()
    enr = report.get("enrichers")
    if enr:
        print(f"Per enricher at scale {enr['scale']} (median seconds; slowest statement)")
        rows = []
        for it in sorted(enr["items"], key=lambda i: -(i["seconds"]["median"] or 0)):
            slow = it.get("slowest_statement")
            rows.append([it["enricher"], it["rows"], f"{it['seconds']['median']:.3f}",
                         f'"{slow["table"]}" {slow["note"][:60]}' if slow else "-",
                         f"{slow['seconds']['median']:.3f}" if slow else "-"])
        print(tabulate(rows, headers=["enricher", "rows", "seconds", "slowest statement", "its s"]))
        print(f"  other time inside the run (connect, pools, checks before/after, commit): "
              f"{enr['other_in_process_seconds']:.3f} s; outside it (Python start, imports, render): "
              f"{enr['outside_transaction_seconds']:.3f} s")
        if enr.get("explain_error"):
            print(f"  plans unavailable: {enr['explain_error']}")
        checks = enr.get("checks")
        if checks and checks["items"]:
            print(f"  requirement checks on the filled tables (the run does them before and after filling): "
                  f"{checks['seconds']:.3f} s in all; slowest: " + ", ".join(
                      f"{c['requirement']} {c['seconds']:.3f} s" for c in checks["items"][:5]))
        largest = next((e for e in report["scales"] if e["scale"] == enr["scale"]), None)
        if largest and largest.get("load_limit"):
            print()
            print(f"Per table at scale {enr['scale']}: seed-sql statement seconds vs INSERT…SELECT of the same rows")
            seed_by_table: dict[str, float] = {}
            for it in enr["items"]:
                for st in it["statements"]:
                    seed_by_table[st["table"]] = seed_by_table.get(st["table"], 0) + (st["seconds"]["median"] or 0)
            lim = largest["load_limit"]["insert_select"]["by_table"]
            counts = largest["load_limit"].get("rows_by_table") or {}
            trows = sorted(seed_by_table.items(), key=lambda kv: -kv[1])
            print(tabulate([[t, largest["rows_by_table"].get(t, 0), f"{s:.3f}", f"{lim.get(t, 0):.3f}",
                             f"{s / lim[t]:.1f}x" if lim.get(t) else "-"] for t, s in trows],
                           headers=["table", "rows", "seed-sql s", "INSERT…SELECT s", "slower by"]))
        for it in sorted(enr["items"], key=lambda i: -(i["seconds"]["median"] or 0)):
            slow = it.get("slowest_statement") or {}
            plan = slow.get("plan")
            if not plan:
                continue
            print()
            print(f"Plan of {it['enricher']}'s slowest statement (\"{slow['table']}\" {slow['note']}):")
            if plan.get("error"):
                print(f"  {plan['error']}")
                continue
            for line in plan["top"][:14]:
                print(f"  {line}")
            if plan["lines"] > 14:
                print(f"  ... ({plan['lines'] - 14} more lines in the JSON)")
            for line in plan["triggers"] + plan["timing"]:
                print(f"  {line}")
        slow_check = next((c for c in (enr.get("checks") or {}).get("items", []) if c.get("plan")), None)
        if slow_check:
            print()
            print(f"Plan of the slowest requirement check ({slow_check['requirement']}, {slow_check['enricher']}):")
            for line in slow_check["plan"]["top"][:14] + slow_check["plan"]["timing"]:
                print(f"  {line}")


# ---------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Benchmark whole seed-sql processes (requirements section 7).")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                   help="admin URL of the PostgreSQL server; scratch databases are created there")
    p.add_argument("--scales", default="1,100",
                   help="comma-separated scales (default 1,100; 1000 takes several minutes)")
    p.add_argument("--repeat", default="5",
                   help="runs per scale: one number (scale 1 uses it; larger scales at most 3 up to scale 100, "
                        "else 1) or one per scale, e.g. 5,3,1 (default 5)")
    p.add_argument("--json", type=Path, help="write the full results here")
    p.add_argument("--quick", action="store_true", help="scale 1, one repeat: checks that the harness works")
    p.add_argument("--delete-mode", choices=["cascade", "replica"], default="cascade",
                   help="how the 10%% of rows are deleted before the top-up (default cascade)")
    p.add_argument("--cycle-all", action="store_true",
                   help="also measure the satisfied re-run and top-up at scales above 100 (scales up to 100 "
                        "always get them)")
    p.add_argument("--no-load-limit", action="store_true", help="skip the INSERT ... SELECT / COPY load limit")
    p.add_argument("--no-explain", action="store_true", help="skip the EXPLAIN replay at the largest scale")
    p.add_argument("--timeout", type=float, default=3600.0, help="kill a seed-sql process after this many seconds")
    p.add_argument("--statement-timeout",
                   help="SEED_STATEMENT_TIMEOUT of the runs, e.g. 60min (default: seed-sql's own, 15min)")
    p.add_argument("--no-snapshot", action="store_true",
                   help="run the live tree instead of a copy of seeder/, templates/, sql/ taken at the start")
    p.add_argument("--no-checkpoint", action="store_true",
                   help="no CHECKPOINT before each timed phase (always off with --quick)")
    p.add_argument("--quiet", action="store_true", help="do not echo seed-sql's progress at large scales")
    args = p.parse_args(argv)
    if not args.database_url:
        p.error("--database-url (or DATABASE_URL) is required")
    if args.quick:
        args.scales, args.repeat = "1", "1"
    args.scale_list = sorted({int(s) for s in args.scales.split(",") if s.strip()})
    if not args.scale_list or min(args.scale_list) < 1:
        p.error("--scales: positive integers")
    return args


def _terminate(signum, frame):
    raise KeyboardInterrupt  # SIGTERM: clean up the scratch databases like Ctrl-C does


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    if not SEED_SQL.exists():
        log(f"error: {SEED_SQL} not found; install the package into this Python (pip install -e .)")
        return 2
    server = Server(args.database_url)
    server.checkpoints = not (args.quick or args.no_checkpoint)
    CODE.statement_timeout = args.statement_timeout
    report = {
        "harness": "benchmarks/run.py",
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git": git_info(),
        "machine": machine_info(),
        "postgres": postgres_info(args.database_url),
        "scratch_prefix": f"bench_{server.tag}_",
        "code": {"snapshot": False},
        "options": {"scales": args.scale_list, "repeat": args.repeat, "now": NOW, "seed": SEED,
                    "delete_mode": args.delete_mode, "quick": args.quick},
        "targets": TARGETS,
        "scale1": [],
        "scales": [],
        "failed_scales": [],
    }
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="seedsql_bench_"))
    try:
        if not args.no_snapshot:
            report["code"] = take_snapshot(workdir)
        CODE.cache = workdir / "cache"
        server.setup()
        warm = server.fresh("warmup")
        try:
            log("warm-up run (untimed): fills the harness's seed-sql cache")
            CODE.statement_timeout = None  # the warm-up runs with seed-sql's own settings
            warmup = seed_process(warm, 1, workdir=workdir, timeout=args.timeout)
            CODE.statement_timeout = args.statement_timeout
            report["enrichers_measured"] = list(warmup["rows_by_enricher"])
            report["startup_floor"] = startup_floor(warm, workdir)
        finally:
            server.drop(warm)
        for scale in args.scale_list:
            repeat = repeats_for(scale, args.repeat, args.scale_list)
            log(f"scale {scale}: {repeat} run(s)")
            entry, cycles = run_scale(server, scale, repeat, args, workdir)
            report["scale1"] += cycles
            if "failed" in entry:
                report["failed_scales"].append(entry)
                log(f"scale {scale} failed; larger scales skipped")
                break
            report["scales"].append(entry)
        if report["scales"]:
            largest = report["scales"][-1]
            report["enrichers"] = enricher_report(largest, server, args, workdir)
        for failed in report["failed_scales"]:
            if args.no_explain:
                break
            n = len(failed["failed"]["finished_statements"])
            log(f"  EXPLAIN of the statement that did not finish at scale {failed['scale']} "
                f"(replay of the {n} statements before it) ...")
            try:
                plans = explain_slowest(server, failed["scale"], {}, workdir, stop_at=n)
            except (psycopg.Error, ValueError, OSError) as exc:
                plans = {"error": str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)}
            plans.pop("_checks", None)
            failed["failed"]["running_plan"] = plans
    except SeedRunFailed as exc:
        log(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        server.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)
        for entry in report["scales"]:
            entry.pop("_runs", None)
    report["harness_seconds"] = round(time.perf_counter() - started, 1)
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print_report(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
