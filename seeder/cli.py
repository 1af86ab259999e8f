"""The `seed-sql` command line: a thin layer over the library; errors become one line and an exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from .errors import RequirementsUnmet, SeedError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help=(
        "Fill a PostgreSQL database of the Mentara app with realistic, deterministic development data, "
        "and keep it filled: every run brings each table up to its declared minimums and never past them.\n\n"
        "Example: seed-sql run   (no URL: uses an embedded PostgreSQL in ./.seed-sql)"
    ),
)
db_app = typer.Typer(help="Manage the embedded default PostgreSQL (data in ./.seed-sql).", no_args_is_help=True)
app.add_typer(db_app, name="db")

STATE_DIR = ".seed-sql"

Url = Annotated[Optional[str], typer.Option("--database-url", help="Target database (else $DATABASE_URL, else the embedded default).", show_default=False)]
Scale = Annotated[Optional[str], typer.Option("--scale", help="Base population x N (default 1; $SEED_SCALE).", show_default=False)]
Seed = Annotated[Optional[str], typer.Option("--seed", help="Seed of all generated values (default 0).", show_default=False)]
Now = Annotated[Optional[str], typer.Option("--now", help="Time anchor, ISO 8601; no offset means UTC (default: now).", show_default=False)]
Force = Annotated[bool, typer.Option("--force", help="Create base data even when users exist ($SEED_FORCE).")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Every statement with rows and time; tracebacks on error.")]
Only = Annotated[Optional[List[str]], typer.Option("--only", help="Only these enrichers and what they depend on (repeatable).", show_default=False)]
Set = Annotated[Optional[List[str]], typer.Option("--set", help="Change a minimum: --set client_posts=7 (repeatable).", show_default=False)]
With = Annotated[Optional[List[str]], typer.Option("--with", help="Enable an enricher that is off by default or whose optional table is unknown (repeatable).", show_default=False)]
Templates = Annotated[Optional[List[Path]], typer.Option("--templates", help="A directory of your own enricher templates (repeatable).", show_default=False)]
NoWait = Annotated[bool, typer.Option("--no-wait", help="Fail at once if another run holds the lock.")]
AllowRemote = Annotated[bool, typer.Option("--allow-remote", help="Allow a non-local host or a production-looking environment.")]
Format = Annotated[str, typer.Option("--format", help="Summary format: text or json.")]
Config = Annotated[Optional[Path], typer.Option("--config", help="Configuration file (default: ./seed.toml when present).", show_default=False)]


def _options(**flags):
    from .config import resolve

    from .errors import ConfigError

    fmt = flags.get("format")
    if fmt not in (None, "text", "json"):
        raise ConfigError(f"--format {fmt!r} is not valid; use text or json")
    config = flags.pop("config", None)
    if config is not None and not config.exists():
        raise ConfigError(f"configuration file {str(config)!r} does not exist")
    return resolve(flags, toml_path=config)


def _fail(exc: SeedError, verbose: bool) -> None:
    from .db import mask

    if verbose:
        import traceback

        traceback.print_exc()
    hint = f" ({exc.hint})" if exc.hint else ""  # hints are our own text, never a URL of the user's
    typer.echo(f"seed-sql: error: {mask(str(exc))}{hint}", err=True)
    raise typer.Exit(exc.exit_code)


def _is_click_exit(exc: BaseException) -> bool:
    return type(exc).__module__.startswith(("click", "typer"))


def _guarded(verbose_flag: bool):
    """Context for a command body: SeedError -> one line and its exit code."""

    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, kind, exc, tb):
            if exc is None:
                return False
            if isinstance(exc, KeyboardInterrupt):
                typer.echo("seed-sql: interrupted; the run was rolled back, nothing changed.", err=True)
                raise typer.Exit(130)
            verbose = verbose_flag or os.environ.get("SEED_VERBOSE", "").lower() in ("1", "true", "yes")
            if isinstance(exc, SeedError):
                _fail(exc, verbose)
            if isinstance(exc, Exception) and not _is_click_exit(exc) and not verbose:
                from .db import mask

                typer.echo(f"seed-sql: internal error: {type(exc).__name__}: {mask(str(exc))} "
                           "(run with --verbose for the traceback; please report it)", err=True)
                raise typer.Exit(3)
            return False

    return _Guard()


def _target(options, need_schema: bool = True) -> str:
    """The database URL: given, or the embedded default (started and schema-applied on demand)."""
    from . import db

    if options.database_url:
        db.guard(options.database_url, os.environ, options.allow_remote)
        return options.database_url
    from . import embedded_default

    url = embedded_default.ensure(Path.cwd() / STATE_DIR, apply_schema=need_schema)
    typer.echo(f"Using the embedded PostgreSQL: {url}", err=options.format == "json")
    return url


def _execute(mode: str, **flags) -> None:
    from . import report, runner

    verbose = flags.get("verbose", False)
    with _guarded(verbose):
        options = _options(**flags)
        if options.audit_only and mode == "run":
            mode = "audit"
        url = _target(options)
        printer = report.Printer(options.format, options.verbose)
        try:
            result = runner.execute(options, url, mode, printer)
        except RequirementsUnmet as exc:
            if exc.result is not None:
                typer.echo(report.violations_text(exc.result), err=True)
            raise
        if options.format == "json":
            typer.echo(report.summary_json(result))
        elif mode == "verify" and result.unmet:
            typer.echo(report.violations_text(result))
            typer.echo(f"{len(result.unmet)} of {len(result.after)} requirements unmet.")
        else:
            typer.echo(report.summary_text(result))
        if mode == "verify" and result.unmet:
            raise typer.Exit(1)


@app.command()
def run(database_url: Url = None, scale: Scale = None, seed: Seed = None, now: Now = None, force: Force = False,
        verbose: Verbose = False, only: Only = None, set: Set = None, with_: With = None,
        templates: Templates = None, no_wait: NoWait = False, allow_remote: AllowRemote = False,
        format: Format = "text", config: Config = None) -> None:
    """Bring every table up to its minimums in one transaction, verify, and print a summary.

    Example: seed-sql run --scale 10 --seed 42 --set client_posts=7
    """
    _execute("run", **locals())


@app.command()
def audit(database_url: Url = None, scale: Scale = None, seed: Seed = None, now: Now = None, force: Force = False,
          verbose: Verbose = False, only: Only = None, set: Set = None, with_: With = None,
          templates: Templates = None, no_wait: NoWait = False, allow_remote: AllowRemote = False,
          format: Format = "text", config: Config = None) -> None:
    """Show what run would add, per requirement and table, and change nothing (always rolls back).

    Example: seed-sql audit --format json
    """
    _execute("audit", **locals())


@app.command()
def verify(database_url: Url = None, scale: Scale = None, seed: Seed = None, now: Now = None,
           verbose: Verbose = False, only: Only = None, set: Set = None, with_: With = None,
           templates: Templates = None, allow_remote: AllowRemote = False,
           format: Format = "text", config: Config = None) -> None:
    """Check every requirement; exit 1 with a table of violations when any is unmet.

    Example: seed-sql verify --database-url postgresql://postgres@localhost/mentara
    """
    _execute("verify", **locals())


@app.command()
def render(database_url: Url = None, scale: Scale = None, seed: Seed = None, now: Now = None, force: Force = False,
           verbose: Verbose = False, only: Only = None, set: Set = None, with_: With = None,
           templates: Templates = None, config: Config = None,
           enricher: Annotated[Optional[str], typer.Option("--enricher", help="Print only this enricher's statements and checks.")] = None) -> None:
    """Print the complete SQL script run would execute; needs no database.

    Given a database URL, it is used only to see which optional tables exist.
    Example: seed-sql render --now 2026-01-01T00:00:00 | psql -v ON_ERROR_STOP=1 "$DATABASE_URL"
    """
    flags = {k: v for k, v in locals().items() if k != "enricher"}
    with _guarded(verbose):
        from . import pipeline, script_text

        options = _options(**flags)
        tables = _optional_tables(options)
        script = pipeline.build(options, tables)
        if enricher:
            try:
                sys.stdout.write(script_text.render_one(script, enricher))
            except KeyError:
                from .errors import ConfigError

                names = ", ".join(r.enricher.name for r in script.rendered)
                raise ConfigError(f"unknown or unselected enricher {enricher!r}; selected: {names}") from None
        else:
            sys.stdout.write(script_text.render(script))


def _optional_tables(options) -> set[str] | None:
    """Tables of the given database (optional tables only matter), or None without one."""
    if not options.database_url:
        return None
    from . import db

    db.guard(options.database_url, os.environ, options.allow_remote)
    with db.connect(options.database_url) as conn:
        return set(db.read_catalog(conn).tables)


@app.command()
def reset(database_url: Url = None, yes: Annotated[bool, typer.Option("--yes", help="Confirm dropping every table of the target database.")] = False,
          scale: Scale = None, seed: Seed = None, now: Now = None, verbose: Verbose = False,
          set: Set = None, with_: With = None, templates: Templates = None,
          allow_remote: AllowRemote = False, format: Format = "text", config: Config = None) -> None:
    """Drop and recreate the schema from sql/schema.sql, then run.

    Refuses without --yes unless the target is the embedded default database.
    Example: seed-sql reset --yes --database-url postgresql://postgres@localhost/mentara_dev
    """
    flags = {k: v for k, v in locals().items() if k != "yes"}
    with _guarded(verbose):
        from . import schema_admin
        from .errors import ConfigError

        options = _options(**flags)
        if options.database_url and not yes:
            raise ConfigError("reset drops every table of the target database", hint="add --yes to confirm")
        url = _target(options, need_schema=False)
        schema_admin.reset(url)
        typer.echo("Schema recreated from sql/schema.sql.", err=options.format == "json")
    _execute("run", **flags)


@app.command("list")
def list_(templates: Templates = None, with_: With = None, format: Format = "text", config: Config = None,
          verbose: Verbose = False) -> None:
    """List enrichers in execution order: tier, tables, dependencies, requirements and minimums.

    Example: seed-sql list --templates ./seeds
    """
    with _guarded(verbose):
        from . import listing

        options = _options(templates=templates, with_=with_, format=format, config=config, verbose=verbose)
        typer.echo(listing.render(options))


@app.command()
def docs(check: Annotated[bool, typer.Option("--check", help="Exit 1 if a generated file is stale; write nothing.")] = False,
         docs_dir: Annotated[Path, typer.Option("--docs-dir", help="Where the documentation lives.")] = Path("docs"),
         templates: Templates = None, verbose: Verbose = False) -> None:
    """Regenerate the enricher reference and the dependency graph from the template headers.

    Example: seed-sql docs            (writes docs/SEEDING_ENRICHER_REFERENCE.md)
             seed-sql docs --check    (CI: fails when a generated doc is stale)
    """
    with _guarded(verbose):
        from . import docgen, pipeline

        options = _options(templates=templates, verbose=verbose)
        stale = []
        for path, text in docgen.targets(docs_dir, pipeline.load_enrichers(options)).items():
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if current != text:
                stale.append(path)
                if not check:
                    path.write_text(text, encoding="utf-8")
        verb = "stale" if check else "updated"
        for path in stale:
            typer.echo(f"{verb}: {path}")
        if not stale:
            typer.echo("Generated docs are up to date.")
        if check and stale:
            raise typer.Exit(1)


@db_app.command("url")
def db_url() -> None:
    """Print the URL of the embedded default database (starting it if needed).

    Example: psql "$(seed-sql db url)"
    """
    with _guarded(False):
        from . import embedded_default

        typer.echo(embedded_default.ensure(Path.cwd() / STATE_DIR, apply_schema=True))


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded default PostgreSQL server of this directory.

    Example: seed-sql db stop
    """
    with _guarded(False):
        from . import embedded

        stopped = embedded.stop(Path.cwd() / STATE_DIR)
        typer.echo("Embedded PostgreSQL stopped." if stopped else "Embedded PostgreSQL was not running.")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
