"""Which enrichers run, in which order, with which minimums."""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field

from .errors import ConfigError, DependencyError
from .headers import Enricher, Requirement


def order(enrichers: dict[str, Enricher]) -> list[Enricher]:
    """Dependency order (graphlib), ties broken by tier then name so the order is stable."""
    for e in enrichers.values():
        for dep in e.depends:
            if dep not in enrichers:
                raise DependencyError(
                    f"enricher {e.name} depends on unknown enricher {dep!r} ({e.path})"
                )
            if enrichers[dep].tier > e.tier:
                raise DependencyError(
                    f"enricher {e.name} (tier {e.tier}) depends on {dep} of a later tier {enrichers[dep].tier}"
                )
    sorter = graphlib.TopologicalSorter({n: e.depends for n, e in enrichers.items()})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise DependencyError(f"enricher dependency cycle: {cycle}") from None
    depth: dict[str, int] = {}
    while sorter.is_active():
        for name in sorted(sorter.get_ready()):
            deps = enrichers[name].depends
            depth[name] = 1 + max((depth[d] for d in deps), default=-1)
            sorter.done(name)
    return sorted(enrichers.values(), key=lambda e: (e.tier, depth[e.name], e.name))


def closure(enrichers: dict[str, Enricher], names: list[str]) -> set[str]:
    """The named enrichers and everything they depend on."""
    unknown = [n for n in names if n not in enrichers]
    if unknown:
        raise ConfigError(
            f"unknown enricher {unknown[0]!r}; valid: {', '.join(sorted(enrichers))}"
        )
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(enrichers[name].depends)
    return seen


@dataclass
class Selection:
    """The enrichers of one run, in order, and the minimums they render with."""

    enrichers: list[Enricher]
    minimums: dict[str, int]
    skipped: dict[str, str] = field(default_factory=dict)  # name -> why

    @property
    def requirements(self) -> list[Requirement]:
        return [r for e in self.enrichers for r in e.requirements]


def select(
    enrichers: dict[str, Enricher],
    *,
    only: list[str] | None = None,
    with_: list[str] | None = None,
    overrides: dict[str, object] | None = None,
    existing_tables: set[str] | None = None,
) -> Selection:
    """existing_tables None means unknown (render without a database): optional tables need --with."""
    with_set = set(with_ or [])
    bad = [n for n in with_set if n not in enrichers]
    if bad:
        raise ConfigError(f"unknown enricher {bad[0]!r} in --with; valid: {', '.join(sorted(enrichers))}")
    chosen = closure(enrichers, only) if only else set(enrichers)
    explicit = set(only or []) | with_set
    ordered, skipped = [], {}
    for e in order(enrichers):
        if e.name not in chosen:
            continue
        reason = _skip_reason(e, explicit, existing_tables)
        if reason:
            skipped[e.name] = reason
        else:
            ordered.append(e)
    for e in ordered:
        missing = [d for d in e.depends if d in skipped]
        if missing:
            raise ConfigError(f"enricher {e.name} needs {missing[0]}, which is skipped: {skipped[missing[0]]}")
    return Selection(ordered, minimums(enrichers, overrides or {}), skipped)


def _skip_reason(e: Enricher, explicit: set[str], existing_tables: set[str] | None) -> str | None:
    if not e.enabled_by_default and e.name not in explicit:
        return f"off by default; enable with --with {e.name}"
    if e.requires_table:
        if existing_tables is None and e.name not in explicit:
            return f'optional table "{e.requires_table}" unknown without a database; include with --with {e.name}'
        if existing_tables is not None and e.requires_table not in existing_tables:
            return f'optional table "{e.requires_table}" is absent'
    return None


def minimums(enrichers: dict[str, Enricher], overrides: dict[str, object]) -> dict[str, int]:
    """Defaults from the headers, overridden by seed.toml and --set (validated here)."""
    reqs = {r.name: r for e in enrichers.values() for r in e.requirements}
    values = {name: r.default for name, r in reqs.items() if r.is_minimum}
    for key, raw in overrides.items():
        if key not in reqs:
            raise ConfigError(
                f"unknown requirement {key!r}; valid: {', '.join(sorted(values))}"
            )
        if not reqs[key].is_minimum:
            raise ConfigError(
                f"requirement {key!r} is a rule, not a minimum; it cannot be set. "
                f"Minimums that can be set: {', '.join(sorted(values))}"
            )
        values[key] = parse_minimum(key, raw)
    return values


def parse_minimum(key: str, raw: object) -> int:
    if isinstance(raw, bool):
        raise ConfigError(f"minimum {key} must be a non-negative integer, got {raw!r}")
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip()
        if not text.lstrip("-").isdigit():
            raise ConfigError(f"minimum {key} must be a non-negative integer, got {raw!r}")
        value = int(text)
    if value < 0:
        raise ConfigError(f"minimum {key} must be a non-negative integer, got {value}")
    return value
