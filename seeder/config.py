"""Run options: flags win over the environment, which wins over seed.toml."""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

TRUE = {"1", "true", "yes", "on"}
_TOML_KEYS = {"database_url", "scale", "seed", "with", "templates", "minimums",
              "lock_timeout", "statement_timeout"}


@dataclass
class Options:
    database_url: str | None = None
    scale: int = 1
    seed: int = 0
    now: dt.datetime | None = None
    force: bool = False
    verbose: bool = False
    only: list[str] = field(default_factory=list)
    with_: list[str] = field(default_factory=list)
    overrides: dict[str, object] = field(default_factory=dict)
    templates: list[Path] = field(default_factory=list)
    no_wait: bool = False
    allow_remote: bool = False
    format: str = "text"
    lock_timeout: str = "30s"
    statement_timeout: str = "15min"
    audit_only: bool = False

    @property
    def anchor(self) -> dt.datetime:
        return self.now or now_utc()


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def parse_now(text: str) -> dt.datetime:
    """ISO 8601; without an offset the time is UTC (the columns hold UTC)."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise ConfigError(
            f"--now {text!r} is not a timestamp", hint="use ISO 8601, e.g. 2026-01-15T12:00:00 (UTC) or 2026-01-15T14:00:00+02:00"
        ) from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=(value.microsecond // 1000) * 1000)


def parse_set(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r} must read requirement=N, e.g. --set client_posts=7")
        out[key.strip()] = value.strip()
    return out


def positive_int(name: str, raw: object) -> int:
    try:
        value = int(str(raw).strip()) if not isinstance(raw, bool) else None
    except ValueError:
        value = None
    if value is None or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {raw!r}")
    return value


def int_value(name: str, raw: object) -> int:
    try:
        if isinstance(raw, bool):
            raise ValueError
        return int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


_DURATION = re.compile(r"^\s*\d+\s*(ms|s|min|h|d)?\s*$")


def duration(name: str, raw: object) -> str:
    """A PostgreSQL duration such as 30s, 500ms, 15min or 0 (no limit)."""
    if isinstance(raw, bool) or not _DURATION.match(str(raw)):
        raise ConfigError(f"{name} must be a duration such as 500ms, 30s, 15min, 1h or 0 (no limit), got {raw!r}")
    return str(raw).strip()


def load_toml(path: Path) -> dict:
    """seed.toml: scale, seed, with, templates, [minimums]; unknown keys are errors."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - _TOML_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(_TOML_KEYS))}")
    if "minimums" in data and not isinstance(data["minimums"], dict):
        raise ConfigError(f"{path}: [minimums] must be a table of requirement = N")
    for key in ("with", "templates"):
        if key in data and not (isinstance(data[key], list) and all(isinstance(v, str) for v in data[key])):
            raise ConfigError(f"{path}: {key} must be a list of strings")
    data["_base"] = path.parent
    return data


def resolve(flags: dict, env: dict | None = None, toml_path: Path | None = None) -> Options:
    """Merge flags (None = not given), environment and seed.toml into Options."""
    env = os.environ if env is None else env
    toml_path = toml_path or Path("seed.toml")  # the default file is optional; an explicit one was checked
    toml = load_toml(toml_path) if toml_path.exists() else {}
    base = toml.get("_base", Path("."))

    def pick(flag, env_var=None, toml_key=None, default=None):
        if flags.get(flag) is not None:
            return flags[flag]
        if env_var and env.get(env_var):
            return env[env_var]
        if toml_key and toml_key in toml:
            return toml[toml_key]
        return default

    def flag_bool(flag, env_var):
        return bool(flags.get(flag)) or env.get(env_var, "").strip().lower() in TRUE

    overrides = dict(toml.get("minimums", {}))
    overrides.update(parse_set(flags.get("set") or []))
    templates = [base / t for t in toml.get("templates", [])] + [Path(t) for t in flags.get("templates") or []]
    for t in templates:
        if not t.is_dir():
            raise ConfigError(f"templates directory {str(t)!r} does not exist")
    now = flags.get("now") or env.get("SEED_NOW")
    return Options(
        database_url=pick("database_url", "DATABASE_URL", "database_url"),
        scale=positive_int("--scale", pick("scale", "SEED_SCALE", "scale", 1)),
        seed=int_value("--seed", pick("seed", "SEED_SEED", "seed", 0)),
        now=parse_now(now) if now else None,
        force=flag_bool("force", "SEED_FORCE"),
        verbose=flag_bool("verbose", "SEED_VERBOSE"),
        only=list(flags.get("only") or []),
        with_=list(toml.get("with", [])) + list(flags.get("with_") or []),
        overrides=overrides,
        templates=templates,
        no_wait=bool(flags.get("no_wait")),
        allow_remote=bool(flags.get("allow_remote")),
        format=flags.get("format") or "text",
        lock_timeout=duration("lock_timeout", pick("lock_timeout", "SEED_LOCK_TIMEOUT", "lock_timeout", "30s")),
        statement_timeout=duration("statement_timeout",
                                   pick("statement_timeout", "SEED_STATEMENT_TIMEOUT", "statement_timeout", "15min")),
        audit_only=env.get("SEED_AUDIT_ONLY", "").strip().lower() in TRUE,
    )
