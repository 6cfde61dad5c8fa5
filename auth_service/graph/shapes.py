"""Each kind's Graph v1.0 properties, mapped to and from the store's records at the HTTP edge.

A `Shape` says what a kind shows (Graph name -> value of a record), what a body may set
on create and on update (Graph name -> the store's values), and which properties Graph
requires on create. The store keeps Pythonic records; nothing here is stored.
One module over 300 lines on purpose: one table of shapes, one per kind, read side by side.

Not shown: `version` (it is the ETag), `updatedAt` (Graph has no such property), a
user's `admin` flag (Graph shows roles through directoryRoles, which we do not serve)
and a user's free `extension` attributes: Graph has no free-form bag on a user (its
directory extensions are named `extension_{appId}_{name}` and declared first), and a
property of our own under a Graph type would mislead a Graph client, so they stay a
core store feature. A device's owner is Graph's `registeredOwners` relation, not a
property, so it is not shown either.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from auth_service.errors import BadRequest
from auth_service.graph import certificates
from corestore.directory.grants import PLATFORMS
from corestore.objects import Application, Device, Group, Organization, ServicePrincipal, SignIn, User

Show = Callable[[Any], Any]
Take = Callable[[Any], dict[str, Any]]  # a body value -> store values


def json_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def annotation(key: str) -> bool:
    """An OData annotation (`@odata.type`, ...): a client may send them; they set nothing."""
    return key.startswith("@odata.")


def attr(name: str) -> Show:
    """The attribute as the record holds it: the answer's encoder (msgspec) writes a UUID and a
    datetime exactly as `json_value` would, at a fraction of the cost of converting each here."""
    return attrgetter(name)


def to(name: str) -> Take:
    return lambda value: {name: value}


@dataclass(frozen=True)
class Shape:
    odata_type: str
    collection: str  # the entity set's name in `@odata.context`
    shows: Mapping[str, Show]
    creatable: Mapping[str, Take]
    updatable: Mapping[str, Take]
    required: frozenset[str] = frozenset()
    combine: Callable[[dict[str, Any]], dict[str, Any]] = dict  # properties that make one store value

    def read(self, body: Mapping[str, Any], creating: bool) -> dict[str, Any]:
        """A request body's Graph properties as the store's values; unknown, read-only and
        missing required properties refused, as Graph does."""
        allowed = self.creatable if creating else self.updatable
        unknown = sorted(k for k in body if k not in allowed and not annotation(k))
        if unknown:
            raise BadRequest(f"unknown or read-only property: {', '.join(unknown)}")
        if creating:
            missing = sorted(self.required - {k for k, v in body.items() if v is not None})
            if missing:
                raise BadRequest(f"missing required property: {', '.join(missing)}")
        values: dict[str, Any] = {}
        for key, value in body.items():
            if key in allowed:
                for name, taken in allowed[key](value).items():
                    merged = values.get(name)  # several properties may fill one (web, spa: redirect_uris)
                    values[name] = {**merged, **taken} if isinstance(merged, dict) else taken
        return self.combine(values)


def _password_profile(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not isinstance(value.get("password"), str):
        raise BadRequest("passwordProfile needs a password (a string)")
    unknown = sorted(
        k for k in value if k not in ("password", "forceChangePasswordNextSignIn") and not annotation(k)
    )
    if unknown:
        raise BadRequest(f"passwordProfile: unknown property {', '.join(unknown)}")
    force = value.get("forceChangePasswordNextSignIn")
    if force is not None and force is not False:  # `in (None, False)` would let 0 pass as False
        raise BadRequest("passwordProfile.forceChangePasswordNextSignIn: no password change at sign-in here")
    return {"password": value["password"]}


def _flag(name: str) -> Take:
    """A group's mailEnabled / securityEnabled / groupTypes: combined into the store's kind later."""

    def take(value: Any) -> dict[str, Any]:
        if name == "groupTypes":
            if not isinstance(value, list) or any(v != "Unified" for v in value):
                raise BadRequest('groupTypes: [] or ["Unified"] (dynamic membership is not served)')
            return {name: bool(value)}
        if not isinstance(value, bool):
            raise BadRequest(f"{name} must be true or false")
        return {name: value}

    return take


def group_kind(values: dict[str, Any]) -> dict[str, Any]:
    """Graph's three group properties as the store's kind: a security group (securityEnabled,
    not mailEnabled, no groupTypes) or a Microsoft 365 group (["Unified"], mailEnabled).
    Other combinations (mail-enabled security and distribution groups) Graph cannot create
    either; a security-enabled Microsoft 365 group we do not keep."""
    unified = values.pop("groupTypes", False)
    mail, security = values.pop("mailEnabled", None), values.pop("securityEnabled", None)
    if mail is None and security is None and not unified:
        return values
    if unified and mail is not False and security is not True:
        return {**values, "kind": "microsoft365"}
    if not unified and security is not False and mail is not True:
        return {**values, "kind": "security"}
    raise BadRequest(
        "a group is a security group (securityEnabled, not mailEnabled) or a Microsoft 365 group"
        ' (groupTypes ["Unified"], mailEnabled, not securityEnabled)'
    )


def _redirect_uris(platform: str) -> Take:
    def take(value: Any) -> dict[str, Any]:
        uris = value.get("redirectUris") if isinstance(value, Mapping) else None
        extra = (
            [k for k in value if k != "redirectUris" and not annotation(k)]
            if isinstance(value, Mapping)
            else []
        )
        if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris) or extra:
            raise BadRequest(f'{platform} takes {{"redirectUris": [strings]}} only')
        return {"redirect_uris": {platform: uris}}

    return take


def _show_uris(platform: str) -> Show:
    return lambda record: {"redirectUris": list(record.redirect_uris.get(platform, ()))}


COMMON: Mapping[str, Show] = {"id": attr("id"), "displayName": attr("display_name")}
NAME = {"displayName": to("display_name")}

USER = Shape(
    "#microsoft.graph.user",
    "users",
    {
        **COMMON,
        "userPrincipalName": attr("user_principal_name"),
        "mail": attr("mail"),
        "mailNickname": attr("mail_nickname"),
        "accountEnabled": attr("account_enabled"),
        "createdDateTime": attr("created_at"),
        "signInSessionsValidFromDateTime": attr("sign_in_sessions_valid_from"),
    },
    creatable := {
        **NAME,
        "userPrincipalName": to("user_principal_name"),
        "mail": to("mail"),
        "mailNickname": to("mail_nickname"),
        "accountEnabled": to("account_enabled"),
        "passwordProfile": _password_profile,
    },
    creatable,
    # Graph's required properties but passwordProfile: a user without a password is one of the store's
    # (the bench writes them; argon2 is not what it measures). Graph clients send it; none breaks.
    frozenset({"accountEnabled", "displayName", "mailNickname", "userPrincipalName"}),
)
GROUP = Shape(
    "#microsoft.graph.group",
    "groups",
    {
        **COMMON,
        "description": attr("description"),
        "mailNickname": attr("mail_nickname"),
        "mailEnabled": lambda g: g.kind == "microsoft365",
        "securityEnabled": lambda g: g.kind == "security",
        "groupTypes": lambda g: ["Unified"] if g.kind == "microsoft365" else [],
        "createdDateTime": attr("created_at"),
    },
    {
        **NAME,
        "description": to("description"),
        "mailNickname": to("mail_nickname"),
        "mailEnabled": _flag("mailEnabled"),
        "securityEnabled": _flag("securityEnabled"),
        "groupTypes": _flag("groupTypes"),
    },
    {**NAME, "description": to("description"), "mailNickname": to("mail_nickname")},
    frozenset({"displayName", "mailEnabled", "mailNickname", "securityEnabled"}),
    group_kind,
)
APPLICATION = Shape(
    "#microsoft.graph.application",
    "applications",
    {
        **COMMON,
        "appId": attr("app_id"),
        "createdDateTime": attr("created_at"),
        **{platform: _show_uris(platform) for platform in PLATFORMS},
        "keyCredentials": certificates.show,
    },
    platforms := {
        **NAME,
        **{platform: _redirect_uris(platform) for platform in PLATFORMS},
        "keyCredentials": certificates.take,
    },
    platforms,
    frozenset({"displayName"}),
    lambda values: {**values, "principal": False},  # Graph creates the principal with its own POST
)
SERVICE_PRINCIPAL = Shape(
    "#microsoft.graph.servicePrincipal",
    "servicePrincipals",
    {**COMMON, "appId": attr("app_id"), "accountEnabled": attr("account_enabled")},
    {**NAME, "appId": to("app_id"), "accountEnabled": to("account_enabled")},
    {**NAME, "accountEnabled": to("account_enabled")},
    frozenset({"appId"}),
)
DEVICE = Shape(
    "#microsoft.graph.device",
    "devices",
    {
        **COMMON,
        "deviceId": attr("device_id"),
        "accountEnabled": attr("account_enabled"),
        "operatingSystem": attr("operating_system"),
        "operatingSystemVersion": attr("operating_system_version"),
        "trustType": attr("trust_type"),
        "registrationDateTime": attr("created_at"),
    },
    {
        **NAME,
        "deviceId": to("device_id"),
        "accountEnabled": to("account_enabled"),
        "operatingSystem": to("operating_system"),
        "operatingSystemVersion": to("operating_system_version"),
        "trustType": to("trust_type"),
    },
    {
        **NAME,
        "accountEnabled": to("account_enabled"),
        "operatingSystem": to("operating_system"),
        "operatingSystemVersion": to("operating_system_version"),
        "trustType": to("trust_type"),
    },
    frozenset({"accountEnabled", "deviceId", "displayName", "operatingSystem", "operatingSystemVersion"}),
)
SIGN_IN = Shape(
    "#microsoft.graph.signIn",
    "auditLogs/signIns",
    {
        "id": attr("id"),
        "createdDateTime": attr("created_at"),
        "status": attr("result"),
        "reason": attr("reason"),
        "userPrincipalName": attr("principal"),
        "userId": attr("principal_id"),
        "ipAddress": attr("client_address"),
        "region": attr("region"),
    },
    {},
    {},
)


def _verified_domains(org: Organization) -> list[dict[str, Any]]:
    """Graph's verifiedDomains; the first by name stands for the initial and default domain."""
    return [
        {
            "name": name,
            "isDefault": index == 0,
            "isInitial": index == 0,
            "type": "Managed",
            "capabilities": "Email, OfficeCommunicationsOnlineService",
        }
        for index, name in enumerate(org.domains)
    ]


ORGANIZATION = Shape(
    "#microsoft.graph.organization",
    "organization",
    {
        **COMMON,
        "countryLetterCode": attr("country"),
        "createdDateTime": attr("created_at"),
        "tenantType": lambda org: "AAD",
        "verifiedDomains": _verified_domains,
    },
    {},
    {},
)
SHAPES: Mapping[type, Shape] = {
    Organization: ORGANIZATION,
    User: USER,
    Group: GROUP,
    Application: APPLICATION,
    ServicePrincipal: SERVICE_PRINCIPAL,
    Device: DEVICE,
    SignIn: SIGN_IN,
}
