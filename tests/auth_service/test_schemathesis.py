"""Schemathesis drives every operation of the served OpenAPI document: no input makes a 5xx.

Its pytest plugin does not run under pytest 9 yet, so the test walks the operations
and runs each one's Hypothesis strategy itself.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from auth_service.process import FrontEndProcess
from scale_units.state import ClusterState
from scale_units.tls import ca_bundle

EXAMPLES_PER_OPERATION = 8


def test_no_input_makes_a_server_error(
    cluster: ClusterState, west: FrontEndProcess, admin_headers: dict[str, str]
) -> None:
    bundle = str(ca_bundle(cluster.directory))  # per request: REQUESTS_CA_BUNDLE would beat a session's
    schema = schemathesis.openapi.from_url(f"{west.url}/openapi.json", verify=bundle)
    results = list(schema.get_all_operations())
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert len(operations) == len(results), "every operation in the document is valid"
    assert len(operations) >= 25, "every route is in the document"
    tried: list[str] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case: Any) -> None:
            case.call_and_validate(
                base_url=west.url, headers=admin_headers, checks=[not_a_server_error], verify=bundle
            )
            tried.append(case.operation.label)

        call()
    print(f"\nschemathesis: {len(tried)} requests over {len(operations)} operations, no 5xx")
