"""seed-sql: fill a PostgreSQL database with deterministic development data, set-based."""

__version__ = "0.1.0"
