"""An application's `keyCredentials` as Graph v1.0 has them: certificates (AsymmetricX509Cert)
that verify client assertions (usage Verify).

Written as a whole (Graph's PATCH replaces the collection): an entry with `key` (base64
DER) adds that certificate; one with only the `keyId` of a key the application has keeps
it, so a client may send back what it read. `customKeyIdentifier` (the SHA-1 thumbprint)
and the start and end dates are read from the certificate, so they are shown but never
taken; the key itself is never shown, as in Graph.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from typing import Any

from auth_service.errors import BadRequest
from corestore.directory.key_credentials import KeyInput
from corestore.objects import Application, KeyCredential

TYPE, USAGE = "AsymmetricX509Cert", "Verify"
# Shown by Graph and sent back by clients that PATCH what they read: derived here, so ignored.
DERIVED = frozenset({"customKeyIdentifier", "startDateTime", "endDateTime"})
TAKEN = frozenset({"key", "keyId", "displayName", "type", "usage"})


def show(application: Application) -> list[dict[str, Any]]:
    return [_shown(k) for k in application.key_credentials]


def _shown(key: KeyCredential) -> dict[str, Any]:
    return {
        "customKeyIdentifier": base64.b64encode(key.thumbprint).decode(),
        "displayName": key.display_name,
        "endDateTime": key.end_at.isoformat().replace("+00:00", "Z"),
        "key": None,
        "keyId": str(key.id),
        "startDateTime": key.start_at.isoformat().replace("+00:00", "Z"),
        "type": TYPE,
        "usage": USAGE,
    }


def take(value: Any) -> dict[str, Any]:
    if not isinstance(value, list):
        raise BadRequest("keyCredentials must be a list of keyCredential objects")
    return {"key_credentials": [_taken(entry) for entry in value]}


def _taken(entry: Any) -> KeyInput:
    if not isinstance(entry, Mapping):
        raise BadRequest("each keyCredential must be an object")
    unknown = sorted(k for k in entry if k not in TAKEN | DERIVED and not k.startswith("@odata."))
    if unknown:
        raise BadRequest(f"keyCredential: unknown property {', '.join(unknown)}")
    if entry.get("type", TYPE) != TYPE or entry.get("usage", USAGE) != USAGE:
        raise BadRequest(f"keyCredential: only type {TYPE} with usage {USAGE} is supported")
    name = entry.get("displayName")
    if name is not None and not isinstance(name, str):
        raise BadRequest("keyCredential: displayName must be a string")
    return KeyInput(_certificate(entry.get("key")), _key_id(entry.get("keyId")), name)


def _certificate(key: Any) -> bytes | None:
    if key is None:
        return None
    if not isinstance(key, str):
        raise BadRequest("keyCredential: key must be the certificate, base64 DER")
    try:
        return base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("keyCredential: key is not base64") from None


def _key_id(key_id: Any) -> uuid.UUID | None:
    if key_id is None:
        return None
    try:
        return uuid.UUID(str(key_id))
    except ValueError:
        raise BadRequest("keyCredential: keyId must be a GUID") from None
