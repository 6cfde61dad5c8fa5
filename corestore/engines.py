"""One pooled async engine per (server, role, database), and the one session factory."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from scale_units.state import DIRECTORY_DB, ClusterState
from scale_units.types import ServerName

Session = async_sessionmaker(class_=AsyncSession, expire_on_commit=False)

CONNECT_TIMEOUT_S = 2.0


async def _reset(conn: asyncpg.Connection) -> None:
    """On release: a connection still in a transaction (an interrupted read) is rolled back,
    so no tenant setting outlives its transaction; otherwise no round trip is spent."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class Engines:
    """Engines and pools are created on first use and kept: per server, not per request.

    Writes and lists go through SQLAlchemy engines; point reads, the hot path, through
    a plain asyncpg pool per server (SQLAlchemy's checkout costs more than the read).
    """

    def __init__(self, state: ClusterState, pool_size: int = 10) -> None:
        self.state = state
        self.pool_size = pool_size
        self._engines: dict[tuple[ServerName, str, str], AsyncEngine] = {}
        self._readers: dict[ServerName, asyncpg.Pool] = {}
        self._lock = asyncio.Lock()

    async def reader(self, server: ServerName) -> asyncpg.Pool:
        """The app role's read pool on `server` (connections are made when first needed)."""
        pool = self._readers.get(server)
        if pool is None:
            async with self._lock:
                pool = self._readers.get(server)
                if pool is None:
                    pool = await asyncpg.create_pool(
                        self.state.dsn(server, "app"),
                        min_size=0,
                        max_size=self.pool_size,
                        reset=_reset,
                        timeout=CONNECT_TIMEOUT_S,
                    )
                    self._readers[server] = pool
        return pool

    def get(self, server: ServerName, role: str = "app", database: str = DIRECTORY_DB) -> AsyncEngine:
        key = (server, role, database)
        engine = self._engines.get(key)
        if engine is None:
            url = self.state.dsn(server, role, database).replace("postgresql://", "postgresql+asyncpg://")
            engine = create_async_engine(
                url,
                pool_size=self.pool_size,
                max_overflow=self.pool_size,
                pool_pre_ping=False,
                connect_args={"timeout": CONNECT_TIMEOUT_S},
            )
            self._engines[key] = engine
        return engine

    async def dispose(self) -> None:
        for engine in self._engines.values():
            await engine.dispose()
        for pool in self._readers.values():
            await pool.close()
        self._engines.clear()
        self._readers.clear()
