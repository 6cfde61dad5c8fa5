"""One pooled async engine per (server, role, database), and the one session factory."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from scale_units.state import DIRECTORY_DB, ClusterState
from scale_units.types import ServerName

Session = async_sessionmaker(class_=AsyncSession, expire_on_commit=False)

CONNECT_TIMEOUT_S = 2.0


class Engines:
    """Engines are created on first use and kept: pools are per server, not per request."""

    def __init__(self, state: ClusterState, pool_size: int = 10) -> None:
        self.state = state
        self.pool_size = pool_size
        self._engines: dict[tuple[ServerName, str, str], AsyncEngine] = {}

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
        self._engines.clear()
