"""Bad input gets a clear error and changes nothing (requirements.md section 6, issue #4 items 5-7).

Every case: exit code 2, exactly one stderr line ("seed-sql: error: ...") saying what is wrong and what
is valid, no Python traceback (unless --verbose), and nothing written to the database.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import psycopg
import pytest

from helpers import NOW, cli, counts, query

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "Sekret-123"
# Environment variables a developer's shell may hold that would change the outcome; unset for each call.
QUIET_ENV = {v: None for v in ("APP_ENV", "NODE_ENV", "SEED_ENV", "SEED_VERBOSE", "SEED_SCALE", "SEED_SEED",
                               "SEED_NOW", "SEED_LOCK_TIMEOUT", "SEED_STATEMENT_TIMEOUT", "SEED_AUDIT_ONLY",
                               "SEED_FORCE", "PGHOST", "PGHOSTADDR", "PGPORT", "PGSERVICE")}
# "what is valid": the messages say it with one of these words.
VALID = re.compile(r"\bvalid\b|\bmust\b|\buse\b|\bexpected\b|e\.g\.|\bonly\b|--[a-z-]+=?")


def run(*args: str, url: str | None = None, env: dict | None = None):
    return cli("run", "--now", NOW, *args, url=url, env={**QUIET_ENV, **(env or {})})


def one_line(result, code: int = 2) -> str:
    """The single error line of a failed command."""
    assert result.exit_code == code, f"exit {result.exit_code}:\n{result.stdout}\n{result.stderr}"
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    assert lines[0].startswith("seed-sql: error: "), lines[0]
    return lines[0]


def untouched(url: str) -> None:
    assert sum(counts(url).values()) == 0, counts(url)
    assert query(url, """SELECT to_regclass('"User"') IS NOT NULL""")[0][0], 'table "User" is gone'


@pytest.fixture(scope="module")
def shared_db(server_url, _templates):
    """One schema database for the whole module: every case here must leave it empty and intact."""
    import conftest

    name, url = conftest._fresh(server_url, _templates["plain"])
    yield url
    conftest._drop_db(server_url, name)


@pytest.fixture
def no_connections(monkeypatch):
    """Records every attempt to open a PostgreSQL connection; none leaves the process."""
    calls: list[tuple] = []

    def refuse(*args, **kwargs):
        calls.append((args, kwargs))
        raise psycopg.OperationalError("test: connections are not allowed here")

    monkeypatch.setattr(psycopg, "connect", refuse)
    monkeypatch.setattr(psycopg.Connection, "connect", classmethod(lambda cls, *a, **k: refuse(*a, **k)))
    return calls


# ----------------------------------------------------------------------------------------------
# the database URL


def test_unreachable_server_is_one_line_and_quick():
    started = time.monotonic()
    line = one_line(run(url="postgresql://postgres@127.0.0.1:1/x"))
    assert time.monotonic() - started < 10
    assert "cannot connect" in line and "127.0.0.1:1" in line


@pytest.mark.parametrize("verbose", [False, True])
def test_login_refused_by_the_server_is_one_line_without_the_password(server_url, verbose):
    """The local server trusts every password, so a role that does not exist stands in for a wrong one."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    info = conninfo_to_dict(server_url)
    url = (f"postgresql://seedsql_no_such_role:{PASSWORD}@{info.get('host') or 'localhost'}:"
           f"{info.get('port') or 5432}/{info.get('dbname')}")
    assert make_conninfo(url)  # well-formed
    result = run(*(["--verbose"] if verbose else []), url=url)
    assert result.exit_code == 2
    assert PASSWORD not in result.stdout + result.stderr
    if not verbose:
        line = one_line(result)
        assert "cannot connect" in line and "seedsql_no_such_role" in line, line


@pytest.mark.parametrize("url, says", [
    ("notaurl", "postgresql://"),
    ("mysql://root@localhost/x", "postgresql://"),
    ("postgresql://postgres@[::1/x", "postgresql://"),
    ("postgresql://%zz@localhost/x", "postgresql://"),
    ("postgresql://postgres@127.0.0.1:notaport/x", "port"),
])
def test_malformed_url_says_what_is_wrong_and_the_valid_form(url, says):
    line = one_line(run(url=url))
    assert says in line, line
    assert "URL" in line or "port" in line, line


