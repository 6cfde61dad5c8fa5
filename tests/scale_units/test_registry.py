"""The front-end registry: live entries only, nearest ready one of a geo, unknown regions refused by name."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scale_units.errors import TopologyError
from scale_units.model.geography import Cloud, Geo
from scale_units.model.loader import default_topology_path, load_topology
from scale_units.registry import FrontEndEntry, FrontEndRegistry

TOPOLOGY = load_topology(default_topology_path())


def _all_ready(url: str) -> bool:
    """For what these tests check beside readiness: every live entry answers /readyz."""
    return True


def test_nearest_front_end_of_a_geo_among_live_ones(tmp_path: Path) -> None:
    registry = FrontEndRegistry(tmp_path, TOPOLOGY, _all_ready)
    registry.register(FrontEndEntry("westus2", "https://127.0.0.1:9002", os.getpid()))
    east = registry.register(FrontEndEntry("eastus", "https://127.0.0.1:9001", os.getpid()))
    registry.register(FrontEndEntry("westeurope", "https://127.0.0.1:9003"))
    found = registry.nearest(Cloud.PUBLIC, Geo.NORTH_AMERICA, "westeurope")
    assert found is not None
    assert found.region == "eastus", "eastus is nearer to Europe than westus2"
    registry.unregister(east)
    found = registry.nearest(Cloud.PUBLIC, Geo.NORTH_AMERICA, "westeurope")
    assert found is not None
    assert found.region == "westus2"
    assert registry.nearest(Cloud.USGOV, Geo.USGOV, "westeurope") is None


def test_a_gone_front_end_is_not_offered(tmp_path: Path) -> None:
    registry = FrontEndRegistry(tmp_path, TOPOLOGY)
    registry.register(FrontEndEntry("eastus", "https://127.0.0.1:9001", pid=2**22 + 12345))
    assert registry.entries() == []


def test_a_pid_counts_only_on_its_own_host(tmp_path: Path) -> None:
    """Compose front ends share the directory from containers of their own: another host's pid
    says nothing here."""
    registry = FrontEndRegistry(tmp_path, TOPOLOGY)
    registry.register(FrontEndEntry("eastus", "https://eastus:8443", pid=2**22 + 12345, host="container-1"))
    registry.register(FrontEndEntry("westus2", "https://127.0.0.1:9001", 2**22 + 12345, socket.gethostname()))
    assert [e.region for e in registry.entries()] == ["eastus"]


def test_an_entry_in_an_unknown_region_is_refused_naming_it(tmp_path: Path) -> None:
    registry = FrontEndRegistry(tmp_path, TOPOLOGY)
    with pytest.raises(TopologyError, match="unknown region 'mars'"):
        registry.register(FrontEndEntry("mars", "https://127.0.0.1:9001"))
    planted = tmp_path / "frontends" / "planted.json"
    planted.parent.mkdir(exist_ok=True)
    planted.write_text(json.dumps({"region": "atlantis", "url": "https://127.0.0.1:1"}))
    with pytest.raises(TopologyError) as refused:
        registry.entries()
    assert refused.value.key == "frontends/planted.json.region"


def test_with_links_a_client_of_another_region_is_offered_only_its_link(tmp_path: Path) -> None:
    """A WAN entry: the link from the asking region, never the entry's own URL; no link, no offer."""
    registry = FrontEndRegistry(tmp_path, TOPOLOGY, _all_ready)
    links = {"westeurope": "https://127.0.0.1:9101"}
    registry.register(FrontEndEntry("eastus", "https://127.0.0.1:9001", os.getpid(), links=links))
    found = registry.nearest(Cloud.PUBLIC, Geo.NORTH_AMERICA, "westeurope")
    assert found is not None
    assert found.url_from("westeurope") == "https://127.0.0.1:9101"
    assert found.url_from("eastus") == "https://127.0.0.1:9001", "within its region, direct"
    assert registry.nearest(Cloud.PUBLIC, Geo.NORTH_AMERICA, "northeurope") is None


def test_a_link_from_an_unknown_region_is_refused_naming_it(tmp_path: Path) -> None:
    registry = FrontEndRegistry(tmp_path, TOPOLOGY)
    with pytest.raises(TopologyError, match="unknown region 'mars'") as refused:
        registry.register(FrontEndEntry("eastus", "https://127.0.0.1:9001", links={"mars": "https://x:1"}))
    assert refused.value.key.endswith(".links")


def _health(readyz: int) -> type[BaseHTTPRequestHandler]:
    """A front end's health endpoints as the registry sees them: alive, and /readyz answers `readyz`."""

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(readyz if self.path == "/readyz" else 200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test's output is its assertions."""

    return Health


@contextlib.contextmanager
def _serving(readyz: int) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _health(readyz))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_live_front_end_that_is_not_ready_is_not_offered(tmp_path: Path) -> None:
    """eastus lives (its pid is ours) but its /readyz answers 503: a client of Europe is sent to
    westus2, farther but ready; with westus2 gone, to none."""
    registry = FrontEndRegistry(tmp_path, TOPOLOGY)
    with _serving(503) as unready, _serving(200) as ready:
        registry.register(FrontEndEntry("eastus", unready, os.getpid()))
        west = registry.register(FrontEndEntry("westus2", ready, os.getpid()))
        found = registry.nearest(Cloud.PUBLIC, Geo.NORTH_AMERICA, "westeurope")
        assert found is not None
        assert found.url == ready
        registry.unregister(west)
        assert registry.nearest(Cloud.PUBLIC, Geo.NORTH_AMERICA, "westeurope") is None


def test_another_host_s_front_end_is_offered_unprobed(tmp_path: Path) -> None:
    """A compose front end registers its clients' URL (a port published on the host), which need
    not lead anywhere from another container: its orchestrator's healthchecks watch it instead."""
    registry = FrontEndRegistry(tmp_path, TOPOLOGY)
    registry.register(FrontEndEntry("eastus", "https://127.0.0.1:1", pid=2**22 + 12345, host="container-1"))
    found = registry.nearest(Cloud.PUBLIC, Geo.NORTH_AMERICA, "westeurope")
    assert found is not None
    assert found.url == "https://127.0.0.1:1"
