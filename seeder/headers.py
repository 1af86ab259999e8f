"""Enricher templates and their static `--` headers (read without rendering).

A header is the block of `-- key: value` lines at the top of a template. Lines
that start with `--` followed by two or more spaces continue the previous key.
Metadata never comes from Jinja logic, so a dependency cannot hide behind an `if`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import TemplateHeaderError

KEYS = {
    "name", "tier", "depends", "tables", "requires-table", "default",
    "summary", "requirement", "generates", "idempotency",
}
_LINE = re.compile(r"^--\s?([a-z][a-z-]*):\s*(.*)$")
_CONT = re.compile(r"^--\s{2,}(\S.*)$")
_REQ = re.compile(r"^([a-z][a-z0-9_]*)\s*(?:=\s*(-?\d+))?\s*:\s*(.+)$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Requirement:
    name: str
    default: int | None  # None: a rule, not a settable minimum
    description: str
    enricher: str = ""

    @property
    def is_minimum(self) -> bool:
        return self.default is not None


@dataclass
class Enricher:
    name: str
    tier: int
    path: Path
    depends: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    requires_table: str | None = None
    enabled_by_default: bool = True
    summary: str = ""
    generates: str = ""
    idempotency: str = ""
    requirements: list[Requirement] = field(default_factory=list)
    builtin: bool = True

    @property
    def optional(self) -> bool:
        return self.requires_table is not None or not self.enabled_by_default


def _split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def read_header(path: Path) -> list[tuple[int, str, str]]:
    """(line number, key, value) for each header entry, continuations joined."""
    entries: list[list] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.rstrip()
        if not line.startswith("--"):
            break
        if line.strip() == "--":
            continue
        cont = _CONT.match(line)
        if cont and entries:
            entries[-1][2] += " " + cont.group(1)
            continue
        m = _LINE.match(line)
        if not m:
            raise TemplateHeaderError(path, lineno, f"not a header line (expected '-- key: value'): {line!r}")
        key = m.group(1)
        if key not in KEYS:
            raise TemplateHeaderError(
                path, lineno, f"unknown header key {key!r}; valid keys: {', '.join(sorted(KEYS))}"
            )
        entries.append([lineno, key, m.group(2).strip()])
    return [tuple(e) for e in entries]


def parse_enricher(path: Path, builtin: bool = True) -> Enricher:
    fields: dict = {"depends": [], "tables": [], "requirements": []}
    seen: set[str] = set()
    for lineno, key, value in read_header(path):
        if key != "requirement" and key in seen:
            raise TemplateHeaderError(path, lineno, f"header key {key!r} given twice")
        seen.add(key)
        _apply_key(path, lineno, key, value, fields)
    for required in ("name", "tier", "tables"):
        if required not in seen:
            raise TemplateHeaderError(path, 1, f"header key {required!r} is missing")
    reqs = [Requirement(r.name, r.default, r.description, fields["name"]) for r in fields.pop("requirements")]
    return Enricher(path=path, builtin=builtin, requirements=reqs, **fields)


def _apply_key(path, lineno, key, value, fields) -> None:
    if key == "name":
        if not _NAME.match(value):
            raise TemplateHeaderError(path, lineno, f"enricher name {value!r} must be lower_snake_case")
        fields["name"] = value
    elif key == "tier":
        if not value.isdigit():
            raise TemplateHeaderError(path, lineno, f"tier must be a non-negative integer, got {value!r}")
        fields["tier"] = int(value)
    elif key in ("depends", "tables"):
        fields[key] = _split_list(value)
    elif key == "requires-table":
        fields["requires_table"] = value
    elif key == "default":
        if value not in ("on", "off"):
            raise TemplateHeaderError(path, lineno, f"default must be 'on' or 'off', got {value!r}")
        fields["enabled_by_default"] = value == "on"
    elif key == "requirement":
        m = _REQ.match(value)
        if not m:
            raise TemplateHeaderError(
                path, lineno, "requirement must read 'name = N: description' or 'name: description'"
            )
        default = int(m.group(2)) if m.group(2) is not None else None
        if default is not None and default < 0:
            raise TemplateHeaderError(path, lineno, f"default minimum of {m.group(1)} is negative")
        fields["requirements"].append(Requirement(m.group(1), default, m.group(3).strip()))
    else:
        fields[key] = value


def discover(dirs: list[Path], builtin_dir: Path) -> dict[str, Enricher]:
    """Every `*.sql.j2` not starting with `_`; a user directory may override a built-in by name."""
    found: dict[str, Enricher] = {}
    for directory in [builtin_dir, *dirs]:
        builtin = directory == builtin_dir
        for path in sorted(directory.glob("*.sql.j2")):
            if path.name.startswith("_"):
                continue
            enricher = parse_enricher(path, builtin=builtin)
            if enricher.name in found and found[enricher.name].path.parent == directory:
                raise TemplateHeaderError(path, 1, f"enricher {enricher.name!r} defined twice in {directory}")
            found[enricher.name] = enricher
    return found
