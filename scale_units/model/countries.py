"""Country -> geo-location, per cloud: the choice a tenant makes once, at creation."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pycountry

from scale_units.errors import TopologyError, UnknownCountry, checked
from scale_units.model.geography import Cloud, Geo, parse_cloud, parse_geo
from scale_units.model.types import CountryCode

ISO_CODES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries)


@dataclass(frozen=True)
class CountryTable:
    """Which geo serves each country in each cloud."""

    geos: Mapping[Cloud, Mapping[CountryCode, Geo]]
    defaults: Mapping[Cloud, Geo]

    def geo_for(self, cloud: Cloud, country: str) -> Geo:
        code = normalize_country(country)
        found = self.geos.get(cloud, {}).get(code) or self.defaults.get(cloud)
        if found is None:
            raise UnknownCountry(f"cloud {cloud.value} does not serve country {code}")
        return found


def normalize_country(country: str) -> CountryCode:
    code = country.strip().upper()
    if code not in ISO_CODES:
        raise UnknownCountry(f"{country!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def parse_country_table(raw: Mapping[str, Any], key: str = "countries") -> CountryTable:
    geos: dict[Cloud, dict[CountryCode, Geo]] = {}
    defaults: dict[Cloud, Geo] = {}
    for cloud_name, table in raw.items():
        cloud_key = f"{key}.{cloud_name}"
        cloud = checked(cloud_key, parse_cloud, cloud_name)
        if not isinstance(table, Mapping):
            raise TopologyError(cloud_key, "must be a table of geo = [country codes]")
        by_code: dict[CountryCode, Geo] = {}
        for geo_name, codes in table.items():
            geo_key = f"{cloud_key}.{geo_name}"
            if geo_name == "default":
                defaults[cloud] = checked(geo_key, parse_geo, cloud, str(codes))
                continue
            geo = checked(geo_key, parse_geo, cloud, geo_name)
            _add_codes(by_code, geo, codes, geo_key)
        geos[cloud] = by_code
    return CountryTable(geos=geos, defaults=defaults)


def _add_codes(by_code: dict[CountryCode, Geo], geo: Geo, codes: Any, key: str) -> None:
    if not isinstance(codes, list):
        raise TopologyError(key, "must be a list of ISO 3166-1 alpha-2 codes")
    for code in codes:
        if not isinstance(code, str) or code not in ISO_CODES:
            raise TopologyError(key, f"unknown country {code!r}")
        if code in by_code:
            raise TopologyError(key, f"country {code} is listed twice (also {by_code[code]})")
        by_code[code] = geo


def default_country_table() -> CountryTable:
    text = resources.files("scale_units").joinpath("data/countries.toml").read_text()
    return parse_country_table(tomllib.loads(text))
