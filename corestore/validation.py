"""Checks on caller-supplied values, by a table of field rules, before anything is written."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corestore.errors import InvalidRequest, NotFound


@dataclass(frozen=True)
class FieldRule:
    kind: type | tuple[type, ...]
    max_length: int | None = None
    choices: frozenset[str] | None = None
    pattern: re.Pattern[str] | None = None
    nullable: bool = False


UPN = re.compile(
    r"^[A-Za-z0-9._%+'\-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]{1,63})+$"
)
NICKNAME = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
DOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)+$"
)

DISPLAY_NAME = FieldRule(str, max_length=256)


def check(
    values: Mapping[str, Any], rules: Mapping[str, FieldRule], required: frozenset[str]
) -> dict[str, Any]:
    """`values` checked against `rules`: unknown names, wrong types, bad lengths are refused."""
    unknown = sorted(set(values) - set(rules))
    if unknown:
        raise InvalidRequest(f"unknown or read-only attribute(s): {', '.join(unknown)}")
    missing = sorted(required - {k for k, v in values.items() if v is not None})
    if missing:
        raise InvalidRequest(f"missing required attribute(s): {', '.join(missing)}")
    return {name: _check_one(name, value, rules[name]) for name, value in values.items()}


def _check_one(name: str, value: Any, rule: FieldRule) -> Any:
    if value is None:
        if rule.nullable:
            return None
        raise InvalidRequest(f"{name} may not be null")
    if isinstance(value, bool) and rule.kind is not bool:
        raise InvalidRequest(f"{name} has the wrong type")
    if rule.kind is uuid.UUID and isinstance(value, str):
        value = _as_uuid(name, value)
    if not isinstance(value, rule.kind):
        raise InvalidRequest(f"{name} has the wrong type")
    if isinstance(value, str):
        _check_text(name, value, rule)
    return value


def _check_text(name: str, value: str, rule: FieldRule) -> None:
    if not value.strip() or "\x00" in value:
        raise InvalidRequest(f"{name} may not be empty or contain NUL")
    if rule.max_length is not None and len(value) > rule.max_length:
        raise InvalidRequest(f"{name} is longer than {rule.max_length} characters")
    if rule.choices is not None and value not in rule.choices:
        raise InvalidRequest(f"{name} must be one of {', '.join(sorted(rule.choices))}")
    if rule.pattern is not None and not rule.pattern.match(value):
        raise InvalidRequest(f"{name} is not well-formed")


def _as_uuid(name: str, value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidRequest(f"{name} is not a GUID") from None


def parse_id(value: str | uuid.UUID) -> uuid.UUID:
    """An object id from a caller; anything that is not a GUID simply does not exist."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"no object {value!r}") from None
