"""Records are made from their columns' values in order (the read path's conversion)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import corestore.objects as objects
from corestore.objects import field_names

pytestmark = pytest.mark.unit

RECORDS = [
    kind
    for _, kind in inspect.getmembers(objects, inspect.isclass)
    if dataclasses.is_dataclass(kind) and kind.__module__ == objects.__name__
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda kind: kind.__name__)
def test_every_record_takes_its_columns_in_order(record: type[object]) -> None:
    names = field_names(record)
    made = record(*names)
    assert all(getattr(made, name) == name for name in names)


def test_a_field_that_is_not_a_column_before_a_column_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Misordered:
        extra: str = dataclasses.field(default="", metadata={"column": False})
        name: str = ""

    with pytest.raises(TypeError, match="must follow every column"):
        field_names(Misordered)
