"""SQLAlchemy Core builds and compiles statements; asyncpg runs them as prepared statements."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.sql import ClauseElement, ColumnElement

DIALECT = asyncpg_dialect.dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Compiled:
    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]

    def args(self, **values: Any) -> list[Any]:
        """Positional arguments: named values first, then the statement's own bound literals."""
        return [values[n] if n in values else self.defaults[n] for n in self.names]


def compile_statement(statement: ClauseElement) -> Compiled:
    compiled = statement.compile(dialect=DIALECT)
    positions = getattr(compiled, "positiontup", None) or ()
    return Compiled(compiled.string, tuple(positions), dict(compiled.params))


_COMPILED: dict[str, Compiled] = {}


def cached(key: str, build: Callable[[], ClauseElement]) -> Compiled:
    """A fixed statement, built and compiled once per process: `key` names it.

    Building and compiling a statement costs more than running it on the hot path.
    """
    found = _COMPILED.get(key)
    if found is None:
        found = _COMPILED[key] = compile_statement(build())
    return found


# The dialect renders every bound value with its cast (`$2::UUID`); see `condition`.
_PLACEHOLDER = re.compile(r"\$(\d+)(?=::)")


def condition(expression: ColumnElement[bool], args_param: int) -> tuple[str, list[str]]:
    """A WHERE condition as text whose bound values are elements of one text[] parameter.

    For the tenant page functions, which run it with EXECUTE ... USING: `$2::UUID`
    becomes `($N[2])::UUID` (N = `args_param`), and the values travel as text, so a
    caller's literal is never part of the SQL.
    """
    compiled = compile_statement(expression)
    sql = _PLACEHOLDER.sub(lambda m: f"(${args_param}[{m.group(1)}])", compiled.sql)
    if re.search(r"\$\d+(?![\d\[])", sql):
        raise ValueError(f"a bound value without a cast in {compiled.sql!r}")
    return sql, [_as_text(v) for v in compiled.args()]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"no text form for a {type(value).__name__} filter value")


def insert_values(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` plus the table's Python-side column defaults (a compiled INSERT runs
    outside SQLAlchemy's execution, which is where those defaults are normally applied)."""
    out = dict(values)
    for column in table.columns:
        default = column.default
        if column.key in out or default is None:
            continue
        if default.is_scalar:
            out[column.key] = default.arg  # type: ignore[attr-defined]
        elif default.is_callable:
            out[column.key] = default.arg(None)  # type: ignore[attr-defined]
    return out
