"""Front ends serve https under the cluster's own CA, whose bundle `cluster status --json` names."""

from __future__ import annotations

import json
import ssl

import httpx
import pytest
from typer.testing import CliRunner

from devtools.cli import app
from devtools.client import connect
from devtools.process import FrontEndProcess
from scale_units.state import ClusterState


def test_status_names_the_ca_bundle_and_front_ends_serve_https_under_it(
    cluster: ClusterState, west: FrontEndProcess
) -> None:
    result = CliRunner().invoke(app, ["cluster", "status", "--json", "--dir", str(cluster.directory)])
    assert result.exit_code == 0, result.output
    bundle = json.loads(result.output)["ca_bundle"]
    assert west.url.startswith("https://127.0.0.1:")
    trusting = ssl.create_default_context(cafile=bundle)
    with httpx.Client(verify=trusting) as http:
        assert http.get(f"{west.url}/openapi.json").status_code == 200
    with connect(cluster.directory) as http:
        assert http.get(f"{west.url}/openapi.json").status_code == 200


def test_clients_that_do_not_trust_the_cluster_ca_are_refused(west: FrontEndProcess) -> None:
    with httpx.Client() as http, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        http.get(f"{west.url}/openapi.json")
    plain = west.url.replace("https://", "http://")
    with httpx.Client() as http, pytest.raises(httpx.HTTPError):
        http.get(f"{plain}/openapi.json")
