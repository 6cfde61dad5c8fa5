"""The schema of a cloud's tenant catalog: routing metadata only, never directory data."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, MetaData, String, func, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from corestore.schema import NAMING


class CatalogBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ScaleUnitSlot(CatalogBase):
    """A scale unit's capacity and tenant count: the row placement locks."""

    __tablename__ = "scale_units"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cloud: Mapped[str] = mapped_column(String(16))
    geo: Mapped[str] = mapped_column(String(32))
    capacity: Mapped[int]
    tenant_count: Mapped[int] = mapped_column(default=0)
    # False while the unit drains (an operator retires it): placement passes it over.
    accepts_tenants: Mapped[bool] = mapped_column(server_default=true())
    __table_args__ = (CheckConstraint("tenant_count <= capacity", name="within_capacity"),)


class CatalogTenant(CatalogBase):
    __tablename__ = "tenants"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    cloud: Mapped[str] = mapped_column(String(16))
    geo: Mapped[str] = mapped_column(String(32))
    scale_unit: Mapped[str] = mapped_column(ForeignKey("scale_units.id"))
    state: Mapped[str] = mapped_column(String(16), default="creating")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    epoch: Mapped[int] = mapped_column(server_default="0")  # raised by each move's flip
    __table_args__ = (CheckConstraint("state IN ('creating', 'active', 'deleting')", name="state"),)


class CatalogMove(CatalogBase):
    """A move in flight (at most one per tenant): a rerun undoes it before `flipped`, finishes it after."""

    __tablename__ = "moves"
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.tenant_id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (CheckConstraint("phase IN ('copying', 'fenced', 'flipped')", name="phase"),)


class CatalogDomain(CatalogBase):
    """A verified domain name; unique within the cloud, it resolves sign-in names to tenants."""

    __tablename__ = "domains"
    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.tenant_id", ondelete="CASCADE"), index=True
    )
