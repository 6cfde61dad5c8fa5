"""Clouds and the geo-locations each one offers (the seeds' cloud solution models)."""

from enum import StrEnum


class Cloud(StrEnum):
    """An instance of the service; a sovereign cloud shares nothing with another cloud."""

    PUBLIC = "public"
    USGOV = "usgov"
    CHINA = "china"

    @property
    def sovereign(self) -> bool:
        return self is not Cloud.PUBLIC


class Geo(StrEnum):
    """A geo-location: tenant data at rest never leaves its geo."""

    NORTH_AMERICA = "north-america"
    EMEA = "emea"
    ASIA_PACIFIC = "asia-pacific"
    JAPAN = "japan"
    AUSTRALIA = "australia"
    WORLDWIDE = "worldwide"
    USGOV = "usgov"
    CHINA = "china"


GEOS_BY_CLOUD: dict[Cloud, frozenset[Geo]] = {
    Cloud.PUBLIC: frozenset(
        {
            Geo.NORTH_AMERICA,
            Geo.EMEA,
            Geo.ASIA_PACIFIC,
            Geo.JAPAN,
            Geo.AUSTRALIA,
            Geo.WORLDWIDE,
        }
    ),
    Cloud.USGOV: frozenset({Geo.USGOV}),
    Cloud.CHINA: frozenset({Geo.CHINA}),
}


def parse_cloud(value: str) -> Cloud:
    try:
        return Cloud(value)
    except ValueError:
        known = ", ".join(c.value for c in Cloud)
        raise ValueError(f"unknown cloud {value!r} (known: {known})") from None


def parse_geo(cloud: Cloud, value: str) -> Geo:
    """A geo by name, refused unless `cloud` offers it."""
    allowed = GEOS_BY_CLOUD[cloud]
    try:
        geo = Geo(value)
    except ValueError:
        geo = None
    if geo not in allowed:
        known = ", ".join(sorted(g.value for g in allowed))
        raise ValueError(f"geo {value!r} is not in cloud {cloud.value} (known: {known})")
    return geo
