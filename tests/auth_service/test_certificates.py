"""Certificate credentials: Graph's keyCredentials on an application, and RFC 7523 client
assertions at the token endpoint, through MSAL unmodified (authority, CA bundle, credential).

MSAL reuses one assertion for up to nine minutes; each test gives MSAL a new
`ConfidentialClientApplication`, so each of its requests carries an assertion of its own.
"""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import msal  # type: ignore[import-untyped]
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools.client import grant_app_roles
from devtools.process import FrontEndProcess
from scale_units.local.tls import ca_bundle
from scale_units.state import ClusterState
from tests.auth_service.conftest import PASSWORD
from tests.auth_service.signin_flow import WEB_CALLBACK, RegisteredApp, posted_params, submit, token_roles
from tests.auth_service.test_audit_logs import CONSISTENCY, audits
from tests.certificates import certificate, der, graph_key, private_pem, public_pem, rsa_key, sha1_hex

GRAPH_DEFAULT = ["https://graph.corestore.local/.default"]
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KEY_ACTIVITY = "Update application - Certificates and secrets management"


@pytest.fixture(autouse=True)
def _session_verify_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in test_msal: requests would let these override the CA bundle given to msal."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def register(
    http: httpx.Client, url: str, headers: dict[str, str], app: RegisteredApp, *certs: x509.Certificate
) -> httpx.Response:
    body = {"keyCredentials": [graph_key(c) for c in certs]}
    return http.patch(f"{url}/v1.0/applications/{app.object_id}", headers=headers, json=body)


def confidential(
    cluster: ClusterState, url: str, app: RegisteredApp, credential: dict[str, str]
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        app.client_id,
        client_credential=credential,
        authority=f"{url}/{app.tenant.id}",
        instance_discovery=False,
        verify=str(ca_bundle(cluster.directory)),
    )


