"""What rendering produces, as plain data: statements, checks and feasibility queries of each enricher.

Kept apart from render.py so that code which only runs rendered SQL (a satisfied run
served from the render cache) never imports Jinja2.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from .headers import Enricher


@dataclass
class Statement:
    enricher: str
    table: str
    note: str
    sql: str


@dataclass
class Check:
    enricher: str
    requirement: str
    sql: str


@dataclass
class Feasibility:
    """A query run before the enricher fills: rows (column `problem`) mean a minimum cannot be met."""

    enricher: str
    requirement: str
    sql: str


@dataclass
class Rendered:
    enricher: Enricher
    statements: list[Statement] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    feasibility: list[Feasibility] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "enricher": self.enricher.name,
            "statements": [asdict(s) for s in self.statements],
            "checks": [asdict(c) for c in self.checks],
            "feasibility": [asdict(f) for f in self.feasibility],
        }

    @classmethod
    def from_json(cls, data: dict, enricher: Enricher) -> "Rendered":
        return cls(
            enricher,
            [Statement(**s) for s in data["statements"]],
            [Check(**c) for c in data["checks"]],
            [Feasibility(**f) for f in data["feasibility"]],
        )

    def substitute(self, old: str, new: str) -> "Rendered":
        """A copy with `old` replaced in every SQL text (the anchor placeholder by its literal)."""
        def sub(items):
            return [replace(x, sql=x.sql.replace(old, new)) for x in items]

        return Rendered(self.enricher, sub(self.statements), sub(self.checks), sub(self.feasibility))
