"""The access log's time: what `isoformat` writes, though the date and time of day are made once a
second, for instants next to a millisecond's and a second's end too."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auth_service.http.access_log import LogFormat, RequestLog

pytestmark = pytest.mark.unit


def test_the_time_is_what_isoformat_writes(tmp_path: Path) -> None:
    log = RequestLog(tmp_path / "access.log", LogFormat.TEXT)
    rng = random.Random(7)
    seconds = [1_750_140_891, 1_767_225_599, 0, 59, *(rng.randrange(2**31) for _ in range(200))]
    near = (0.0, 0.0004995, 0.0005, 0.0009995, 0.0009999999, 0.5819995, 0.9994999, 0.9995, 0.9999995)
    instants = [s + f for s in seconds for f in near] + [rng.uniform(0, 2**31) for _ in range(20_000)]
    try:
        wrong = [
            at
            for at in sorted(instants)
            if log._time(at) != datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
        ]
    finally:
        log._file.close()
    assert wrong == []
