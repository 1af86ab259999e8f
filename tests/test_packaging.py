"""A regular `pip install` of the built wheel finds its templates and SQL (not only an editable install)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import NOW

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(REPO)],
                   check=True, capture_output=True)
    wheel = next(work.glob("seed_sql-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True, capture_output=True)
    return venv / "bin" / "seed-sql"


def _run(exe: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_wheel_install_lists_enrichers_from_its_own_package(installed, tmp_path):
    result = _run(installed, "list", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = [e["name"] for e in json.loads(result.stdout)]
    assert "accounts" in names and "communities" in names
    site = subprocess.run([str(installed.parent / "python"), "-c", "import seeder, pathlib; "
                           "print(pathlib.Path(seeder.__file__).parent)"], capture_output=True, text=True, cwd=tmp_path)
    pkg = Path(site.stdout.strip())
    assert (pkg / "templates" / "accounts.sql.j2").is_file() and (pkg / "sql" / "schema.sql").is_file()


def test_wheel_install_runs_against_a_database(installed, schema_db, tmp_path):
    result = _run(installed, "run", "--now", NOW, "--database-url", schema_db, "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["outcome"] == "first-run"
