"""Microsoft's Graph SDK (msgraph-sdk), unmodified: only the base URL, the CA bundle and a token.

The token comes from a tiny kiota AccessTokenProvider holding one we already have (an
administrator's, from the password grant); the SDK adds it as a bearer, as it would
one from azure-identity.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as sdk_options
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory

from scale_units.local.tls import trust
from scale_units.state import ClusterState


class HeldToken(AccessTokenProvider):
    def __init__(self, token: str) -> None:
        self.token = token
        self.hosts = AllowedHostsValidator([])  # the one front end the adapter is pointed at

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self.hosts


@asynccontextmanager
async def graph_client(cluster: ClusterState, url: str, token: str) -> AsyncIterator[GraphServiceClient]:
    """A GraphServiceClient against the front end at `url`, trusting only the cluster's CA;
    its connections are closed on leaving (msgraph-core's transport wrapper does not pass
    `aclose` on, so the transport we made is closed here). The middleware gets the SDK's own
    options, as GraphRequestAdapter gives a client it makes: they turn `graph.me`'s
    `/users/me-token-to-replace` into `/me`."""
    transport = httpx.AsyncHTTPTransport(verify=trust(cluster.directory))
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=transport), options=sdk_options
    )
    try:
        adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(HeldToken(token)), client=http)
        adapter.base_url = f"{url}/v1.0"
        yield GraphServiceClient(request_adapter=adapter)
    finally:
        await http.aclose()
        await transport.aclose()
