"""Render enricher templates into statements and check queries.

A template's body is a sequence of call blocks:

    {% call fill("Membership", "clients in fewer than N communities") %} INSERT ... {% endcall %}
    {% call check("client_communities") %} SELECT ... AS entity ... {% endcall %}

`fill` records one statement (one gap class, one INSERT ... SELECT); `check`
records the query returning the entities that miss a requirement (column
`entity`, a readable label). Helpers `uuid`, `h`, `frac`, `pick`, `between`
turn a row key into deterministic values.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from . import cache
from .errors import TemplateError
from .headers import Enricher
from .rendered import Check, Feasibility, Rendered, Statement
from .sqltext import Sql, finalize, identifier, literal

# Masking the sign bit keeps hashes non-negative so `%` picks a valid index.
_POS = "9223372036854775807"


def _body(caller) -> str:
    return str(caller()).strip().rstrip(";").strip()


@jinja2.pass_context
def _fill(ctx, table: str, note: str = "", *, caller):
    out: Rendered = ctx["_out"]
    if table not in out.enricher.tables:
        raise TemplateError(out.enricher.name, f'fill writes table "{table}", which is not in its tables header')
    out.statements.append(Statement(out.enricher.name, table, note, _body(caller)))
    return Sql("")


@jinja2.pass_context
def _check(ctx, requirement: str, *, caller):
    out: Rendered = ctx["_out"]
    names = {r.name for r in out.enricher.requirements}
    if requirement not in names:
        raise TemplateError(out.enricher.name, f"check {requirement!r} is not a requirement in its header")
    out.checks.append(Check(out.enricher.name, requirement, _body(caller)))
    return Sql("")


@jinja2.pass_context
def _feasible(ctx, requirement: str, *, caller):
    out: Rendered = ctx["_out"]
    names = {r.name for r in out.enricher.requirements}
    if requirement not in names:
        raise TemplateError(out.enricher.name, f"feasible {requirement!r} is not a requirement in its header")
    out.feasibility.append(Feasibility(out.enricher.name, requirement, _body(caller)))
    return Sql("")


@jinja2.pass_context
def _h(ctx, key) -> Sql:
    """A non-negative bigint hash of a key expression and the seed."""
    return Sql(f"(hashtextextended({key}, {int(ctx['seed'])}) & {_POS})")


@jinja2.pass_context
def _uuid(ctx, key) -> Sql:
    """A version-4-shaped UUID text derived from a key expression and the seed."""
    digest = f"md5(({key}) || {literal(':' + str(int(ctx['seed'])))})"
    return Sql(f"overlay(overlay({digest} placing '4' from 13) placing '8' from 17)::uuid::text")


@jinja2.pass_context
def _frac(ctx, key) -> Sql:
    """A number in [0, 1) derived from a key expression."""
    return Sql(f"(({_h(ctx, key)} % 1000003)::float8 / 1000003)")


@jinja2.pass_context
def _pick(ctx, kind: str, key) -> Sql:
    """One text from the pool `kind`, chosen by the hash of key (and kind).

    A subscript of the pool read once per statement as an array (an InitPlan), not an index lookup
    per row; element idx + 1 is the pool entry idx. Pools are small (at most a few hundred entries), so
    the subscript's walk of the array is cheap, unlike one over a table's ids (DESIGN.md)."""
    sizes = ctx["pool_size"]
    if kind not in sizes:
        raise TemplateError(ctx["enricher"], f"unknown pool {kind!r}; pools: {', '.join(sorted(sizes))}")
    keyed = f"(({key}) || {literal(':' + kind)})"
    return Sql(
        f"((SELECT array_agg(sp.v ORDER BY sp.idx) FROM seed_pool sp WHERE sp.kind = {literal(kind)}))"
        f"[1 + {_h(ctx, keyed)} % {sizes[kind]}]"
    )


@jinja2.pass_context
def _between(ctx, lo, hi, key) -> Sql:
    """A timestamp between lo and hi (whole seconds), chosen by the hash of key."""
    return Sql(f"date_trunc('second', ({lo}) + (({hi}) - ({lo})) * {_frac(ctx, key)})")


@jinja2.pass_context
def _sample(ctx, values, k: int, key) -> Sql:
    """k distinct values of a fixed list, ordered by the hash of key: a text[] expression."""
    arr = literal(list(values))
    return Sql(
        f"ARRAY(SELECT x FROM unnest({arr}::text[]) x"
        f" ORDER BY hashtextextended(({key}) || x, {int(ctx['seed'])}) LIMIT {int(k)})"
    )


@jinja2.pass_context
def _choose(ctx, values, key) -> Sql:
    """One value of a fixed list, by the hash of key."""
    arr = literal(list(values))
    return Sql(f"({arr})[1 + {_h(ctx, key)} % {len(values)}]")


def _by_path(name: str):
    path = Path(name)
    if not path.is_absolute() or not path.is_file():
        return None
    return path.read_text(encoding="utf-8"), str(path), lambda: True


class Renderer:
    def __init__(self, template_dirs: list[Path]):
        self.env = jinja2.Environment(
            # Enrichers load by absolute path (two directories may hold the same file name);
            # includes and imports resolve through the directories, the user's first.
            loader=jinja2.ChoiceLoader([
                jinja2.FunctionLoader(_by_path),
                jinja2.FileSystemLoader([str(d) for d in template_dirs]),
            ]),
            undefined=jinja2.StrictUndefined,
            bytecode_cache=cache.jinja_bytecode_cache(),
            autoescape=False,
            finalize=finalize,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(lit=literal, ident=identifier)
        self.env.globals.update(
            fill=_fill, check=_check, feasible=_feasible, h=_h, uuid=_uuid, frac=_frac, pick=_pick,
            between=_between, sample=_sample, choose=_choose,
        )

    def render(self, enricher: Enricher, context: dict) -> Rendered:
        out = Rendered(enricher)
        try:
            template = self.env.get_template(str(enricher.path.resolve()))
            template.render(**context, enricher=enricher.name, _out=out)
        except TemplateError:
            raise
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(enricher.name, f"{enricher.path}:{exc.lineno}: {exc.message}") from None
        except (jinja2.UndefinedError, TypeError, ValueError) as exc:
            raise TemplateError(enricher.name, f"{enricher.path}: {exc}") from None
        declared = {r.name for r in enricher.requirements}
        missing = declared - {c.requirement for c in out.checks}
        if missing:
            raise TemplateError(enricher.name, f"requirement {sorted(missing)[0]!r} has no check block")
        return out
