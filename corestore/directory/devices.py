"""Devices: registered computers and phones, optionally owned by a user of the tenant."""

from __future__ import annotations

import uuid

from corestore.directory.base import Repository
from corestore.filters import ColumnKind, FilterableColumn
from corestore.objects import Device
from corestore.schema import DeviceRow
from corestore.validation import DISPLAY_NAME, FieldRule

TRUST_TYPES = frozenset({"AzureAd", "ServerAd", "Workplace"})


class Devices(Repository[Device]):
    row = DeviceRow
    record = Device
    filterable = {
        "id": FilterableColumn(DeviceRow.id, ColumnKind.UUID),
        "deviceId": FilterableColumn(DeviceRow.device_id, ColumnKind.UUID),
        "displayName": FilterableColumn(DeviceRow.display_name, ColumnKind.STRING),
        "operatingSystem": FilterableColumn(DeviceRow.operating_system, ColumnKind.STRING),
        "trustType": FilterableColumn(DeviceRow.trust_type, ColumnKind.STRING),
        "accountEnabled": FilterableColumn(DeviceRow.account_enabled, ColumnKind.BOOL),
    }
    searchable = {"displayName": FilterableColumn(DeviceRow.display_name, ColumnKind.STRING)}
    orderable = {"displayName": "display_name"}
    rules = {
        "display_name": DISPLAY_NAME,
        "device_id": FieldRule(uuid.UUID),
        "account_enabled": FieldRule(bool),
        "operating_system": FieldRule(str, max_length=64),
        "operating_system_version": FieldRule(str, max_length=64, nullable=True),
        "trust_type": FieldRule(str, choices=TRUST_TYPES),
        "owner_id": FieldRule(uuid.UUID, nullable=True),
    }
    required = frozenset({"display_name", "operating_system"})
    updatable = frozenset(
        {
            "display_name",
            "account_enabled",
            "operating_system",
            "operating_system_version",
            "trust_type",
            "owner_id",
        }
    )
