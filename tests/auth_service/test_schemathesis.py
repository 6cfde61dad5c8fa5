"""Schemathesis, as its CLI runs it (`st run`), against a front end of its own (throttling off,
so no 429 can pass for a refusal), with every check it has and the phases that make them fire.

Phases: coverage (each operation's boundaries, each required header left out, and methods a
path does not have: OPTIONS), fuzzing (random valid and invalid requests), stateful
(chains along the document's links: each create, then the object's get, update and delete).
Examples is off: the document has none.

Checks, and where each can fail:
- not_a_server_error, status_code_conformance, content_type_conformance,
  response_headers_conformance, response_schema_conformance: every response of every phase;
- negative_data_rejection: every operation (a schema-invalid request must be a 4xx);
- positive_data_acceptance: every operation but those of NO_POSITIVE_DATA (below, with why);
- ignored_auth: every operation whose `security` asks for a token (Graph's, or the operator
  credential for /operator/...), sent without one and with a wrong one: it must be a 401;
- missing_required_header, unsupported_method, allow_header_conformance: the coverage phase;
- use_after_free, ensure_resource_availability: the stateful phase, along the links (the latter
  not on MEMBER_REF, below, with why);
- object_level_authorization: needs a second caller's credentials in the config; not given, so
  it does not run (tenant isolation has tests of its own).

Failures raise: the run's exit status is the verdict, and its report (each failure shrunk to
one request, with a curl line to replay it) is the assertion's message. Valid requests keep to
what the document cannot state (`schemathesis_hooks`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools import client
from devtools.process import FrontEndProcess, front_ends
from scale_units.local.tls import ca_bundle
from scale_units.state import ClusterState
from tests.auth_service.conftest import create_tenant, sign_in

REPO = Path(__file__).resolve().parents[2]
UNTHROTTLED = (
    *("--requests-per-second", "1000000", "--request-burst", "1000000"),
    *("--writes-per-second", "1000000", "--write-burst", "1000000"),
)
EXAMPLES_PER_OPERATION = 5  # fuzzing's, per operation: the whole run stays near two minutes
STATEFUL_STEPS = 6
RUN_TIMEOUT_S = 600
# Valid only with data that exists or parts that agree, which a schema cannot state: Graph and
# OAuth answer 400 (RFC 6749 section 5.2). Invalid requests to them must still be refused.
NO_POSITIVE_DATA = (
    "POST /v1.0/servicePrincipals",  # its appId must be an existing application's
    "POST /{tenant}/oauth2/v2.0/token",  # tenant, client and credentials must exist
    "POST /v1.0/servicePrincipals/{principal_id}/appRoleAssignments",  # body repeats the path's id
    "POST /v1.0/servicePrincipals/{resource_id}/appRoleAssignedTo",  # ... and names real objects
    "POST /v1.0/$batch",  # dependsOn names its own requests; urls name routes of this API
    "POST /operator/tenants",  # country, domains and principal name: formats the document lacks
)

# Its 404 may be about the member its body names, which no create's answer supplies: taken for the
# group's own 404 by ensure_resource_availability (schemathesis fills a path's group_id from any
# group it made). Every other check runs on it.
MEMBER_REF = "POST /v1.0/groups/{group_id}/members/$ref"


@pytest.fixture(scope="module")
def own_front_end(cluster: ClusterState) -> Iterator[FrontEndProcess]:
    with front_ends(cluster.directory, ["westeurope"], UNTHROTTLED) as (started,):
        yield started


def _config(url: str, bundle: str, token: str, operator: str) -> str:
    quoted = ", ".join(f'"{label}"' for label in NO_POSITIVE_DATA)
    return f"""
base-url = "{url}"
tls-verify = "{bundle}"
hooks = "tests.auth_service.schemathesis_hooks"
workers = 1

[generation]
max-examples = {EXAMPLES_PER_OPERATION}

[phases.examples]
enabled = false

[phases.coverage]
unexpected-methods = ["OPTIONS"]  # a 405 with its Allow header: enough for both method checks

[phases.stateful]
max-steps = {STATEFUL_STEPS}
inference.algorithms = []  # the document's own links only

[checks]
enabled = true
# 412: a schema-valid If-Match that names another version than the object's.
positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx"]

[auth.openapi.graphToken]
bearer = "{token}"

[auth.openapi.operatorKey]
bearer = "{operator}"

[[operations]]
include-name = [{quoted}]
checks.positive_data_acceptance.enabled = false

[[operations]]
include-name = "{MEMBER_REF}"
checks.ensure_resource_availability.enabled = false
"""


def test_every_check_passes_in_every_phase(
    cluster: ClusterState, own_front_end: FrontEndProcess, tmp_path: Path
) -> None:
    with client.connect(cluster.directory) as http:
        tenant = create_tenant(http, own_front_end.url, cluster.credentials.operator)
        token = sign_in(http, own_front_end.url, tenant.domain, tenant.admin)["access_token"]
    config = tmp_path / "schemathesis.toml"
    bundle = str(ca_bundle(cluster.directory))
    config.write_text(_config(own_front_end.url, bundle, token, cluster.credentials.operator))
    command = [
        str(Path(sys.executable).parent / "st"),
        *("--config-file", str(config)),
        *("run", f"{own_front_end.url}/openapi.json"),
        *("--phases", "coverage,fuzzing,stateful"),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    print(run.stdout[-1500:])
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-4000:]
