"""Generated docs are current; every command explains itself with an example."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import cli

REPO = Path(__file__).resolve().parent.parent
COMMANDS = ["run", "audit", "verify", "render", "reset", "list", "docs", "db url", "db stop"]


def test_generated_docs_are_current():
    result = cli("docs", "--check", "--docs-dir", str(REPO / "docs"))
    assert result.exit_code == 0, f"run `seed-sql docs` and commit: {result.stdout}"


def test_docs_check_detects_a_stale_reference(tmp_path):
    (tmp_path / "SEEDING_ENRICHER_REFERENCE.md").write_text("# stale\n")
    result = cli("docs", "--check", "--docs-dir", str(tmp_path))
    assert result.exit_code == 1 and "stale" in result.stdout


def test_top_level_help_explains_with_an_example():
    out = cli("--help").stdout
    assert "Example:" in out and "Fill a PostgreSQL database" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = cli(*command.split(), "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout, f"{command} --help has no example"
