"""Routing: nearest healthy replica first, primary last, never a server of another scale unit."""

from __future__ import annotations

import pytest

from scale_units.errors import NoScaleUnitAvailable
from scale_units.model.loader import default_topology_path, load_topology
from scale_units.model.placement import PlacementPolicy, UnitLoad, choose_unit
from scale_units.routing import HealthBook, Router, distance_ms

LARGE = load_topology(default_topology_path("large"))


@pytest.mark.parametrize(
    ("region", "first"),
    [
        ("westeurope", "emea-2-westeurope"),
        ("francecentral", "emea-2-francecentral"),
        (None, "emea-2-francecentral"),
    ],
)
def test_reads_go_to_the_nearest_replica(region: str | None, first: str) -> None:
    unit = LARGE.scale_units["emea-2"]
    order = Router(LARGE, region).read_order(unit)
    assert order[0].name == first
    assert order[-1] is unit.primary
    assert {s.name for s in order} == {s.name for s in unit.servers}


def test_a_replica_marked_down_goes_last_until_its_backoff_ends() -> None:
    now = [0.0]
    health = HealthBook(clock=lambda: now[0])
    unit = LARGE.scale_units["emea-2"]
    router = Router(LARGE, "westeurope", health)
    health.mark_down("emea-2-westeurope")
    assert router.read_order(unit)[0].name == "emea-2-francecentral"
    assert router.read_order(unit)[-1].name == "emea-2-westeurope"
    now[0] = 10.0
    assert router.read_order(unit)[0].name == "emea-2-westeurope"


def test_backoff_grows_with_repeated_failures() -> None:
    now = [0.0]
    health = HealthBook(base_backoff_s=1.0, max_backoff_s=4.0, clock=lambda: now[0])
    for _ in range(5):
        health.mark_down("x")
    now[0] = 3.9
    assert not health.is_up("x")
    now[0] = 4.1
    assert health.is_up("x")


def test_measured_latency_overrides_distance() -> None:
    regions = load_topology(default_topology_path()).regions
    assert distance_ms(regions["westeurope"], regions["northeurope"]) == 18.0
    assert 30 < distance_ms(regions["eastus"], regions["westus2"]) < 40


def test_placement_is_least_loaded_and_respects_caps() -> None:
    loads = [UnitLoad("a", 100, 50), UnitLoad("b", 1000, 100), UnitLoad("c", 10, 10)]
    assert choose_unit(loads) == "b"
    assert choose_unit(loads, PlacementPolicy.FEWEST_TENANTS) == "a"
    draining = [UnitLoad("a", 100, 0, accepts_tenants=False), UnitLoad("b", 100, 90)]
    assert choose_unit(draining) == "b", "a draining unit is passed over, however empty"
    with pytest.raises(NoScaleUnitAvailable, match="a draining"):
        choose_unit(draining[:1])
    with pytest.raises(NoScaleUnitAvailable, match="no scale unit with room"):
        choose_unit([UnitLoad("c", 10, 10)])
    with pytest.raises(NoScaleUnitAvailable, match="no scale unit"):
        choose_unit([])