def test_masking_does_not_garble_the_hint_of_a_url_without_password():
    line = one_line(run(url="notaurl"))
    assert "***" not in line, line


@pytest.mark.parametrize("url", [
    f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/x",
    "postgresql://postgres:Sekret%2D123@127.0.0.1:1/x",
    f"postgresql://postgres:{PASSWORD}@127.0.0.1:notaport/x",
    f"postgresql://postgres:{PASSWORD}@[::1/x",
    f"host=127.0.0.1 port=1 user=postgres password={PASSWORD} dbname=x",
    f"host=127.0.0.1 port=1 user=postgres password='{PASSWORD}' dbname=x",
    f"postgresql://postgres:{PASSWORD}@db.example.com/x",
])
@pytest.mark.parametrize("verbose", [False, True])
def test_password_is_never_printed(url, verbose):
    result = run(*(["--verbose"] if verbose else []), url=url)
    assert result.exit_code == 2
    shown = result.stdout + result.stderr
    assert PASSWORD not in shown and "Sekret%2D123" not in shown, shown
    if verbose:
        assert "Traceback" in result.stderr
    else:
        one_line(result)


def test_password_of_the_environment_url_is_never_printed():
    result = cli("run", "--now", NOW, "--verbose",
                 env={**QUIET_ENV, "DATABASE_URL": f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/x"})
    assert result.exit_code == 2
    assert PASSWORD not in result.stdout + result.stderr


# ----------------------------------------------------------------------------------------------
# options


BAD_OPTIONS = {
    "unknown --set key": (["--set", "no_such_requirement=3"], ["no_such_requirement", "community_members"]),
    "--set without =": (["--set", "community_members"], ["community_members", "requirement=N"]),
    "negative minimum": (["--set", "community_members=-1"], ["community_members", "-1", "non-negative integer"]),
    "fractional minimum": (["--set", "community_members=2.5"], ["community_members", "2.5", "integer"]),
    "word minimum": (["--set", "community_members=many"], ["community_members", "many", "integer"]),
    "empty minimum": (["--set", "community_members="], ["community_members", "integer"]),
    "unknown --only": (["--only", "no_such_enricher"], ["no_such_enricher", "memberships"]),
    "unknown --with": (["--with", "no_such_enricher"], ["no_such_enricher", "memberships"]),
    "unparsable --now": (["--now", "yesterday-ish"], ["yesterday-ish", "ISO 8601"]),
    "impossible --now": (["--now", "2026-02-30T10:00:00"], ["2026-02-30", "ISO 8601"]),
    "--scale 0": (["--scale", "0"], ["--scale", "positive integer", "0"]),
    "--scale negative": (["--scale=-3"], ["--scale", "positive integer", "-3"]),
    "--format unknown": (["--format", "xml"], ["xml", "text or json"]),
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_option_is_one_line_naming_it_and_what_is_valid(shared_db, case):
    args, fragments = BAD_OPTIONS[case]
    line = one_line(run(*args, url=shared_db))
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in: {line}"
    assert VALID.search(line.split(":", 2)[2]), f"does not say what is valid: {line}"
    untouched(shared_db)


def test_missing_templates_directory_is_named(shared_db):
    line = one_line(run("--templates", "/no/such/dir", url=shared_db))
    assert "/no/such/dir" in line and "does not exist" in line
    untouched(shared_db)


def test_set_of_a_rule_names_it_and_lists_the_settable_minimums(shared_db):
    line = one_line(run("--set", "role_rows=3", url=shared_db))
    assert "role_rows" in line and "rule" in line
    assert "community_members" in line, f"does not say which minimums are valid: {line}"
    untouched(shared_db)


@pytest.mark.parametrize("env, fragments", [
    ({"SEED_SCALE": "0"}, ["--scale", "positive integer"]),
    ({"SEED_SEED": "abc"}, ["--seed", "integer"]),
    ({"SEED_NOW": "not a time"}, ["not a time", "ISO 8601"]),
])
def test_bad_environment_value_is_one_line(shared_db, env, fragments):
    line = one_line(cli("run", url=shared_db, env={**QUIET_ENV, **env}))
    for fragment in fragments:
        assert fragment in line, line
    untouched(shared_db)


@pytest.mark.parametrize("args", [["--scale", "abc"], ["--seed", "x"]])
def test_non_integer_scale_or_seed_is_one_line(shared_db, args):
    line = one_line(run(*args, url=shared_db))
    assert args[0] in line
    untouched(shared_db)


def test_verbose_prints_the_traceback_and_still_exits_2(shared_db):
    for extra, env in [(["--verbose"], {}), ([], {"SEED_VERBOSE": "true"})]:
        result = run("--set", "no_such_requirement=3", *extra, url=shared_db, env=env)
        assert result.exit_code == 2
        assert "Traceback" in result.stderr and "ConfigError" in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("seed-sql: error: unknown requirement")
    untouched(shared_db)


# ----------------------------------------------------------------------------------------------
# seed.toml


def _config(tmp_path, content: bytes | str | None, name: str = "seed.toml") -> Path:
    path = tmp_path / name
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


BAD_TOML = {
    "a directory": (None, ["cannot read", "seed.toml"]),
    "invalid UTF-8": (b"scale = 2\n\xff\xfe = 1\n", ["seed.toml", "not valid TOML"]),
    "bad syntax": ("scale = = 3\n", ["seed.toml", "not valid TOML", "line 1"]),
    "unknown key": ("colour = 1\n", ["colour", "valid keys", "minimums"]),
    "unknown requirement": ("[minimums]\nno_such_requirement = 3\n", ["no_such_requirement", "valid"]),
    "scale of wrong type": ('scale = "ten"\n', ["scale", "ten", "positive integer"]),
    "scale of zero": ("scale = 0\n", ["scale", "positive integer"]),
    "seed of wrong type": ("seed = 1.5\n", ["seed", "1.5", "integer"]),
    "minimum of wrong type": ('[minimums]\ncommunity_members = "many"\n', ["community_members", "many", "integer"]),
    "minimum negative": ("[minimums]\ncommunity_members = -4\n", ["community_members", "-4", "non-negative"]),
    "minimum boolean": ("[minimums]\ncommunity_members = true\n", ["community_members", "non-negative"]),
    "minimums not a table": ("minimums = 3\n", ["[minimums]", "table"]),
    "with not a list": ('with = "payments"\n', ["with", "list of strings"]),
    "templates not a list": ("templates = 3\n", ["templates", "list of strings"]),
    "with unknown enricher": ('with = ["no_such_enricher"]\n', ["no_such_enricher", "valid"]),
}


@pytest.mark.parametrize("case", list(BAD_TOML))
def test_bad_seed_toml_is_one_line_naming_the_problem(shared_db, tmp_path, case):
    content, fragments = BAD_TOML[case]
    config = _config(tmp_path, content)
    line = one_line(run("--config", str(config), url=shared_db))
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in: {line}"
    untouched(shared_db)


@pytest.mark.parametrize("content", ['lock_timeout = "soon"\n', "statement_timeout = true\n"])
def test_bad_timeout_in_seed_toml_says_what_is_valid(shared_db, tmp_path, content):
    key = content.split()[0]
    line = one_line(run("--config", str(_config(tmp_path, content)), url=shared_db))
    assert key in line and "database failed" not in line, line
    assert VALID.search(line.split(":", 2)[2]), line
    untouched(shared_db)


def test_missing_explicit_config_file_is_an_error(schema_db, tmp_path):
    line = one_line(run("--config", str(tmp_path / "nope.toml"), url=schema_db))
    assert "nope.toml" in line
    untouched(schema_db)


# ----------------------------------------------------------------------------------------------
# a minimum that cannot be met

_MEMBERSHIPS = (REPO / "templates" / "memberships.sql.j2").read_text(encoding="utf-8")


@pytest.mark.xfail('{% call feasible("community_members") %}' not in _MEMBERSHIPS, strict=True,
                   reason="memberships has no feasibility block yet")
def test_minimum_that_cannot_be_met_is_reported_and_nothing_written(schema_db):
    line = one_line(run("--set", "community_members=100000", url=schema_db))
    assert "community_members" in line and "100000" in line and "cannot be met" in line
    assert "enricher memberships" in line and "--set community_members=" in line
    untouched(schema_db)


# ----------------------------------------------------------------------------------------------
# production guard


@pytest.mark.parametrize("var", ["APP_ENV", "NODE_ENV", "SEED_ENV"])
@pytest.mark.parametrize("value", ["production", "Production "])
def test_production_environment_is_refused_before_connecting(shared_db, no_connections, var, value):
    line = one_line(run(url=shared_db, env={var: value}))
    assert f"{var}=production" in line and "--allow-remote" in line, line
    assert no_connections == []


def test_allow_remote_overrides_the_production_environment(schema_db):
    result = run("--allow-remote", url=schema_db, env={"APP_ENV": "production"})
    assert result.exit_code == 0, result.stderr
    assert counts(schema_db)["User"] > 0


REMOTE = [
    "postgresql://postgres@db.example.com/x",
    f"postgresql://postgres:{PASSWORD}@db.example.com:5432/x",
    "postgresql://postgres@10.1.2.3/x",
    "host=db.example.com dbname=x",
    "postgresql:///x?host=db.example.com",
    "postgresql://postgres@localhost,db.example.com/x",
]


@pytest.mark.parametrize("url", REMOTE)
def test_non_local_host_is_refused_before_any_connection_attempt(no_connections, url):
    line = one_line(run(url=url))
    assert "non-local host" in line and "--allow-remote" in line, line
    assert PASSWORD not in line
    assert no_connections == []


@pytest.mark.parametrize("command", ["audit", "verify", "render"])
def test_every_command_refuses_a_non_local_host(no_connections, command):
    result = cli(command, "--now", NOW, url="postgresql://postgres@db.example.com/x", env=QUIET_ENV)
    line = one_line(result)
    assert "non-local host" in line and "--allow-remote" in line
    assert no_connections == []


@pytest.mark.parametrize("url, env", [
    ("postgresql://postgres@localhost/x?hostaddr=10.1.2.3", {}),
    ("postgresql:///x", {"PGHOST": "db.example.com"}),
    ("postgresql://postgres@localhost/x", {"PGHOSTADDR": "10.1.2.3"}),
])
def test_non_local_target_hidden_from_the_host_field_is_refused(no_connections, url, env):
    result = run(url=url, env=env)
    assert no_connections == [], "seed-sql tried to connect to a non-local server"
    line = one_line(result)
    assert "--allow-remote" in line


def test_allow_remote_lets_a_non_local_host_through(no_connections):
    line = one_line(run("--allow-remote", url="postgresql://postgres@db.example.com/x"))
    assert len(no_connections) == 1 and "db.example.com" in str(no_connections[0])
    assert "cannot connect" in line


# ----------------------------------------------------------------------------------------------
# injection: values are checked or quoted, never spliced into SQL


@pytest.mark.parametrize("args", [
    ["--set", 'community_members=5; DROP TABLE "User"'],
    ["--set", "community_members=5' OR '1'='1"],
    ["--set", 'community_members; DROP TABLE "User"=5'],
    ["--now", "2026-01-01'; DROP TABLE \"User\"; --"],
    ["--only", 'memberships; DROP TABLE "User"'],
])
def test_injection_in_options_is_rejected(shared_db, args):
    one_line(run(*args, url=shared_db))
    untouched(shared_db)


@pytest.mark.parametrize("content", [
    '[minimums]\ncommunity_members = "5\'; DROP TABLE \\"User\\"; --"\n',
    'lock_timeout = "1s\'; DROP TABLE \\"User\\"; --"\n',
    'statement_timeout = "1min\'; DROP TABLE \\"User\\"; --"\n',
    'seed = "0; DROP TABLE \\"User\\""\n',
    'with = ["memberships\'; DROP TABLE \\"User\\"; --"]\n',
    "[minimums]\n\"community_members'; DROP TABLE x; --\" = 3\n",
])
def test_quotes_in_seed_toml_values_are_rejected(shared_db, tmp_path, content):
    one_line(run("--config", str(_config(tmp_path, content)), url=shared_db))
    untouched(shared_db)


@pytest.mark.parametrize("var", ["SEED_LOCK_TIMEOUT", "SEED_STATEMENT_TIMEOUT"])
def test_quotes_in_timeout_environment_are_rejected(shared_db, var):
    one_line(run(url=shared_db, env={var: "1s'; DROP TABLE \"User\"; --"}))
    untouched(shared_db)
