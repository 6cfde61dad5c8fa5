"""`python -m bench.move.counted REGION tenant move TENANT --to UNIT --json --dir DIR`: the
operator's move command, as if run in REGION, with each statement its connections send
reported on standard output (`statement: HOST:PORT ROUND_TRIPS`, from asyncpg's query logger).

Every connection names REGION as its `application_name`, the name a WAN proxy places a
connection by (`scale_units.wan`), so on a WAN cluster the mover's statements to another
region pay its round trip, as the front ends' do. A statement with arguments costs two round
trips the first time on its connection (prepare, then execute) and one after; one without
arguments, one.
"""

from __future__ import annotations

import sys
from typing import Any

import asyncpg
import asyncpg.connection

from scale_units.wan.proxy import application_name

PREFIX = "statement"


def _counting(region: str) -> Any:
    connect = asyncpg.connection.connect

    async def counted(*args: Any, **kwargs: Any) -> asyncpg.Connection:
        settings = dict(kwargs.get("server_settings") or {})
        settings["application_name"] = application_name(region)
        conn: asyncpg.Connection = await connect(*args, **{**kwargs, "server_settings": settings})
        prepared: set[str] = set()

        def log(record: asyncpg.connection.LoggedQuery) -> None:
            trips = 2 if record.args and record.query not in prepared else 1
            prepared.add(record.query)
            address: Any = record.conn_addr  # (host, port) for TCP
            print(f"{PREFIX}: {address[0]}:{address[1]} {trips}", flush=True)

        conn.add_query_logger(log)
        return conn

    return counted


def main() -> None:
    region, *argv = sys.argv[1:]
    counted = _counting(region)
    asyncpg.connect = counted
    asyncpg.connection.connect = counted  # what the pools call
    from devtools.cli import app

    app(args=argv, prog_name="corestore")


if __name__ == "__main__":
    main()
