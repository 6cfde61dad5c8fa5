"""The HTTP baseline: a plain ASGI callable doing only the raw read of one row, answered as JSON.

No framework, no token, no routing: what any request costs under the same server (uvicorn,
one worker, the flags `corestore serve` uses), so the front end's own cost is the difference.
Run as `python -m bench.http.asgi_baseline`, configured by the BENCH_ASGI environment variable (JSON).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench.db.rows import USER_SQL, tenant_pool

CONFIG_ENV = "BENCH_ASGI"
# The same server settings as `corestore serve` (auth_service/cli.py): one worker, loop and
# HTTP parser chosen by uvicorn ("auto"), warnings only, no access log.
SERVER_FLAGS: dict[str, Any] = {"host": "127.0.0.1", "log_level": "warning", "access_log": False}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class BaselineConfig:
    dsn: str
    tenant_id: str
    user_id: str
    pool_size: int
    port: int

    def to_env(self) -> str:
        return json.dumps(self.__dict__)


class ReadOneRow:
    def __init__(self, config: BaselineConfig) -> None:
        self.config = config
        self.args = (uuid.UUID(config.tenant_id), uuid.UUID(config.user_id))
        self.pool: asyncpg.Pool | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._read(send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.pool = await tenant_pool(self.config.dsn, self.args[0], self.config.pool_size)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read(self, send: Send) -> None:
        assert self.pool is not None
        row = await self.pool.fetchrow(USER_SQL, *self.args)
        status = 404 if row is None else 200
        body = json.dumps({} if row is None else dict(row.items()), default=str).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main() -> None:
    import uvicorn

    config = BaselineConfig(**json.loads(os.environ[CONFIG_ENV]))
    uvicorn.run(ReadOneRow(config), port=config.port, **SERVER_FLAGS)


if __name__ == "__main__":
    main()
