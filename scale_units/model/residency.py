"""The component-location table: where each component's data is stored, per cloud solution model.

Like the seeds' table of Entra's components, as data (`data/residency.toml`) that a
topology may override (its `[residency]` table). A rule stored more widely than the
tenant's geo must declare its exception in words; a sovereign cloud declares none.
`corestore residency report` prints the table; `corestore audit residency` holds the
cluster to it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from scale_units.errors import TopologyError
from scale_units.model.geography import Cloud, Geo

DEFAULT_TABLE = Path(__file__).parent.parent / "data" / "residency.toml"


class Component(StrEnum):
    DIRECTORY_OBJECTS = "directory-objects"
    SIGN_IN_LOGS = "sign-in-logs"
    CATALOG = "catalog"  # placement and verified domains: tenant discovery
    SIGNING_KEYS = "signing-keys"
    FRONT_END = "front-end-logs-and-state"
    WAL = "wal-and-backups"
    TENANT_MOVES = "tenant-moves"  # a move in flight: its slot and publication, the target's copy


class Model(StrEnum):
    """The seeds' cloud solution models."""

    GEO_LOCATED = "geo-located"
    WORLDWIDE = "worldwide"
    SOVEREIGN = "sovereign"

    @classmethod
    def of(cls, cloud: Cloud, geo: Geo) -> Model:
        if cloud.sovereign:
            return cls.SOVEREIGN
        return cls.WORLDWIDE if geo is Geo.WORLDWIDE else cls.GEO_LOCATED


class Place(StrEnum):
    """Where, relative to the tenant, a component's data may be at rest."""

    SCALE_UNIT = "tenant-scale-unit"  # the servers of the tenant's own scale unit
    GEO = "tenant-geo"  # any server or front end in the tenant's geo
    CATALOG_UNIT = "catalog-unit"  # the servers of the tenant's cloud's catalog unit
    CLOUD = "tenant-cloud"  # anywhere in the tenant's cloud

    @property
    def beyond_geo(self) -> bool:
        """Whether this place can lie outside the tenant's geo (then an exception is owed)."""
        return self in (Place.CATALOG_UNIT, Place.CLOUD)


@dataclass(frozen=True)
class Rule:
    component: Component
    model: Model
    stored: Place
    exception: str | None = None  # the declared exception, in words, when stored beyond the geo
    summary: str = ""

    def to_json(self) -> dict[str, str | None]:
        return {
            "component": self.component.value,
            "model": self.model.value,
            "stored": self.stored.value,
            "exception": self.exception,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class ResidencyTable:
    rules: Mapping[tuple[Model, Component], Rule]

    def rule(self, model: Model, component: Component) -> Rule:
        return self.rules[(model, component)]

    def merged(self, override: Mapping[str, Any]) -> ResidencyTable:
        """This table with a topology's `[residency]` rules in place of the defaults."""
        rules = dict(self.rules)
        rules.update(_parse(override, "residency", partial=True))
        return ResidencyTable(rules)


def default_table() -> ResidencyTable:
    with DEFAULT_TABLE.open("rb") as f:
        return ResidencyTable(_parse(tomllib.load(f), "residency", partial=False))


def _parse(raw: Mapping[str, Any], key: str, *, partial: bool) -> dict[tuple[Model, Component], Rule]:
    if not isinstance(raw, Mapping):
        raise TopologyError(key, "must be a table of models")
    rules: dict[tuple[Model, Component], Rule] = {}
    for model_name, components in raw.items():
        model = _choice(Model, model_name, f"{key}.{model_name}")
        if not isinstance(components, Mapping):
            raise TopologyError(f"{key}.{model_name}", "must be a table of components")
        for component_name, spec in components.items():
            where = f"{key}.{model_name}.{component_name}"
            component = _choice(Component, component_name, where)
            rules[(model, component)] = _rule(model, component, spec, where)
    missing = [f"{m}.{c}" for m in Model for c in Component if (m, c) not in rules]
    if missing and not partial:
        raise TopologyError(key, f"no rule for {', '.join(missing)}")
    return rules


def _rule(model: Model, component: Component, spec: Any, where: str) -> Rule:
    if not isinstance(spec, Mapping) or set(spec) - {"stored", "exception", "summary"}:
        raise TopologyError(where, "must be a table with `stored`, and optionally `exception` and `summary`")
    stored = _choice(Place, spec.get("stored"), f"{where}.stored")
    exception = spec.get("exception")
    if exception is not None and (not isinstance(exception, str) or not exception.strip()):
        raise TopologyError(f"{where}.exception", "must be a sentence")
    if model is Model.SOVEREIGN and exception is not None:
        raise TopologyError(f"{where}.exception", "a sovereign cloud declares no exceptions")
    if model is not Model.SOVEREIGN and stored.beyond_geo and exception is None:
        raise TopologyError(f"{where}.exception", f"{stored.value} can lie outside the geo: declare why")
    return Rule(component, model, stored, exception, str(spec.get("summary", "")))


def _choice(kind: type[StrEnum], value: Any, where: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(k.value for k in kind)
        raise TopologyError(where, f"{value!r} is not one of: {known}") from None
