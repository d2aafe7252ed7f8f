"""The directory in the database: agencies and units as tables, the rest as documents.

Agencies and units are what people look up and what attempts refer to, so
they get columns. Districts, the fallback group and the lines are read
whole, never queried into, so each is stored as one JSON document.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel


class AgencyRecord(SQLModel, table=True):
    __tablename__ = "agencies"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32)


class UnitRecord(SQLModel, table=True):
    __tablename__ = "units"

    id: str = Field(primary_key=True, max_length=64)
    position: int  # order in the directory file, kept so a round trip is faithful
    name: str = Field(max_length=200)
    agency: str = Field(foreign_key="agencies.id", index=True, max_length=64)
    districts: list[str] = Field(default_factory=list, sa_type=JSON)
    lat: float
    lon: float
    dial: str = Field(max_length=200)
    ring_timeout: int


class DirectoryPart(SQLModel, table=True):
    """``districts``, ``fallback_group``, ``lines`` and ``agents``, each as the file has it."""

    __tablename__ = "directory_parts"

    name: str = Field(primary_key=True, max_length=32)
    body: Any = Field(sa_type=JSON)
