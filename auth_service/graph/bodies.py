"""Each kind's request bodies as the OpenAPI document shows them: JSON Schema as strict as the
checks behind them (the kind's `Shape`, then the store's field rules), so a body the document
calls valid is accepted and one it calls invalid is refused.

The checks themselves stay where they are; these schemas describe them, and the schemathesis
test holds the two to each other.
"""

from __future__ import annotations

import re
from typing import Any

from corestore.directory.grants import MAX_URI_CHARS, MAX_URIS_PER_PLATFORM, NATIVE_URI, WEB_URI
from corestore.validation import NICKNAME, UPN

ODATA: dict[str, Any] = {"^@odata\\.": {}}  # annotations a client may send along; ignored
NOT_BLANK = r"^[^\x00]*[^\x00\s][^\x00]*$"  # not empty, not only whitespace, no NUL
NULL = {"type": "null"}


def text(max_length: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, "pattern": NOT_BLANK}


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


NAME = text(256)
UPN_TEXT = {"type": "string", "maxLength": 256, "pattern": UPN.pattern}
NICK = {"type": "string", "pattern": NICKNAME.pattern}
BOOL = {"type": "boolean"}
PASSWORD_PROFILE = obj(
    {"password": text(256), "forceChangePasswordNextSignIn": {"enum": [False, None]}}, ("password",)
)
USER_PROPERTIES = {
    "displayName": NAME,
    "userPrincipalName": UPN_TEXT,
    "mail": nullable(UPN_TEXT),
    "mailNickname": nullable(NICK),
    "accountEnabled": BOOL,
    "passwordProfile": PASSWORD_PROFILE,
}
USER_CREATE = obj(
    {**USER_PROPERTIES, "mailNickname": NICK},
    ("accountEnabled", "displayName", "mailNickname", "userPrincipalName"),
)
GROUP_UPDATE = obj({"displayName": NAME, "description": nullable(text(1024)), "mailNickname": NICK})
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
            "description": nullable(text(1024)),
            "mailNickname": NICK,
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


APPLICATION_PROPERTIES = {
    "displayName": NAME,
    "web": uris(WEB_URI),
    "spa": uris(WEB_URI),
    "publicClient": uris(WEB_URI, NATIVE_URI),
}
DEVICE_PROPERTIES = {
    "displayName": NAME,
    "accountEnabled": BOOL,
    "operatingSystem": text(64),
    "operatingSystemVersion": nullable(text(64)),
    "trustType": {"enum": ["AzureAd", "ServerAd", "Workplace"]},
}
DEVICE_CREATE = obj(
    {
        **DEVICE_PROPERTIES,
        "deviceId": {"type": "string", "format": "uuid"},
        "operatingSystemVersion": text(64),
    },
    ("accountEnabled", "deviceId", "displayName", "operatingSystem", "operatingSystemVersion"),
)
# A service principal's appId must name an application of the tenant: a fact no schema holds,
# so its create body is shown as what it takes, and a valid-looking unknown appId is a 400.
SERVICE_PRINCIPAL_CREATE = obj(
    {"displayName": NAME, "accountEnabled": BOOL, "appId": {"type": "string", "format": "uuid"}}, ("appId",)
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
