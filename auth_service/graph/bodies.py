"""Each kind's request bodies as the OpenAPI document shows them: JSON Schema as strict as the
checks behind them (the kind's `Shape`, then the store's field rules), so a body the document
calls valid is accepted and one it calls invalid is refused.

The checks themselves stay where they are: each property's schema is derived from the field
rule the store checks it with (`field`), and the schemathesis test holds the two to each other.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from typing import Any

from auth_service.graph import certificates
from corestore.directory.applications import ServicePrincipals
from corestore.directory.devices import Devices
from corestore.directory.grants import MAX_URI_CHARS, MAX_URIS_PER_PLATFORM, NATIVE_URI, WEB_URI
from corestore.directory.groups import Groups
from corestore.directory.key_credentials import MAX_CERTIFICATE_BYTES, MAX_KEYS
from corestore.directory.users import Users
from corestore.validation import DISPLAY_NAME, FieldRule

ODATA: dict[str, Any] = {"^@odata\\.": {}}  # annotations a client may send along; ignored
NOT_BLANK = r"^[^\x00]*[^\x00\s][^\x00]*$"  # not empty, not only whitespace, no NUL
NULL = {"type": "null"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, NULL]}


def obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "patternProperties": ODATA,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


def field(rule: FieldRule, nullable_: bool | None = None) -> dict[str, Any]:
    """The values `rule` accepts (`corestore.validation.check`) as JSON Schema: text is never
    blank and never holds NUL, then its length, choices and pattern; `nullable_` overrides
    the rule's own (a property required on create may not be null there)."""
    if rule.kind is bool:
        schema: dict[str, Any] = {"type": "boolean"}
    elif rule.kind is uuid.UUID:
        schema = {"type": "string", "format": "uuid"}
    elif rule.choices is not None:
        schema = {"enum": sorted(rule.choices)}
    else:
        schema = {"type": "string", "pattern": rule.pattern.pattern if rule.pattern else NOT_BLANK}
        if rule.max_length is not None:
            schema["maxLength"] = rule.max_length
    allow_null = rule.nullable if nullable_ is None else nullable_
    return nullable(schema) if allow_null else schema


def required_(rule: FieldRule) -> dict[str, Any]:
    return field(replace(rule, nullable=False))


NAME = field(DISPLAY_NAME)
BOOL = field(Users.rules["account_enabled"])
PASSWORD_PROFILE = obj(
    {
        "password": required_(Users.rules["password"]),
        "forceChangePasswordNextSignIn": {"enum": [False, None]},
    },
    ("password",),
)
USER_PROPERTIES = {
    "displayName": NAME,
    "userPrincipalName": field(Users.rules["user_principal_name"]),
    "mail": field(Users.rules["mail"]),
    "mailNickname": field(Users.rules["mail_nickname"]),
    "accountEnabled": BOOL,
    "passwordProfile": PASSWORD_PROFILE,
}
USER_CREATE = obj(
    {**USER_PROPERTIES, "mailNickname": required_(Users.rules["mail_nickname"])},
    ("accountEnabled", "displayName", "mailNickname", "userPrincipalName"),
)
GROUP_DESCRIPTION = field(Groups.rules["description"])
GROUP_NICK = field(Groups.rules["mail_nickname"])
GROUP_UPDATE = obj({"displayName": NAME, "description": GROUP_DESCRIPTION, "mailNickname": GROUP_NICK})
GROUP_KINDS = [
    {  # a security group
        "properties": {
            "mailEnabled": {"const": False},
            "securityEnabled": {"const": True},
            "groupTypes": {"maxItems": 0},
        }
    },
    {  # a Microsoft 365 group
        "required": ["groupTypes"],
        "properties": {
            "mailEnabled": {"const": True},
            "securityEnabled": {"const": False},
            "groupTypes": {"minItems": 1},
        },
    },
]
GROUP_CREATE = {
    **obj(
        {
            "displayName": NAME,
            "description": GROUP_DESCRIPTION,
            "mailNickname": GROUP_NICK,
            "mailEnabled": BOOL,
            "securityEnabled": BOOL,
            "groupTypes": {"type": "array", "items": {"enum": ["Unified"]}},
        },
        ("displayName", "mailEnabled", "mailNickname", "securityEnabled"),
    ),
    "anyOf": GROUP_KINDS,
}


