"""Names used across the topology, aliased so signatures say what a string means."""

from typing import TypeAlias

RegionName: TypeAlias = str
ScaleUnitId: TypeAlias = str
ServerName: TypeAlias = str
CountryCode: TypeAlias = str
Lsn: TypeAlias = str


def lsn_position(lsn: Lsn) -> int:
    """A WAL position as Postgres writes it (`16/B374D848`) as one comparable number."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)
