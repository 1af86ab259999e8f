"""Performs the 'Your own enrichers' walkthrough of the system documentation, from its own code blocks."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from helpers import NOW, cli, execute, query

DOC = Path(__file__).resolve().parent.parent / "docs" / "SEEDING_SYSTEM_DOCUMENTATION.md"
BLOCK = re.compile(r"^```\w+ walkthrough:(\w+)(?: (\S+))?\n(.*?)^```", re.M | re.S)


def blocks() -> dict[str, tuple[str | None, str]]:
    found = {kind: (path, body) for kind, path, body in BLOCK.findall(DOC.read_text(encoding="utf-8"))}
    assert set(found) == {"table", "template", "config", "commands"}, "walkthrough blocks missing from the doc"
    return found


def test_walkthrough_adds_an_enricher_for_a_new_table(schema_db, tmp_path, monkeypatch):
    steps = blocks()
    execute(schema_db, steps["table"][1])
    for kind in ("template", "config"):
        path, body = steps[kind]
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(body)
    monkeypatch.chdir(tmp_path)

    outputs = []
    for line in steps["commands"][1].strip().splitlines():
        argv = shlex.split(line)
        assert argv[0] == "seed-sql"
        extra = ["--now", NOW] if argv[1] in ("run", "verify") else []
        result = cli(*argv[1:], *extra, url=schema_db)
        assert result.exit_code == 0, result.stdout + result.stderr
        outputs.append(result.stdout)

    per_client = query(schema_db, """SELECT min(n), max(n), count(*) FROM (
        SELECT count(j."id") AS n FROM "Client" c LEFT JOIN "JournalEntry" j ON j."clientId" = c."userId"
        GROUP BY c."userId") t""")[0]
    assert per_client[0] == per_client[1] == 4 and per_client[2] > 0
    assert "journal" in outputs[0] and "client_journal_entries" in outputs[0]
    assert outputs[-1].strip().splitlines()[-1].startswith("Already satisfied")

    # Idempotent and gap-filling like a built-in: a deleted middle entry comes back with its id.
    gone = query(schema_db, 'SELECT "id", "clientId" FROM "JournalEntry" ORDER BY "id" OFFSET 10 LIMIT 1')[0]
    execute(schema_db, 'DELETE FROM "JournalEntry" WHERE "id" = %s', (gone[0],))
    assert cli("run", "--now", NOW, url=schema_db).exit_code == 0
    assert query(schema_db, 'SELECT "clientId" FROM "JournalEntry" WHERE "id" = %s', (gone[0],)) == [(gone[1],)]


def test_walkthrough_enricher_is_listed_after_its_dependency(tmp_path, monkeypatch):
    steps = blocks()
    for kind in ("template", "config"):
        path, body = steps[kind]
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(body)
    monkeypatch.chdir(tmp_path)
    out = cli("list").stdout
    assert out.index("accounts") < out.index("journal")
    assert "client_journal_entries >= 4" in out
