"""A simulated WAN: a delaying TCP proxy in front of each server (after `cockroach demo --global`).

Every region is loopback here, so geography would cost nothing. A proxy listens in
front of each PostgreSQL server and delays each connection by its link's latency:
half the round trip each way (plus optional jitter), from the region the connection
comes from to the server's region. The source region is read from the connection's
PostgreSQL startup message: its `application_name` is a server's name (a replica
streaming, as Patroni names it) or `corestore@REGION` (a front end or the library).

Patroni: each replica streams from the address its leader advertises (Patroni's
`connect_address`), one address for every replica, near or far. So the proxy is per
server, not per link, and that advertised address is the proxy's port
(`scale_units.wan.cluster`); the delay is still chosen per link, from the replica's
`application_name`, which Patroni sets to the member's name. Per-region loopback
addresses (the issue's other idea) are not needed, and the two designs do not
conflict. What no startup message names (pg_basebackup's copy, tooling) passes
undelayed, as does everything from the server's own region: those links still go
through the proxy, so a proxy that dies takes its server out of reach for everyone,
never leaving a silent direct path. A front end's proxy (`ProxySpec.source`) is plain
TCP from one region, for clients that follow a redirect across the WAN
(`scale_units.wan.links`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104
APPLICATION_PREFIX = "corestore@"
CHUNK = 64 * 1024
STATS_EVERY_S = 1.0


def application_name(region: str) -> str:
    """What a front end or library in `region` calls its connections, so a WAN proxy can place them."""
    return f"{APPLICATION_PREFIX}{region}"


@dataclass(frozen=True)
class ProxySpec:
    """One server's proxy: where it listens, the server behind it, and the server's region.

    With `source`, a plain TCP link from that region (a front end's, for clients of
    another region following a redirect): no startup message to read, one fixed delay.
    A `listen_port` of 0 is any free port (the served socket says which).
    """

    server: str
    listen_port: int
    target_port: int
    region: str
    source: str | None = None


@dataclass(frozen=True)
class WanSpec:
    proxies: tuple[ProxySpec, ...]
    server_regions: Mapping[str, str]  # every server's region, to place replication connections
    rtt_ms: Mapping[str, Mapping[str, float]]  # region -> region -> round trip
    jitter_ms: float = 0.0
    stats_file: str | None = None

    def one_way_s(self, source: str | None, target_region: str) -> float:
        """Half the round trip between the regions; nothing within a region or from an unknown one."""
        if source is None or source == target_region:
            return 0.0
        return self.rtt_ms.get(source, {}).get(target_region, 0.0) / 2000.0

    def source_region(self, name: str | None) -> str | None:
        if name is None:
            return None
        if name.startswith(APPLICATION_PREFIX):
            return name.removeprefix(APPLICATION_PREFIX)
        return self.server_regions.get(name) or self.server_regions.get(name.replace("_", "-"))

    def to_json(self) -> str:
        return json.dumps(
            {
                "proxies": [p.__dict__ for p in self.proxies],
                "server_regions": dict(self.server_regions),
                "rtt_ms": {k: dict(v) for k, v in self.rtt_ms.items()},
                "jitter_ms": self.jitter_ms,
                "stats_file": self.stats_file,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> WanSpec:
        raw = json.loads(text)
        proxies = tuple(ProxySpec(**p) for p in raw["proxies"])
        return cls(proxies, raw["server_regions"], raw["rtt_ms"], raw["jitter_ms"], raw["stats_file"])


@dataclass
class Traffic:
    """Bytes moved per link (source region -> server), for CPU per MiB in the report."""

    moved: dict[str, int] = field(default_factory=dict)

    def add(self, link: str, count: int) -> None:
        self.moved[link] = self.moved.get(link, 0) + count


async def _startup(client: asyncio.StreamReader, answer: asyncio.StreamWriter) -> tuple[bytes, str | None]:
    """The client's startup message and its application_name.

    SSL and GSS encryption requests are declined here ('N'), as the servers decline
    them too, so the startup message that follows can be read.
    """
    while True:
        length = int.from_bytes(await client.readexactly(4), "big")
        body = await client.readexactly(length - 4)
        if int.from_bytes(body[:4], "big") not in (SSL_REQUEST, GSSENC_REQUEST):
            break
        answer.write(b"N")
        await answer.drain()
    fields = body[4:].split(b"\x00")
    params = dict(zip(fields[0::2], fields[1::2], strict=False))
    name = params.get(b"application_name")
    return length.to_bytes(4, "big") + body, None if name is None else name.decode("utf-8", "replace")


async def _pump(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    delay_s: float,
    jitter_s: float,
    count: Callable[[int], None],
    first: bytes = b"",
) -> None:
    """Copy one direction, each chunk leaving `delay_s` (+ jitter) after it arrived, in order."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            due, chunk = await queue.get()
            if not chunk:
                return
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()
            count(len(chunk))

    sender = asyncio.create_task(send())
    last_due = 0.0
    try:
        chunk = first or await reader.read(CHUNK)
        while chunk:
            jitter = random.uniform(-jitter_s, jitter_s) if jitter_s else 0.0
            last_due = max(last_due, time.monotonic() + max(0.0, delay_s + jitter))
            queue.put_nowait((last_due, chunk))
            chunk = await reader.read(CHUNK)
        queue.put_nowait((0.0, b""))
        await sender
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        sender.cancel()
        writer.close()


class Proxy:
    """The proxy in front of one server."""

    def __init__(self, spec: ProxySpec, wan: WanSpec, traffic: Traffic) -> None:
        self.spec = spec
        self.wan = wan
        self.traffic = traffic

    async def serve(self) -> asyncio.Server:
        return await asyncio.start_server(self._connection, "127.0.0.1", self.spec.listen_port)

    async def _connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        startup, source = b"", self.spec.source
        try:
            if source is None:
                startup, name = await _startup(client_r, client_w)
                source = self.wan.source_region(name)
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.spec.target_port)
        except (OSError, asyncio.IncompleteReadError):
            client_w.close()
            return
        delay = self.wan.one_way_s(source, self.spec.region)
        jitter = self.wan.jitter_ms / 1000.0 if delay else 0.0
        link = f"{source or 'unknown'}->{self.spec.server}"

        def count(n: int) -> None:
            self.traffic.add(link, n)

        try:
            await asyncio.gather(
                _pump(client_r, server_w, delay, jitter, count, startup),
                _pump(server_r, client_w, delay, jitter, count),
            )
        except asyncio.CancelledError:
            # The proxy's loop is shutting down: the link ends here. Returning (not raising)
            # keeps asyncio's stream callback from logging the cancellation as an error.
            client_w.close()
            server_w.close()


async def run(wan: WanSpec) -> None:
    """Every proxy of `wan`, until cancelled; traffic and CPU written to the stats file each second."""
    traffic = Traffic()
    servers = [await Proxy(spec, wan, traffic).serve() for spec in wan.proxies]
    try:
        while True:
            if wan.stats_file is not None:
                _write_stats(Path(wan.stats_file), traffic)
            await asyncio.sleep(STATS_EVERY_S)
    finally:
        for server in servers:
            server.close()


def _write_stats(path: Path, traffic: Traffic) -> None:
    """A small file, replaced whole: the bench reads it for CPU seconds per MiB moved."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"cpu_s": time.process_time(), "moved": traffic.moved}))
    tmp.replace(path)


def main() -> None:
    """`python -m scale_units.wan.proxy SPEC.json`: what the launcher starts for `cluster up --wan`."""
    spec = WanSpec.from_json(Path(sys.argv[1]).read_text())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(spec))


if __name__ == "__main__":
    main()
