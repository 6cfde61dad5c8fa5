"""Microsoft's Graph SDK for Python (msgraph-sdk), unmodified: only the base URL and the CA bundle are
configured, and an access token comes from our token endpoint (an administrator's, so the tests
do not depend on which app roles an application holds).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.headers_collection import HeadersCollection
from msgraph import GraphServiceClient
from msgraph.generated.models.application import Application
from msgraph.generated.models.device import Device
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.service_principal import ServicePrincipal
from msgraph.generated.models.spa_application import SpaApplication
from msgraph.generated.models.user import User
from msgraph.generated.models.web_application import WebApplication
from msgraph.generated.users.count.count_request_builder import CountRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import PageIterator

from devtools.client import CreatedTenant
from devtools.process import FrontEndProcess
from scale_units.state import ClusterState
from tests.auth_service.conftest import sign_in
from tests.auth_service.graph_sdk import graph_client


def eventual() -> HeadersCollection:
    """Graph's header for $count and $search on directory objects."""
    headers = HeadersCollection()
    headers.add("ConsistencyLevel", "eventual")
    return headers


@pytest.fixture
async def graph(
    cluster: ClusterState, http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant
) -> AsyncIterator[GraphServiceClient]:
    token = sign_in(http, west.url, http_tenant.domain, http_tenant.admin)["access_token"]
    async with graph_client(cluster, west.url, token) as client:
        yield client


def new_user(tenant: CreatedTenant, nickname: str, name: str) -> User:
    return User(
        account_enabled=True,
        display_name=name,
        mail_nickname=nickname,
        user_principal_name=tenant.upn(nickname),
        password_profile=PasswordProfile(password="Sdk-passw0rd!", force_change_password_next_sign_in=False),
    )


async def test_users_created_read_updated_and_deleted(
    graph: GraphServiceClient, http: httpx.Client, west: FrontEndProcess, http_tenant: CreatedTenant
) -> None:
    made = await graph.users.post(new_user(http_tenant, "frank", "Frank"))
    assert made.id is not None
    assert made.created_date_time is not None
    assert sign_in(http, west.url, http_tenant.domain, http_tenant.upn("frank"), "Sdk-passw0rd!")
    await graph.users.by_user_id(made.id).patch(User(display_name="Francis"))
    read = await graph.users.by_user_id(made.id).get()
    assert (read.display_name, read.mail_nickname) == ("Francis", "frank")
    await graph.users.by_user_id(made.id).delete()
    with pytest.raises(ODataError) as gone:
        await graph.users.by_user_id(made.id).get()
    assert gone.value.response_status_code == 404
    assert gone.value.error.code == "Request_ResourceNotFound"

    deleted = await graph.directory.deleted_items.graph_user.get()
    assert deleted is not None
    assert deleted.value is not None
    assert [(u.id, u.display_name) for u in deleted.value] == [(made.id, "Francis")]
    assert deleted.value[0].deleted_date_time is not None
    restored = await graph.directory.deleted_items.by_directory_object_id(made.id).restore.post()
    assert restored is not None
    assert restored.id == made.id
    back = await graph.users.by_user_id(made.id).get()
    assert back is not None
    assert back.user_principal_name == http_tenant.upn("frank")


async def test_groups_applications_principals_and_devices_round_trip(graph: GraphServiceClient) -> None:
    group = await graph.groups.post(
        Group(
            display_name="Crew",
            mail_enabled=True,
            mail_nickname="crew",
            security_enabled=False,
            group_types=["Unified"],
        )
    )
    assert (group.group_types, group.mail_enabled) == (["Unified"], True)
    await graph.groups.by_group_id(group.id).patch(Group(description="the crew"))
    assert (await graph.groups.by_group_id(group.id).get()).description == "the crew"
    await graph.groups.by_group_id(group.id).delete()

    web = WebApplication(redirect_uris=["https://crew.example/signin"])
    app = await graph.applications.post(Application(display_name="Crew app", web=web))
    assert app.web.redirect_uris == ["https://crew.example/signin"]
    await graph.applications.by_application_id(app.id).patch(
        Application(spa=SpaApplication(redirect_uris=["https://crew.example/spa"]))
    )
    again = await graph.applications.by_application_id(app.id).get()
    assert again.spa.redirect_uris == ["https://crew.example/spa"]
    assert again.web.redirect_uris == ["https://crew.example/signin"]

    principal = await graph.service_principals.post(ServicePrincipal(app_id=app.app_id))
    assert principal.display_name == "Crew app"
    await graph.service_principals.by_service_principal_id(principal.id).patch(
        ServicePrincipal(account_enabled=False)
    )
    assert (
        await graph.service_principals.by_service_principal_id(principal.id).get()
    ).account_enabled is False
    await graph.service_principals.by_service_principal_id(principal.id).delete()
    await graph.applications.by_application_id(app.id).delete()
    assert (await graph.applications.get()).value == []

    device = await graph.devices.post(
        Device(
            account_enabled=True,
            device_id=str(uuid.uuid4()),
            display_name="Phone",
            operating_system="iOS",
            operating_system_version="18.1",
        )
    )
    assert device.trust_type == "AzureAd"
    await graph.devices.by_device_id(device.id).patch(Device(operating_system_version="18.2"))
    assert (await graph.devices.by_device_id(device.id).get()).operating_system_version == "18.2"
    await graph.devices.by_device_id(device.id).delete()


async def test_page_iterator_select_filter_count_and_orderby(
    graph: GraphServiceClient, http_tenant: CreatedTenant
) -> None:
    names = ["Dora", "Bea", "Cleo", "Abe", "Eli"]
    for name in names:
        await graph.users.post(new_user(http_tenant, name.lower(), name))
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        select=["displayName"], orderby=["displayName desc"], top=2
    )
    first = await graph.users.get(request_configuration=RequestConfiguration(query_parameters=query))
    assert first.odata_next_link is not None
    seen: list[str] = []

    def collect(user: User) -> bool:
        seen.append(user.display_name)
        assert user.user_principal_name is None, "$select"
        return True

    await PageIterator(first, graph.request_adapter).iterate(collect)
    assert seen == sorted([*names, "Admin"], reverse=True)

    starts = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        filter="startswith(displayName, 'C') or displayName eq 'Abe'", orderby=["displayName"]
    )
    found = await graph.users.get(request_configuration=RequestConfiguration(query_parameters=starts))
    assert [u.display_name for u in found.value] == ["Abe", "Cleo"]
    counted = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        filter="startswith(displayName, 'C') or displayName eq 'Abe'", count=True, top=1
    )
    one = await graph.users.get(
        request_configuration=RequestConfiguration(query_parameters=counted, headers=eventual())
    )
    assert one.odata_count == 2
    assert len(one.value) == 1
    counting = CountRequestBuilder.CountRequestBuilderGetQueryParameters(
        filter="startswith(displayName, 'E')"
    )
    total = await graph.users.count.get(
        request_configuration=RequestConfiguration(query_parameters=counting, headers=eventual())
    )
    assert total == 1
    with pytest.raises(ODataError) as refused:
        await graph.users.count.get()
    assert refused.value.response_status_code == 400
