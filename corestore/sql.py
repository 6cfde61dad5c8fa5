"""SQLAlchemy Core statements run on raw asyncpg, so reads use asyncpg's prepared statements."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.sql import ClauseElement

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


def decode_json(value: Any) -> Any:
    """asyncpg hands jsonb back as text unless a codec is set on every connection."""
    return json.loads(value) if isinstance(value, str) else value
