"""Request ids as Graph gives them: on every answer, echoed, in error bodies, per batch request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from devtools.client import CreatedTenant
from devtools.process import FrontEndProcess


def test_every_answer_has_a_new_request_id_and_echoes_the_clients(
    http: httpx.Client, west: FrontEndProcess, admin_headers: dict[str, str]
) -> None:
    mine = str(uuid.uuid4())
    found = http.get(f"{west.url}/v1.0/users", headers={**admin_headers, "client-request-id": mine})
    again = http.get(f"{west.url}/v1.0/users", headers=admin_headers)
    assert found.status_code == again.status_code == 200
    assert found.headers["client-request-id"] == mine
    assert "client-request-id" not in again.headers
    ids = {uuid.UUID(found.headers["request-id"]), uuid.UUID(again.headers["request-id"])}
    assert len(ids) == 2


def test_graph_errors_carry_the_ids_and_the_date_in_inner_error(
    http: httpx.Client, west: FrontEndProcess, admin_headers: dict[str, str]
) -> None:
    mine = str(uuid.uuid4())
    missing = http.get(
        f"{west.url}/v1.0/users/{uuid.uuid4()}", headers={**admin_headers, "client-request-id": mine}
    )
    assert missing.status_code == 404
    inner = missing.json()["error"]["innerError"]
    assert inner["request-id"] == missing.headers["request-id"]
    assert inner["client-request-id"] == mine
    when = datetime.fromisoformat(inner["date"]).replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - when) < timedelta(minutes=5)
    anonymous = http.get(f"{west.url}/v1.0/users")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["innerError"]["request-id"] == anonymous.headers["request-id"]


def test_a_client_request_id_that_cannot_be_echoed_is_refused(
    http: httpx.Client, west: FrontEndProcess, admin_headers: dict[str, str]
) -> None:
    refused = http.get(f"{west.url}/v1.0/users", headers={**admin_headers, "client-request-id": "x" * 129})
    assert refused.status_code == 400
    assert "client-request-id" in refused.json()["error"]["message"]


def test_batch_requests_answer_with_ids_of_their_own(
    http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant, admin_headers: dict[str, str]
) -> None:
    requests = [
        {"id": "1", "method": "GET", "url": "/users", "headers": {"client-request-id": "one"}},
        {"id": "2", "method": "GET", "url": f"/users/{uuid.uuid4()}"},
        {"id": "3", "method": "GET", "url": "/users", "dependsOn": ["2"]},
    ]
    batch = http.post(f"{west.url}/v1.0/$batch", headers=admin_headers, json={"requests": requests})
    assert batch.status_code == 200, batch.text
    answers = {r["id"]: r for r in batch.json()["responses"]}
    assert answers["1"]["headers"]["client-request-id"] == "one"
    assert answers["2"]["body"]["error"]["innerError"]["request-id"] == answers["2"]["headers"]["request-id"]
    assert answers["3"]["status"] == 424
    ids = {batch.headers["request-id"], *(a["headers"]["request-id"] for a in answers.values())}
    assert len(ids) == 4
