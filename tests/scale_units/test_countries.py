"""Every ISO 3166-1 country maps to a public-cloud geo; sovereign clouds serve their own."""

from __future__ import annotations

import pycountry
import pytest

from scale_units.errors import UnknownCountry
from scale_units.model.countries import default_country_table
from scale_units.model.geography import GEOS_BY_CLOUD, Cloud, Geo

TABLE = default_country_table()


def test_every_iso_country_has_a_public_geo() -> None:
    for country in pycountry.countries:
        assert TABLE.geo_for(Cloud.PUBLIC, country.alpha_2) in GEOS_BY_CLOUD[Cloud.PUBLIC]


@pytest.mark.parametrize(
    ("country", "geo"),
    [
        ("FR", Geo.EMEA),
        ("ng", Geo.EMEA),
        ("US", Geo.NORTH_AMERICA),
        ("JP", Geo.JAPAN),
        ("AU", Geo.AUSTRALIA),
        ("SG", Geo.ASIA_PACIFIC),
        ("BR", Geo.WORLDWIDE),
        (" de ", Geo.EMEA),
    ],
)
def test_country_maps_to_geo(country: str, geo: Geo) -> None:
    assert TABLE.geo_for(Cloud.PUBLIC, country) is geo


def test_sovereign_clouds_serve_only_their_countries() -> None:
    assert TABLE.geo_for(Cloud.USGOV, "US") is Geo.USGOV
    assert TABLE.geo_for(Cloud.CHINA, "CN") is Geo.CHINA
    with pytest.raises(UnknownCountry, match="does not serve country FR"):
        TABLE.geo_for(Cloud.USGOV, "FR")


@pytest.mark.parametrize("bad", ["XX", "FRA", "", "1"])
def test_unknown_country_is_refused(bad: str) -> None:
    with pytest.raises(UnknownCountry, match="ISO 3166-1"):
        TABLE.geo_for(Cloud.PUBLIC, bad)
