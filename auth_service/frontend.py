"""One front-end instance's lifetime: what runs in the background, and what it registers.

Stateless in the sense that matters: everything here is a cache or a policy;
killing an instance loses nothing, and another instance serves the same clients.
`auth_service.bootstrap` builds it; the routes see only its `services`.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from auth_service.http.throttle import Limits
from auth_service.oauth.sign_in_writer import INTERVAL_S as SIGN_IN_FLUSH_S
from auth_service.oauth.sign_in_writer import SignInWriter
from auth_service.services import Services
from corestore.retention import Retention, RetentionJob
from corestore.servers.monitor import ReplicaMonitor
from corestore.store import CoreStore
from scale_units.registry import FrontEndEntry, FrontEndRegistry
from scale_units.wan.links import FrontEndLinks


@dataclass(frozen=True)
class FrontEndConfig:
    region: str
    directory: Path
    limits: Limits = field(default_factory=Limits)
    pool_size: int = 20
    access_token_lifetime_s: int = 3600
    sign_in_flush_s: float = SIGN_IN_FLUSH_S
    retention: Retention = field(default_factory=Retention)  # deleted items and audit records
    url: str | None = None  # where clients reach this instance: registered, for other geos' redirects


class FrontEnd:
    def __init__(
        self,
        services: Services,
        store: CoreStore,
        monitor: ReplicaMonitor,
        sign_ins: SignInWriter,
        retention: RetentionJob,
        registry: FrontEndRegistry,
        links: FrontEndLinks | None,
        url: str | None,
    ) -> None:
        self.services = services
        self.store = store
        self.monitor = monitor
        self.sign_ins = sign_ins
        self.retention = retention  # purges its geo's tenants' expired deleted items and audit records
        self.registry = registry
        self.links = links  # with the WAN on, where clients of other regions reach this instance
        self.url = url
        self._registration: Path | None = None

    @property
    def region(self) -> str:
        return self.services.region

    async def start(self) -> None:
        self.monitor.start()
        self.sign_ins.start()
        self.retention.start()
        if self.url is not None:
            links = {} if self.links is None else await self.links.start()
            self._registration = self.registry.register(
                FrontEndEntry(self.region, self.url, os.getpid(), socket.gethostname(), links)
            )

    async def close(self) -> None:
        """The sign-in log drains first: it still needs the store."""
        if self._registration is not None:
            self.registry.unregister(self._registration)
        if self.links is not None:
            self.links.close()
        await self.retention.stop()
        await self.sign_ins.close()
        await self.monitor.stop()
        await self.store.close()
