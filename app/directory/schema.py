"""The directory file's shape (YAML), validated before anything is loaded.

A unit's ``dial`` is an Asterisk dial string: ``PJSIP/<endpoint>`` for a line
that registers to our Asterisk (an endpoint of that name is generated),
``PJSIP/<number>@trunk`` for a number reached over the telco trunk, or
``Local/<ext>@<context>`` in a context that answers as a unit (the loader
checks which). Every model is strict: a misspelt key (``ring_timout: 90``) is
an error, not a default silently used.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


DISTRICTS_112 = ("kuta-selatan", "kuta", "kuta-utara", "mengwi", "abiansemal", "petang", "unknown")


class District(_Strict):
    name: str
    lat: float
    lon: float


class Agency(_Strict):
    name: str
    kind: str  # ambulance, fire, police, sar, department, command-center


class Unit(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    agency: str
    districts: list[str]  # districts this unit covers first
    lat: float
    lon: float
    dial: str
    ring_timeout: int = Field(default=20, ge=3, le=120)

    @property
    def endpoint(self) -> str | None:
        """The PJSIP endpoint name when the unit's line registers to us, else None."""
        tech, _, rest = self.dial.partition("/")
        if tech.upper() == "PJSIP" and "@" not in rest:
            return rest
        return None


class FallbackGroup(_Strict):
    """Humans of last resort: the command-center call-takers, rung all at once."""

    name: str
    dial: list[str]
    ring_timeout: int = Field(default=30, ge=3, le=300)


# How a line's callers reach people after the IVR: "agents" (they wait in the queue for a
# command-center call-taker, who dispatches) or "direct" (put through to the unit at once).
Routing = Literal["agents", "direct"]
Language = Literal["id", "en"]


class CategoryRoute(_Strict):
    agency: str | None = None  # None: straight to the fallback group (operator)
    routing: Routing | None = None  # None: the line's routing


class Line(_Strict):
    name: str
    default_agency: str  # where the dialplan fallback goes after the fallback group
    categories: dict[str, CategoryRoute]
    routing: Routing = "direct"


class AgentDesk(_Strict):
    """A call-taker's phones: a SIP endpoint ``<name>`` (UDP desk or soft phone) and ``<name>-web`` (browser)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=48)  # the user name in the web app too
    languages: list[Language] = Field(default_factory=lambda: list[Language](["id"]), min_length=1)


class Directory(_Strict):
    districts: dict[str, District]
    agencies: dict[str, Agency]
    units: list[Unit]
    fallback_group: FallbackGroup
    lines: dict[str, Line]
    agents: list[AgentDesk] = Field(default_factory=list)
