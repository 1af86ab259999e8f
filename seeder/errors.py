"""Typed errors. Each carries what caused it; the CLI turns them into one line and an exit code."""

from __future__ import annotations


class SeedError(Exception):
    """Base class. `exit_code` 2 means bad input or environment, 1 means unmet requirements."""

    exit_code = 2
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def line(self) -> str:
        msg = str(self)
        return f"{msg} ({self.hint})" if self.hint else msg


class TemplateHeaderError(SeedError):
    def __init__(self, path, lineno: int, message: str):
        self.path, self.lineno = path, lineno
        super().__init__(f"{path}:{lineno}: {message}")


class TemplateError(SeedError):
    def __init__(self, enricher: str, message: str):
        self.enricher = enricher
        super().__init__(f"enricher {enricher}: {message}")


class DependencyError(SeedError):
    """A cycle or an unknown dependency among enrichers."""


class ConfigError(SeedError):
    """A bad option, --set key or value, seed.toml content, or an unknown enricher name."""


class ConnectionFailed(SeedError):
    """The server cannot be reached or refuses us; the message never holds a password."""


class SchemaError(SeedError):
    """A table or column the enrichers need is missing or differs."""


class UnsafeTarget(SeedError):
    """A production-looking target without --allow-remote."""


class EmbeddedServerError(SeedError):
    """The embedded PostgreSQL could not be initialised, started or stopped."""


class LockBusy(SeedError):
    """Another run holds the advisory lock and --no-wait was given."""


class EnricherFailed(SeedError):
    """A statement of an enricher failed; the run was rolled back."""

    def __init__(self, enricher: str, table: str | None, message: str):
        self.enricher, self.table = enricher, table
        where = f"enricher {enricher}" + (f" (table \"{table}\")" if table else "")
        super().__init__(f"{where} failed, run rolled back: {message}")


class RequirementsUnmet(SeedError):
    exit_code = 1

    def __init__(self, violations, result=None):
        self.violations = violations
        self.result = result
        names = ", ".join(v.requirement for v in violations)
        super().__init__(f"{len(violations)} requirement(s) unmet, run rolled back: {names}")


class InfeasibleMinimum(SeedError):
    """A minimum that the data can never meet (e.g. more members per community than users)."""

    def __init__(self, enricher: str, requirement: str, value, problem: str):
        self.enricher, self.requirement = enricher, requirement
        super().__init__(
            f"minimum {requirement} = {value} cannot be met: {problem} (enricher {enricher}); nothing was written",
            hint=f"lower it with --set {requirement}=N",
        )


class TimedOut(SeedError):
    """lock_timeout or statement_timeout cut the run short; it was rolled back."""
