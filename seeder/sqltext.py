"""The one way values and names get into SQL text.

Templates render with a finalizer that refuses plain strings in `{{ ... }}`, so
every string reaching the SQL went through `literal` or `identifier` or is a
helper's result (Sql). Numbers and booleans are rendered directly; they cannot
change a statement's shape. Plain strings are fine as helper arguments: they
are SQL expressions written by the template's author, never user input.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal



class Sql(str):
    """SQL text that is safe to splice into a statement as it is."""


def literal(value) -> Sql:
    """A SQL literal for a Python value (standard_conforming_strings on, as the script sets)."""
    if value is None:
        return Sql("NULL")
    if isinstance(value, bool):
        return Sql("TRUE" if value else "FALSE")
    if isinstance(value, (int, Decimal)):
        return Sql(str(value))
    if isinstance(value, float):
        return Sql(repr(value))
    if isinstance(value, dt.datetime):
        return Sql(f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]}'")
    if isinstance(value, (list, tuple)):
        return Sql("ARRAY[" + ", ".join(literal(v) for v in value) + "]")
    text = str(value)
    if "\x00" in text:
        raise ValueError("a NUL character cannot be stored in PostgreSQL text")
    return Sql("'" + text.replace("'", "''") + "'")


def identifier(name: str) -> Sql:
    """A double-quoted identifier, case kept (the Prisma schema is case-sensitive)."""
    if not name or "\x00" in name:
        raise ValueError(f"invalid SQL identifier {name!r}")
    return Sql('"' + name.replace('"', '""') + '"')


def finalize(value):
    """Jinja finalizer: refuse raw strings so nothing unquoted slips into SQL."""
    if isinstance(value, Sql):
        return value
    if type(value).__name__.endswith("Undefined"):
        str(value)  # StrictUndefined raises here, naming the missing variable
    if isinstance(value, bool):
        return literal(value)
    if isinstance(value, (int, Decimal, float)):
        return literal(value)
    raise TypeError(
        f"raw value {value!r} in SQL: pass it through |lit (a value) or |ident (a name)"
    )
