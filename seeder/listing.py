"""`seed-sql list`: enrichers in execution order with their requirements."""

from __future__ import annotations

import json

from . import pipeline, plan


def rows(options):
    enrichers = pipeline.load_enrichers(options)
    minimums = plan.minimums(enrichers, options.overrides)
    for e in plan.order(enrichers):
        state = "on" if e.enabled_by_default else "off (--with)"
        if e.requires_table:
            state += f', needs "{e.requires_table}"'
        reqs = [f"{r.name}" + (f" >= {minimums[r.name]}" if r.is_minimum else " (rule)") for r in e.requirements]
        yield e, state, reqs


def render(options) -> str:
    from tabulate import tabulate

    data = list(rows(options))
    if options.format == "json":
        return json.dumps([
            {"name": e.name, "tier": e.tier, "tables": e.tables, "depends": e.depends, "state": state,
             "requirements": reqs} for e, state, reqs in data], indent=2)
    table = [[e.name, e.tier, ", ".join(e.tables), ", ".join(e.depends) or "-", state, "\n".join(reqs) or "-"]
             for e, state, reqs in data]
    return tabulate(table, headers=["enricher", "tier", "tables", "depends", "state", "requirements"], tablefmt="simple")
