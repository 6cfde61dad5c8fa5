"""Several statements in one round trip: a simple-query script, as the steps inside a move's
fence run (each round trip there is time every writer of the tenant waits through).

A script takes no parameters, so its values are written in as literals; only values the mover
made itself (ids, unit names from the topology, numbers) go in.
"""

from __future__ import annotations

import contextlib

import asyncpg


def literal(value: str) -> str:
    """A SQL string literal (standard_conforming_strings, PostgreSQL's default)."""
    return "'" + value.replace("'", "''") + "'"


async def run(conn: asyncpg.Connection, script: str) -> None:
    """`script` (its own BEGIN, and its COMMIT unless the caller ends the transaction); on an
    error the transaction it opened is rolled back (PostgreSQL stops a script at its first
    error, inside the transaction)."""
    try:
        await conn.execute(script)
    except BaseException:
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await conn.execute("ROLLBACK")
        raise
