"""One real cluster for the whole session: started once, stopped at the end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from scale_units.state import ClusterState
from tests.cluster import temp_cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[ClusterState]:
    with temp_cluster() as state:
        yield state


@pytest.fixture
def random_name() -> str:
    """A name no other test uses, so tests never collide on shared servers."""
    return f"t{uuid.uuid4().hex[:12]}"
