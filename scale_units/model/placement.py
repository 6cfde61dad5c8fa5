"""Choosing a tenant's scale unit: a small policy enum and its table of rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from scale_units.errors import NoScaleUnitAvailable
from scale_units.model.types import ScaleUnitId


@dataclass(frozen=True)
class UnitLoad:
    id: ScaleUnitId
    capacity: int
    tenant_count: int
    accepts_tenants: bool = True  # False while the unit drains: its tenants stay, no new ones come

    @property
    def open(self) -> bool:
        return self.accepts_tenants and self.tenant_count < self.capacity


class PlacementPolicy(StrEnum):
    LEAST_LOADED = "least-loaded"  # fewest tenants relative to capacity
    FEWEST_TENANTS = "fewest-tenants"  # fewest tenants, capacity only as a cap


RULES: dict[PlacementPolicy, Callable[[UnitLoad], tuple[float, str]]] = {
    PlacementPolicy.LEAST_LOADED: lambda u: (u.tenant_count / u.capacity, u.id),
    PlacementPolicy.FEWEST_TENANTS: lambda u: (float(u.tenant_count), u.id),
}


def choose_unit(
    loads: Sequence[UnitLoad], policy: PlacementPolicy = PlacementPolicy.LEAST_LOADED
) -> ScaleUnitId:
    """Deterministic: the same loads always give the same unit (ties broken by id)."""
    open_units = [u for u in loads if u.open]
    if not loads:
        raise NoScaleUnitAvailable("this geo has no scale unit")
    if not open_units:
        draining = ", ".join(sorted(u.id for u in loads if not u.accepts_tenants))
        raise NoScaleUnitAvailable(
            "no scale unit with room in this geo" + (f" ({draining} draining)" if draining else "")
        )
    return min(open_units, key=RULES[policy]).id
