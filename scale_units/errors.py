"""One error hierarchy for the topology layer; callers catch `ScaleUnitError`."""

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class ScaleUnitError(Exception):
    """Base of every error raised by `scale_units`."""


class TopologyError(ScaleUnitError):
    """A topology file or country table is invalid; the message names the offending key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class UnknownCountry(ScaleUnitError):
    """A country code that is not ISO 3166-1 alpha-2, or not served by the chosen cloud."""


class NoScaleUnitAvailable(ScaleUnitError):
    """Every scale unit of the geo is full (or the geo has none)."""


class ClusterError(ScaleUnitError):
    """The local cluster could not be started, found, or stopped."""


class BinariesNotFound(ClusterError):
    """No PostgreSQL server binaries were found where we looked."""


def checked(key: str, parse: Callable[..., T], *args: object) -> T:
    """`parse(*args)`, its ValueError turned into a TopologyError that names `key`."""
    try:
        return parse(*args)
    except ValueError as exc:
        raise TopologyError(key, str(exc)) from None