def uris(*shapes: re.Pattern[str]) -> dict[str, Any]:
    """A platform's redirect URIs, of the shapes corestore.directory.grants accepts."""
    items = [{"type": "string", "maxLength": MAX_URI_CHARS, "pattern": f"^{s.pattern}$"} for s in shapes]
    uri = items[0] if len(items) == 1 else {"anyOf": items}
    return obj(
        {"redirectUris": {"type": "array", "items": uri, "maxItems": MAX_URIS_PER_PLATFORM}},
        ("redirectUris",),
    )


# Graph's keyCredential: a certificate to add (key, base64 DER) or one to keep (its keyId alone);
# the derived properties a client read may come back and are ignored (auth_service.graph.certificates).
DATE_TIME = {"type": "string", "format": "date-time"}
KEY_CREDENTIAL = obj(
    {
        "key": nullable(
            {"type": "string", "contentEncoding": "base64", "maxLength": 4 * MAX_CERTIFICATE_BYTES // 3 + 4}
        ),
        "keyId": nullable({"type": "string", "format": "uuid"}),
        "displayName": nullable({"type": "string", "maxLength": 256}),
        "type": {"enum": [certificates.TYPE]},
        "usage": {"enum": [certificates.USAGE]},
        "customKeyIdentifier": nullable({"type": "string"}),
        "startDateTime": nullable(DATE_TIME),
        "endDateTime": nullable(DATE_TIME),
    }
)
APPLICATION_PROPERTIES = {
    "displayName": NAME,
    "web": uris(WEB_URI),
    "spa": uris(WEB_URI),
    "publicClient": uris(WEB_URI, NATIVE_URI),
    "keyCredentials": {"type": "array", "items": KEY_CREDENTIAL, "maxItems": MAX_KEYS},
}
DEVICE_PROPERTIES = {
    "displayName": NAME,
    "accountEnabled": BOOL,
    "operatingSystem": field(Devices.rules["operating_system"]),
    "operatingSystemVersion": field(Devices.rules["operating_system_version"]),
    "trustType": field(Devices.rules["trust_type"]),
}
DEVICE_CREATE = obj(
    {
        **DEVICE_PROPERTIES,
        "deviceId": field(Devices.rules["device_id"]),
        "operatingSystemVersion": required_(Devices.rules["operating_system_version"]),
    },
    ("accountEnabled", "deviceId", "displayName", "operatingSystem", "operatingSystemVersion"),
)
# A service principal's appId must name an application of the tenant: a fact no schema holds,
# so its create body is shown as what it takes, and a valid-looking unknown appId is a 400.
SERVICE_PRINCIPAL_CREATE = obj(
    {"displayName": NAME, "accountEnabled": BOOL, "appId": field(ServicePrincipals.rules["app_id"])},
    ("appId",),
)

BODIES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {  # collection -> (create, update)
    "users": (USER_CREATE, obj(USER_PROPERTIES)),
    "groups": (GROUP_CREATE, GROUP_UPDATE),
    "applications": (obj(APPLICATION_PROPERTIES, ("displayName",)), obj(APPLICATION_PROPERTIES)),
    "servicePrincipals": (SERVICE_PRINCIPAL_CREATE, obj({"displayName": NAME, "accountEnabled": BOOL})),
    "devices": (DEVICE_CREATE, obj(DEVICE_PROPERTIES)),
}


BODY_KEY = "x-corestore-body"


def request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for a write route: its JSON body, as `schema` says (`openapi` puts it in place
    of the generic object FastAPI documents for the body model)."""
    return {BODY_KEY: schema}
