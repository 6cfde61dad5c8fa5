"""What the store, its routing and its monitor know, read when Prometheus scrapes (nothing is
kept twice, and the hot path only adds to plain counters: `corestore.servers.stats`)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from auth_service.oauth.tokens import TokenVerifier
from corestore.passwords import queue_depth
from corestore.servers.monitor import ReplicaMonitor
from corestore.store import CoreStore


class StoreCollector(Collector):
    def __init__(self, store: CoreStore, monitor: ReplicaMonitor, verifier: TokenVerifier) -> None:
        self.store = store
        self.monitor = monitor
        self.verifier = verifier

    def collect(self) -> Iterable[Metric]:
        yield from self._store()
        yield from self._cluster()
        yield from self._auth()

    def _store(self) -> Iterable[Metric]:
        stats = self.store.stats
        reads = CounterMetricFamily(
            "corestore_store_reads", "Reads served, by server and role", labels=("server", "role")
        )
        for (server, role), count in sorted(stats.reads.items()):
            reads.add_metric((server, role), count)
        yield reads
        yield CounterMetricFamily(
            "corestore_store_consistency_waits",
            "Reads that waited for a replica to replay the session's own write",
            value=stats.consistency_waits,
        )
        yield CounterMetricFamily(
            "corestore_store_consistency_wait_seconds",
            "Time reads spent waiting for their session's own write",
            value=stats.consistency_wait_s,
        )
        yield CounterMetricFamily("corestore_store_commits", "Writes committed", value=stats.commits)
        yield CounterMetricFamily(
            "corestore_store_commits_uncertain",
            "Commits that did not come back (CommitUncertain: they may have committed)",
            value=stats.commits_uncertain,
        )
        size = GaugeMetricFamily(
            "corestore_pool_connections", "Pooled connections open", labels=("server", "database")
        )
        used = GaugeMetricFamily(
            "corestore_pool_connections_in_use", "Pooled connections lent out", labels=("server", "database")
        )
        for server, database, open_, in_use in sorted(self.store.pools.usage()):
            size.add_metric((server, database), open_)
            used.add_metric((server, database), in_use)
        yield size
        yield used

    def _cluster(self) -> Iterable[Metric]:
        health = self.store.router.health
        down = CounterMetricFamily(
            "corestore_store_servers_marked_down", "Times a server was marked down", labels=("server",)
        )
        for name, count in sorted(health.marked_down.items()):
            down.add_metric((name,), count)
        yield down
        topology = self.store.router.topology
        up = GaugeMetricFamily("corestore_server_up", "1 while a server is in routing", labels=("server",))
        lag = GaugeMetricFamily(
            "corestore_replica_lag_bytes", "Replay lag behind the primary, as last probed", labels=("server",)
        )
        quorum = GaugeMetricFamily(
            "corestore_unit_quorum_lost", "1 while a unit's primary has no quorum replica", labels=("unit",)
        )
        watched = [u for u in topology.scale_units.values() if self.monitor.geo in (None, u.geo)]
        for unit in sorted(watched, key=lambda u: u.id):
            quorum.add_metric((unit.id,), 1 if unit.id in health.quorum_lost else 0)
            for server in unit.servers:
                up.add_metric((server.name,), 1 if health.is_up(server.name) else 0)
        for name, behind in sorted(self.monitor.lag_bytes.items()):
            lag.add_metric((name,), behind)
        yield from (up, lag, quorum)
        yield CounterMetricFamily(
            "corestore_leader_changes",
            "Leader changes the monitor has seen",
            value=self.monitor.leader_changes,
        )

    def _auth(self) -> Iterable[Metric]:
        cache = CounterMetricFamily(
            "corestore_token_verifications", "Access-token checks, by cache result", labels=("cache",)
        )
        cache.add_metric(("hit",), self.verifier.remembered)
        cache.add_metric(("miss",), self.verifier.verified)
        yield cache
        yield GaugeMetricFamily(
            "corestore_argon2_queue_depth", "Password hashing jobs waiting for a thread", value=queue_depth()
        )
