"""Schemathesis drives every operation of the served OpenAPI document with every check it has
(the CLI's `--checks all`), from data the document allows and from data it does not: no 5xx,
every status and header declared, valid requests accepted, invalid ones refused.

Its pytest plugin does not run under pytest 9 yet, so the test walks the operations
and runs each one's Hypothesis strategies itself, collecting every failure.

Two gaps are left out, by name, so that everything else holds: JSON Schema cannot say
which strings are a `$filter` or `$search` (a grammar) or a `$skiptoken` this API issued
(opaque), so generated valid requests leave those out (invalid ones still send them); and
the two data checks do not run where a valid request depends on data or on another part
of the request in ways a schema cannot state, which Graph and OAuth answer with 400: a
service principal's appId and the token endpoint's tenant, client and credentials must
exist, an assignment's body repeats the id in its path, and a batch's `dependsOn` names
ids of its own requests and its urls name routes of this API.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok

from devtools.process import FrontEndProcess
from scale_units.local.tls import ca_bundle
from scale_units.state import ClusterState

EXAMPLES_PER_OPERATION = 8
GRAMMARS = frozenset({"$filter", "$search", "$skiptoken", "$deltatoken"})
DATA_CHECKS = frozenset({"positive_data_acceptance", "negative_data_rejection"})
# Valid only with data or parts that agree (see above): a 400 otherwise, as in Graph and OAuth
# (RFC 6749 section 5.2).
NO_DATA_CHECKS = frozenset(
    {
        "POST /v1.0/servicePrincipals",
        "POST /{tenant}/oauth2/v2.0/token",
        "POST /v1.0/servicePrincipals/{principal_id}/appRoleAssignments",
        "POST /v1.0/servicePrincipals/{resource_id}/appRoleAssignedTo",
        "POST /v1.0/$batch",
    }
)


def expressible(case: Any) -> bool:
    """A valid request whose validity the document can state: no grammar or opaque token, and no
    `$count=true` without `ConsistencyLevel: eventual` (OpenAPI has no way to say one needs the other)."""
    query, headers = case.query or {}, case.headers or {}
    return not GRAMMARS & set(query) and not (
        query.get("$count") == "true" and "ConsistencyLevel" not in headers
    )


def test_every_check_passes_on_every_operation(
    cluster: ClusterState, west: FrontEndProcess, admin_headers: dict[str, str]
) -> None:
    bundle = str(ca_bundle(cluster.directory))  # per request: REQUESTS_CA_BUNDLE would beat a session's
    schema = schemathesis.openapi.from_url(f"{west.url}/openapi.json", verify=bundle)
    results = list(schema.get_all_operations())
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert len(operations) == len(results), "every operation in the document is valid"
    assert len(operations) >= 25, "every route is in the document"
    load_all_checks()
    every_check = CHECKS.get_all()
    tried: list[str] = []
    failures: list[str] = []

    for operation in operations:
        loose = operation.label in NO_DATA_CHECKS
        checks = [c for c in every_check if not (loose and c.__name__ in DATA_CHECKS)]
        for mode in GenerationMode:
            strategy = operation.as_strategy(generation_mode=mode)
            if mode is GenerationMode.POSITIVE:
                strategy = strategy.filter(expressible)

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def call(case: Any) -> None:
                tried.append(case.operation.label)
                response = case.call(base_url=west.url, headers=admin_headers, verify=bundle)
                sent = f"{mode.value}, headers {case.headers!r}"  # noqa: B023 - called in this iteration
                where = f"{case.operation.label} [{sent}] {response.status_code} {response.text[:120]!r}"
                try:
                    case.validate_response(response, checks=checks, headers=admin_headers)  # noqa: B023 - as above
                except FailureGroup as group:
                    failures.extend(f"{where}: {f.title}" for f in group.exceptions)
                except AssertionError as failure:
                    failures.append(f"{where}: {failure}".splitlines()[0])

            try:
                call()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing in it to make invalid
    distinct = sorted(set(failures))
    print(f"\nschemathesis: {len(tried)} requests over {len(operations)} operations")
    assert not distinct, "\n".join(distinct)
