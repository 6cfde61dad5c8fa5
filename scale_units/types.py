"""Names used across the topology, aliased so signatures say what a string means."""

from typing import TypeAlias

RegionName: TypeAlias = str
ScaleUnitId: TypeAlias = str
ServerName: TypeAlias = str
CountryCode: TypeAlias = str
Lsn: TypeAlias = str