def assertion(
    url: str, app: RegisteredApp, key: rsa.RSAPrivateKey, cert: x509.Certificate, **claims: Any
) -> str:
    """An assertion as MSAL makes one (RS256, x5t), with `claims` over its own."""
    now = int(time.time())
    payload = {
        "aud": f"{url}/{app.tenant.id}/oauth2/v2.0/token",
        "iss": app.client_id,
        "sub": app.client_id,
        "exp": now + 600,
        "iat": now,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    x5t = base64.urlsafe_b64encode(bytes.fromhex(sha1_hex(cert))).rstrip(b"=").decode()
    return jwt.encode(payload, private_pem(key), algorithm="RS256", headers={"x5t": x5t})


def token(http: httpx.Client, url: str, app: RegisteredApp, signed: str, **form: str) -> httpx.Response:
    body = {
        "grant_type": "client_credentials",
        "client_id": app.client_id,
        "scope": GRAPH_DEFAULT[0],
        "client_assertion_type": JWT_BEARER,
        "client_assertion": signed,
        **form,
    }
    return http.post(f"{url}/{app.tenant.id}/oauth2/v2.0/token", data=body)


def read_keys(
    http: httpx.Client, url: str, headers: dict[str, str], after: httpx.Response
) -> list[dict[str, Any]]:
    """The application's keys, read where the write `after` is visible."""
    position = {CONSISTENCY: after.headers[CONSISTENCY]}
    keys: list[dict[str, Any]] = http.get(url, headers={**headers, **position}).json()["keyCredentials"]
    return keys


def refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"].startswith(code), response.text


def test_a_certificate_is_shown_as_graph_has_it_without_its_key_and_audited(
    http: httpx.Client, west: FrontEndProcess, web_app: RegisteredApp, admin_headers: dict[str, str]
) -> None:
    cert = certificate(rsa_key(), "Contoso app")
    url = f"{west.url}/v1.0/applications/{web_app.object_id}"
    answer = register(http, west.url, admin_headers, web_app, cert)
    assert answer.status_code == 204, answer.text
    (shown,) = read_keys(http, url, admin_headers, answer)
    assert shown["key"] is None
    assert base64.b64decode(shown["customKeyIdentifier"]).hex().upper() == sha1_hex(cert)
    assert (shown["type"], shown["usage"]) == ("AsymmetricX509Cert", "Verify")
    assert shown["displayName"] == "CN=Contoso app"
    assert datetime.fromisoformat(shown["startDateTime"]) == cert.not_valid_before_utc
    assert datetime.fromisoformat(shown["endDateTime"]) == cert.not_valid_after_utc

    second = graph_key(certificate(rsa_key(), "second"), "Second")
    kept = http.patch(url, headers=admin_headers, json={"keyCredentials": [shown, second]})
    assert kept.status_code == 204, kept.text  # what a client read, sent back with a second: both kept
    both = read_keys(http, url, admin_headers, kept)
    assert [k["displayName"] for k in both] == ["CN=Contoso app", "Second"]
    assert both[0] == shown

    records = audits(
        http, west.url, admin_headers, kept, **{"$filter": f"activityDisplayName eq '{KEY_ACTIVITY}'"}
    )
    keyed = [r for r in records if r["targetResources"][0]["id"] == web_app.object_id]
    assert len(keyed) == 3, "the secret and the two certificates, each with its record"
    assert base64.b64encode(der(cert)).decode()[:40] not in str(keyed), "the certificate is not in the log"


def test_bad_or_expired_certificates_are_a_400_and_nothing_is_written(
    http: httpx.Client, west: FrontEndProcess, web_app: RegisteredApp, admin_headers: dict[str, str]
) -> None:
    old = certificate(rsa_key(), starts=datetime.now(UTC) - timedelta(days=60), lifetime=timedelta(days=30))
    url = f"{west.url}/v1.0/applications/{web_app.object_id}"
    bodies: list[Any] = [
        {"keyCredentials": [graph_key(old)]},
        {
            "keyCredentials": [
                {**graph_key(certificate(rsa_key())), "key": base64.b64encode(b"not a cert").decode()}
            ]
        },
        {"keyCredentials": [{**graph_key(certificate(rsa_key())), "key": "%%%"}]},
        {"keyCredentials": [{**graph_key(certificate(rsa_key())), "type": "Symmetric"}]},
        {"keyCredentials": [{"keyId": str(uuid.uuid4())}]},
        {"keyCredentials": "none"},
    ]
    for body in bodies:
        answer = http.patch(url, headers=admin_headers, json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["error"]["message"]
    assert http.get(url, headers=admin_headers).json()["keyCredentials"] == []


def test_msal_gets_a_token_with_a_certificate_by_either_thumbprint(
    cluster: ClusterState,
    http: httpx.Client,
    west: FrontEndProcess,
    web_app: RegisteredApp,
    admin_headers: dict[str, str],
) -> None:
    grant_app_roles(http, west.url, admin_headers, web_app.client_id, ("User.Read.All",))
    cert = certificate(rsa_key(), "msal")
    register(http, west.url, admin_headers, web_app, cert).raise_for_status()
    private_key = private_pem(rsa_key())
    by_sha1 = {"private_key": private_key, "thumbprint": sha1_hex(cert)}  # RS256 with x5t
    by_sha256 = {"private_key": private_key, "public_certificate": public_pem(cert)}  # PS256 with x5t#S256
    for credential in (by_sha1, by_sha256):
        result = confidential(cluster, west.url, web_app, credential).acquire_token_for_client(GRAPH_DEFAULT)
        assert "access_token" in result, result
        assert token_roles(result["access_token"]) == ["User.Read.All"]
    users = http.get(f"{west.url}/v1.0/users", headers={"Authorization": f"Bearer {result['access_token']}"})
    assert users.status_code == 200


def test_msal_is_refused_a_wrong_key_an_expired_and_a_removed_certificate(
    cluster: ClusterState,
    http: httpx.Client,
    west: FrontEndProcess,
    web_app: RegisteredApp,
    admin_headers: dict[str, str],
) -> None:
    cert = certificate(rsa_key(), "kept")
    brief = certificate(rsa_key(), "brief", lifetime=timedelta(minutes=1, seconds=2))  # started a minute ago
    register(http, west.url, admin_headers, web_app, cert, brief).raise_for_status()

    def attempt(key: rsa.RSAPrivateKey, signer: x509.Certificate) -> dict[str, Any]:
        credential = {"private_key": private_pem(key), "thumbprint": sha1_hex(signer)}
        result: dict[str, Any] = confidential(
            cluster, west.url, web_app, credential
        ).acquire_token_for_client(GRAPH_DEFAULT)
        return result

    wrong = attempt(rsa_key(1), cert)
    assert wrong.get("error") == "invalid_client", wrong
    assert wrong["error_description"].startswith("AADSTS700027"), wrong
    assert "access_token" in attempt(rsa_key(), cert)

    deadline = time.monotonic() + 10
    while datetime.now(UTC) < brief.not_valid_after_utc and time.monotonic() < deadline:
        time.sleep(0.2)
    expired = attempt(rsa_key(), brief)
    assert expired.get("error") == "invalid_client", expired
    assert "expired" in expired["error_description"], expired

    register(http, west.url, admin_headers, web_app).raise_for_status()  # every key removed
    removed = attempt(rsa_key(), cert)
    assert removed.get("error") == "invalid_client", removed
    assert "not found" in removed["error_description"], removed


def test_an_assertion_is_used_once_and_bad_ones_are_refused_with_entras_codes(
    http: httpx.Client, west: FrontEndProcess, web_app: RegisteredApp, admin_headers: dict[str, str]
) -> None:
    cert = certificate(rsa_key(), "raw")
    register(http, west.url, admin_headers, web_app, cert).raise_for_status()
    signed = assertion(west.url, web_app, rsa_key(), cert)
    assert token(http, west.url, web_app, signed).status_code == 200
    refused(token(http, west.url, web_app, signed), "AADSTS50027")  # replayed
    now = int(time.time())
    cases = {
        "AADSTS700023": assertion(west.url, web_app, rsa_key(), cert, aud="https://elsewhere.example/token"),
        "AADSTS700024": assertion(west.url, web_app, rsa_key(), cert, exp=now + 3600),
        "AADSTS700021": assertion(west.url, web_app, rsa_key(), cert, sub=str(uuid.uuid4())),
        "AADSTS50027": "not.a.jwt",
    }
    for code, bad in cases.items():
        refused(token(http, west.url, web_app, bad), code)
    expired = assertion(west.url, web_app, rsa_key(), cert, exp=now - 3600, iat=now - 4200)
    refused(token(http, west.url, web_app, expired), "AADSTS700024")
    both = token(
        http, west.url, web_app, assertion(west.url, web_app, rsa_key(), cert), client_secret=web_app.secret
    )
    assert both.status_code == 400
    assert both.json()["error"] == "invalid_request"


def test_a_replay_is_refused_by_another_front_end_behind_the_same_name(
    http: httpx.Client,
    west: FrontEndProcess,
    north: FrontEndProcess,
    web_app: RegisteredApp,
    admin_headers: dict[str, str],
) -> None:
    """Front ends behind one name (a load balancer's) see one audience: the used `jti` is the
    tenant's, in its unit, so the second front end refuses what the first took."""
    cert = certificate(rsa_key(), "shared")
    register(http, west.url, admin_headers, web_app, cert).raise_for_status()
    signed = assertion(west.url, web_app, rsa_key(), cert)
    assert token(http, west.url, web_app, signed).status_code == 200
    form = {
        "grant_type": "client_credentials",
        "client_id": web_app.client_id,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": signed,
    }
    as_west = {"Host": httpx.URL(west.url).netloc.decode()}
    replayed = http.post(f"{north.url}/{web_app.tenant.id}/oauth2/v2.0/token", data=form, headers=as_west)
    refused(replayed, "AADSTS50027")
    assert "already used" in replayed.json()["error_description"]


def test_the_code_flow_and_refresh_authenticate_a_web_client_by_its_certificate(
    cluster: ClusterState,
    http: httpx.Client,
    west: FrontEndProcess,
    registered: RegisteredApp,
    admin_headers: dict[str, str],
) -> None:
    cert = certificate(rsa_key(), "web")
    register(http, west.url, admin_headers, registered, cert).raise_for_status()
    app = confidential(
        cluster, west.url, registered, {"private_key": private_pem(rsa_key()), "thumbprint": sha1_hex(cert)}
    )
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=WEB_CALLBACK, response_mode="form_post")
    answer = posted_params(submit(http, flow["auth_uri"], registered.tenant.admin, PASSWORD))
    result = app.acquire_token_by_auth_code_flow(flow, answer)
    assert "access_token" in result, result

    endpoint = f"{west.url}/{registered.tenant.id}/oauth2/v2.0/token"
    form = {
        "grant_type": "refresh_token",
        "refresh_token": result["refresh_token"],
        "client_id": registered.client_id,
    }
    bare = http.post(endpoint, data=form)
    assert bare.json()["error"] == "invalid_client", "a web client's refresh token needs its credential"
    signed = {
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion(west.url, registered, rsa_key(), cert),
    }
    refreshed = http.post(endpoint, data={**form, **signed})
    assert refreshed.status_code == 200, refreshed.text
    assert "access_token" in refreshed.json()
