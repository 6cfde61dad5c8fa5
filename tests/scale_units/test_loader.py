"""Topology files: the shipped ones load, bad ones are refused naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from devtools.cli import app
from scale_units.errors import TopologyError
from scale_units.model.geography import Cloud, Geo
from scale_units.model.loader import default_topology_path, load_topology
from scale_units.model.residency import Component, Model, Place
from scale_units.model.topology import NoQuorum, Role

GOOD = (default_topology_path()).read_text()


def test_default_topology_has_two_geos_two_regions_each() -> None:
    topology = load_topology(default_topology_path())
    assert {u.geo for u in topology.scale_units.values()} == {Geo.EMEA, Geo.NORTH_AMERICA}
    for unit in topology.scale_units.values():
        assert unit.primary.role is Role.PRIMARY
        assert len({s.region for s in unit.servers}) == 2
        assert all(topology.regions[s.region].geo is unit.geo for s in unit.servers)


def test_default_topology_leaves_two_datacenters_whichever_server_is_lost() -> None:
    """The topology's side of surviving any one server, on paper: whichever server is lost, two
    servers in two datacenters remain (a primary, and a quorum replica in another datacenter), and a
    unit with no quorum member waits rather than degrades. The real kills are in test_failover.py."""
    for unit in load_topology(default_topology_path()).scale_units.values():
        for lost in unit.servers:
            left = [s for s in unit.servers if s is not lost]
            assert len({s.datacenter for s in left}) >= 2, (unit.id, lost.name)
        assert unit.no_quorum is NoQuorum.WAIT


@pytest.mark.parametrize("name", ["sovereign", "large"])
def test_shipped_examples_load(name: str) -> None:
    topology = load_topology(default_topology_path(name))
    assert Cloud.USGOV in topology.clouds()
    assert all(topology.catalog_unit(c).cloud is c for c in topology.clouds())


BAD = [
    (
        'replicas = ["westeurope", "northeurope"]',
        'replicas = ["westeurope"]',
        "scale_units.emea-1.replicas",
        "two or more regions",
    ),
    ('replicas = ["eastus", "westus2"]', 'replicas = ["eastus"]', "scale_units.na-1.replicas", "two or more"),
    (
        'replicas = ["westeurope", "northeurope"]',
        'replicas = ["westeurope", "westus2"]',
        "scale_units.emea-1.replicas",
        "outside the scale unit",
    ),
    # The durability rule: a commit waits for one replica, which must be in another datacenter.
    (
        'replicas = ["westeurope", "northeurope"]',
        'replicas = ["westeurope", "westeurope", "westeurope", "northeurope"]',
        "scale_units.emea-1.replicas",
        "4 servers in westeurope, which has 3 datacenter(s)",
    ),
    (
        'replicas = ["eastus", "westus2"]\nno_quorum = "wait"',
        'replicas = ["eastus", "westus2"]\nno_quorum = "sometimes"',
        "scale_units.na-1.no_quorum",
        "'sometimes' is not a valid NoQuorum",
    ),
    ("datacenters = 3", "datacenters = 0", "regions.westeurope.datacenters", "from 1 to 9"),
    ('primary = "eastus"', 'primary = "mars"', "scale_units.na-1.primary", "unknown region"),
    ('geo = "emea"\ncapacity', 'geo = "atlantis"\ncapacity', "scale_units.emea-1.geo", "atlantis"),
    (
        'capacity = 100000\nprimary = "eastus"',
        'capacity = 0\nprimary = "eastus"',
        "scale_units.na-1.capacity",
        "positive",
    ),
    (
        "[regions.eastus]",
        "[regions.EASTUS2]\ncloud='public'\ngeo='emea'\nlatitude=1\nlongitude=1\n[regions.eastus]",
        "regions.EASTUS2",
        "lowercase",
    ),
    ("latitude = 37.37", "latitude = 137.37", "regions.eastus.latitude", "between"),
    # The latency table feeds routing and the WAN proxies' delays.
    (
        "latency_ms = { northeurope = 18.0 }",
        "latency_ms = { northeurope = -18.0 }",
        "regions.westeurope.latency_ms.northeurope",
        "non-negative",
    ),
    (
        "latency_ms = { northeurope = 18.0 }",
        "latency_ms = { northeurope = 18.0, mars = 5 }",
        "regions.westeurope.latency_ms.mars",
        "unknown region",
    ),
    ("[catalogs]", "[wan]\njitter_ms = -1\n[catalogs]", "wan.jitter_ms", "from 0"),
    ("[catalogs]", '[wan]\nenabled = "yes"\n[catalogs]', "wan.enabled", "true or false"),
    ("[catalogs]", "[wan]\nlatency = 5\n[catalogs]", "wan.latency", "unknown key"),
    ('public = "na-1"', 'public = "na-9"', "catalogs.public", "not a scale unit"),
    ("[catalogs]", "[unknown_table]\nx = 1\n[catalogs]", "topology.unknown_table", "unknown key"),
    (
        'public = "na-1"',
        'public = "na-1"\n[countries.public]\nemea = ["FR", "ZZ"]',
        "countries.public.emea",
        "unknown country",
    ),
    (
        'public = "na-1"',
        'public = "na-1"\n[countries.public]\nemea = ["FR"]\njapan = ["FR"]',
        "countries.public.japan",
        "listed twice",
    ),
    (
        'cloud = "public"\ngeo = "emea"\ncapacity',
        'cloud = "usgov"\ngeo = "emea"\ncapacity',
        "scale_units.emea-1.geo",
        "not in cloud usgov",
    ),
]


@pytest.mark.parametrize(("old", "new", "key", "problem"), BAD)
def test_bad_topology_is_refused_naming_the_key(
    tmp_path: Path, old: str, new: str, key: str, problem: str
) -> None:
    assert old in GOOD
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(TopologyError) as info:
        load_topology(path)
    assert info.value.key == key
    assert problem in str(info.value)


def test_duplicate_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.toml"
    path.write_text(GOOD + '\n[scale_units.na-1]\ncloud = "public"\n')
    with pytest.raises(TopologyError, match="not valid TOML"):
        load_topology(path)


def test_cluster_up_with_bad_topology_starts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace('primary = "eastus"', 'primary = "mars"'))
    state_dir = tmp_path / "state"
    result = CliRunner().invoke(app, ["cluster", "up", "--topology", str(path), "--dir", str(state_dir)])
    assert result.exit_code == 1
    assert "scale_units.na-1.primary: unknown region 'mars'" in result.output
    assert not state_dir.exists()


RESIDENCY_BAD = [
    (
        '[residency.geo-located.catalog]\nstored = "tenant-geo"\nextra = 1',
        "residency.geo-located.catalog",
        "stored",
    ),
    ('[residency.regional.catalog]\nstored = "tenant-geo"', "residency.regional", "geo-located"),
    (
        '[residency.geo-located.mailboxes]\nstored = "tenant-geo"',
        "residency.geo-located.mailboxes",
        "catalog",
    ),
    (
        '[residency.geo-located.catalog]\nstored = "moon"',
        "residency.geo-located.catalog.stored",
        "tenant-geo",
    ),
    (
        '[residency.geo-located.catalog]\nstored = "tenant-cloud"',
        "residency.geo-located.catalog.exception",
        "declare",
    ),
    (
        '[residency.sovereign.catalog]\nstored = "catalog-unit"\nexception = "because"',
        "residency.sovereign.catalog.exception",
        "no exceptions",
    ),
]


@pytest.mark.parametrize(("table", "key", "words"), RESIDENCY_BAD)
def test_bad_residency_rules_are_refused_naming_the_key(
    tmp_path: Path, table: str, key: str, words: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD + "\n" + table + "\n")
    with pytest.raises(TopologyError) as refused:
        load_topology(path)
    assert refused.value.key == key
    assert words in refused.value.problem


def test_a_topology_may_keep_the_catalog_in_the_geo(tmp_path: Path) -> None:
    path = tmp_path / "strict.toml"
    path.write_text(GOOD + '\n[residency.geo-located.catalog]\nstored = "tenant-geo"\n')
    rule = load_topology(path).residency.rule(Model.GEO_LOCATED, Component.CATALOG)
    assert rule.stored is Place.GEO
    assert rule.exception is None
