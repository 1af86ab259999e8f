"""The pipeline `render` and `run` share: catalog -> plan -> pools -> render -> script."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from . import headers, plan, pools, render_cache, resources
from .config import Options
from .rendered import Check, Rendered, Statement
from .sqltext import Sql, literal

LOCK_KEY = 8_320_917_411  # pg_advisory_xact_lock key shared by every seed-sql run
BASE_FLAG = Sql("(SELECT base FROM seed_ctx)")


@dataclass
class Script:
    options: Options
    selection: plan.Selection
    pool_dirs: list[Path]
    rendered: list[Rendered]
    setup: list[str] = field(default_factory=list)

    @cached_property
    def pools(self) -> dict[str, list[str]]:
        """Built on first use: a run that fills nothing never imports Faker."""
        return pools.build(self.options.seed, self.pool_dirs)

    @property
    def statements(self) -> list[Statement]:
        return [s for r in self.rendered for s in r.statements]

    @property
    def checks(self) -> list[Check]:
        return [c for r in self.rendered for c in r.checks]


def template_dirs(options: Options):
    # User directories first so their files win the loader's lookup by name.
    return [*options.templates, resources.templates_dir()]


def load_enrichers(options: Options) -> dict[str, headers.Enricher]:
    return headers.discover(options.templates, resources.templates_dir())


def setup_sql(options: Options) -> list[str]:
    """SET LOCAL settings of the one transaction (TimeZone UTC: columns hold UTC)."""
    return [
        "SET LOCAL TimeZone = 'UTC'",
        "SET LOCAL standard_conforming_strings = on",
        "SET LOCAL work_mem = '128MB'",
        "SET LOCAL jit = off",
        "SET LOCAL client_min_messages = warning",
        # A killed client is noticed within a second even mid-statement, so its locks go at once.
        "SET LOCAL client_connection_check_interval = '1s'",
    ]


def timeouts_sql(options: Options) -> list[str]:
    """Set after the advisory lock is held, so waiting for another run is not cut short."""
    return [
        f"SET LOCAL lock_timeout = {literal(options.lock_timeout)}",
        f"SET LOCAL statement_timeout = {literal(options.statement_timeout)}",
    ]


POOL_TABLE = "CREATE TEMP TABLE seed_pool (kind text, idx int, v text, PRIMARY KEY (kind, idx)) ON COMMIT DROP"


def context_sql(options: Options) -> str:
    # Base data only into an empty "User" table (or with --force); decided once,
    # before any insert, so later statements see the same answer.
    return (
        "CREATE TEMP TABLE seed_ctx ON COMMIT DROP AS "
        f'SELECT ({literal(options.force)} OR NOT EXISTS (SELECT FROM "User")) AS base'
    )


def build(options: Options, existing_tables: set[str] | None) -> Script:
    enrichers = load_enrichers(options)
    selection = plan.select(
        enrichers,
        only=options.only,
        with_=options.with_,
        overrides=options.overrides,
        existing_tables=existing_tables,
    )
    dirs = template_dirs(options)
    key = render_cache.key(options, selection.enrichers, selection.minimums, dirs)
    rendered = render_cache.load(key, selection.enrichers)
    if rendered is None:
        rendered = _render(options, selection, dirs)
        render_cache.store(key, rendered)
    anchor = literal(options.anchor)
    rendered = [r.substitute(render_cache.ANCHOR_TOKEN, anchor) for r in rendered]
    return Script(options, selection, dirs, rendered, setup_sql(options))


def _render(options: Options, selection: plan.Selection, dirs: list[Path]) -> list[Rendered]:
    from .render import Renderer  # Jinja2 only when the render cache misses

    context = {
        "seed": options.seed,
        "scale": options.scale,
        # A placeholder, replaced after rendering: the cached text then serves any --now.
        "anchor": Sql(render_cache.ANCHOR_TOKEN),
        "min": selection.minimums,
        "pool_size": pools.planned_sizes(dirs),
        "base_run": BASE_FLAG,
        "force": options.force,
    }
    renderer = Renderer(dirs)
    return [renderer.render(e, context) for e in selection.enrichers]
