"""Header parsing, dependency order, rendering and quoting: no database needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from seeder import headers, plan
from seeder.errors import ConfigError, DependencyError, TemplateError, TemplateHeaderError
from seeder.render import Renderer
from seeder.sqltext import Sql, finalize, identifier, literal


def write(dir_: Path, name: str, text: str) -> Path:
    path = dir_ / f"{name}.sql.j2"
    path.write_text(text)
    return path


def enricher(tmp_path, name, depends="", tier=1, body="", reqs=("",)):
    req_lines = "".join(f"-- requirement: {r}\n" for r in reqs if r)
    return headers.parse_enricher(write(
        tmp_path, name,
        f"-- name: {name}\n-- tier: {tier}\n-- depends: {depends}\n-- tables: T\n{req_lines}{body}",
    ))


def test_unknown_header_key_names_file_and_line(tmp_path):
    path = write(tmp_path, "x", "-- name: x\n-- tier: 1\n-- tabels: T\n")
    with pytest.raises(TemplateHeaderError) as err:
        headers.parse_enricher(path)
    assert f"{path}:3" in str(err.value) and "tabels" in str(err.value)


def test_header_continuation_lines_join_the_previous_key(tmp_path):
    e = headers.parse_enricher(write(
        tmp_path, "x", "-- name: x\n-- tier: 2\n-- tables: A, B\n-- summary: first part\n--   second part\n"
                       "-- requirement: x_min = 4: every x has N\n-- requirement: x_rule: a rule\nSELECT 1\n"))
    assert (e.tier, e.tables, e.summary) == (2, ["A", "B"], "first part second part")
    assert [(r.name, r.default) for r in e.requirements] == [("x_min", 4), ("x_rule", None)]


def test_missing_required_header_key_is_an_error(tmp_path):
    with pytest.raises(TemplateHeaderError, match="'tables' is missing"):
        headers.parse_enricher(write(tmp_path, "x", "-- name: x\n-- tier: 1\n"))


def test_order_follows_dependencies_then_tier_and_name(tmp_path):
    es = {e.name: e for e in [enricher(tmp_path, "b", "a"), enricher(tmp_path, "a"), enricher(tmp_path, "c", tier=0)]}
    assert [e.name for e in plan.order(es)] == ["c", "a", "b"]


def test_dependency_cycle_names_the_enrichers(tmp_path):
    es = {e.name: e for e in [enricher(tmp_path, "a", "b"), enricher(tmp_path, "b", "a")]}
    with pytest.raises(DependencyError) as err:
        plan.order(es)
    assert "cycle" in str(err.value) and "a" in str(err.value) and "b" in str(err.value)


def test_unknown_dependency_names_both(tmp_path):
    es = {"a": enricher(tmp_path, "a", "ghost")}
    with pytest.raises(DependencyError, match="a depends on unknown enricher 'ghost'"):
        plan.order(es)


def test_only_selects_closure_of_dependencies(tmp_path):
    es = {e.name: e for e in [enricher(tmp_path, "a"), enricher(tmp_path, "b", "a"), enricher(tmp_path, "c")]}
    assert plan.closure(es, ["b"]) == {"a", "b"}
    with pytest.raises(ConfigError, match="unknown enricher 'zzz'"):
        plan.closure(es, ["zzz"])


@pytest.mark.parametrize("raw", ["-1", "x", "1.5", True])
def test_invalid_minimum_is_rejected(tmp_path, raw):
    es = {"a": enricher(tmp_path, "a", reqs=("a_min = 3: n",))}
    with pytest.raises(ConfigError, match="a_min"):
        plan.minimums(es, {"a_min": raw})


def test_unknown_set_key_lists_valid_ones(tmp_path):
    es = {"a": enricher(tmp_path, "a", reqs=("a_min = 3: n",))}
    with pytest.raises(ConfigError, match="unknown requirement 'nope'; valid: a_min"):
        plan.minimums(es, {"nope": 1})
    assert plan.minimums(es, {"a_min": "7"}) == {"a_min": 7}


def test_literal_quotes_every_odd_text():
    odd = "it's a \\ back$$slash; 100% \n new line – ünïcode"
    assert literal(odd) == "'" + odd.replace("'", "''") + "'"
    assert identifier('we"ird') == '"we""ird"'
    assert literal(None) == "NULL" and literal(True) == "TRUE" and literal(3) == "3"


def test_rendered_statement_keeps_its_semicolon_after_a_trailing_comment():
    from seeder.script_text import terminated

    assert terminated("SELECT 1") == "SELECT 1;"
    # a `--` comment on the last line would swallow a semicolon appended to it
    assert terminated("INSERT INTO t SELECT 1\n-- no ON CONFLICT: why") == "INSERT INTO t SELECT 1\n-- no ON CONFLICT: why\n;"
    assert terminated("-- note\nSELECT 1") == "-- note\nSELECT 1;"


def test_finalize_refuses_raw_strings():
    with pytest.raises(TypeError, match="raw value"):
        finalize("DROP TABLE x")
    assert finalize(Sql("x")) == "x" and finalize(5) == "5"


def test_render_uses_strict_undefined_and_records_statements(tmp_path):
    body = '{% call fill("T", "n") %}INSERT INTO "T" ("a") SELECT {{ min.x_min }}{% endcall %}\n' \
           '{% call check("x_min") %}SELECT 1 AS entity WHERE false{% endcall %}\n'
    e = enricher(tmp_path, "x", body=body, reqs=("x_min = 2: n",))
    out = Renderer([tmp_path]).render(e, {"min": {"x_min": 2}, "seed": 0, "pool_size": {}})
    assert [s.sql for s in out.statements] == ['INSERT INTO "T" ("a") SELECT 2']
    with pytest.raises(TemplateError, match="x_min"):
        Renderer([tmp_path]).render(e, {"min": {}, "seed": 0, "pool_size": {}})


def test_requirement_without_check_is_an_error(tmp_path):
    e = enricher(tmp_path, "x", body='{% call fill("T") %}SELECT 1{% endcall %}\n', reqs=("x_min = 2: n",))
    with pytest.raises(TemplateError, match="has no check block"):
        Renderer([tmp_path]).render(e, {"min": {"x_min": 2}, "seed": 0, "pool_size": {}})


def test_fill_of_undeclared_table_is_an_error(tmp_path):
    e = enricher(tmp_path, "x", body='{% call fill("Other") %}SELECT 1{% endcall %}\n')
    with pytest.raises(TemplateError, match='"Other", which is not in its tables header'):
        Renderer([tmp_path]).render(e, {"min": {}, "seed": 0, "pool_size": {}})


def test_builtin_templates_parse_and_have_unique_requirements():
    from seeder import resources

    found = headers.discover([], resources.templates_dir())
    names = [r.name for e in found.values() for r in e.requirements]
    assert len(names) == len(set(names))
    assert {"accounts", "communities"} <= set(found)


def test_user_template_overrides_builtin_by_name(tmp_path):
    from seeder import resources

    write(tmp_path, "my_rooms", "-- name: communities\n-- tier: 0\n-- tables: Community\n")
    found = headers.discover([tmp_path], resources.templates_dir())
    assert found["communities"].path.parent == tmp_path and not found["communities"].builtin
    assert found["accounts"].builtin


def test_same_file_name_in_two_directories_renders_each_own(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    ea = headers.parse_enricher(write(a, "x", '-- name: xa\n-- tier: 1\n-- tables: T\n{% call fill("T") %}SELECT 1{% endcall %}\n'))
    eb = headers.parse_enricher(write(b, "x", '-- name: xb\n-- tier: 1\n-- tables: T\n{% call fill("T") %}SELECT 2{% endcall %}\n'))
    renderer = Renderer([a, b])
    ctx = {"min": {}, "seed": 0, "pool_size": {}}
    assert renderer.render(ea, ctx).statements[0].sql == "SELECT 1"
    assert renderer.render(eb, ctx).statements[0].sql == "SELECT 2"
