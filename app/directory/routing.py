"""Who to ring for a call, in order. Pure: a directory in, candidates out.

The agency's units that cover the caller's district come first, nearest
first; then the agency's other units, nearest first; the command-center
fallback group is always last, so a route is never empty. Anything the
directory does not know (operator, an unknown category or line) goes
straight to the fallback group: a human decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import asin, cos, radians, sin, sqrt

from app.directory.schema import Directory, Unit

UNKNOWN = "unknown"
EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Candidate:
    kind: str  # "unit" | "group"
    id: str  # unit id, or "fallback"
    name: str
    agency: str | None
    dials: tuple[str, ...]  # a unit has one; the group's members are rung at once
    ring_timeout: int
    distance_km: float | None = None  # from the district's reference point (units only)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dlat, dlon = radians(lat2 - lat1), radians(lon2 - lon1)
    a = sin(dlat / 2) ** 2 + cos(radians(lat1)) * cos(radians(lat2)) * sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(sqrt(a))


def route(directory: Directory, line: str, category: str | None, district: str | None) -> list[Candidate]:
    agency = _agency_for(directory, line, category)
    if agency is None:
        return [fallback_candidate(directory)]
    if district not in directory.districts:
        district = UNKNOWN
    origin = directory.districts[district]

    def distance(unit: Unit) -> float:
        return haversine_km(origin.lat, origin.lon, unit.lat, unit.lon)

    units = sorted((u for u in directory.units if u.agency == agency), key=lambda u: (distance(u), u.id))
    if district != UNKNOWN:
        # Coverage first, distance second: a stable sort keeps the distance order in each half.
        units.sort(key=lambda u: district not in u.districts)
    return [_unit_candidate(u, distance(u)) for u in units] + [fallback_candidate(directory)]


def policy(directory: Directory, line: str, category: str | None) -> str:
    """``agents`` (the caller waits for a call-taker) or ``direct`` (put through to the route at once)."""
    entry = directory.lines.get(line)
    if entry is None:
        return "direct"
    chosen = entry.categories.get(category) if category is not None else None
    return (chosen.routing if chosen is not None else None) or entry.routing


def _agency_for(directory: Directory, line: str, category: str | None) -> str | None:
    entry = directory.lines.get(line)
    if entry is None or category is None:
        return None
    chosen = entry.categories.get(category)
    return chosen.agency if chosen is not None else None


def _unit_candidate(unit: Unit, distance_km: float) -> Candidate:
    return Candidate(
        kind="unit",
        id=unit.id,
        name=unit.name,
        agency=unit.agency,
        dials=(unit.dial,),
        ring_timeout=unit.ring_timeout,
        distance_km=round(distance_km, 2),
    )


def fallback_candidate(directory: Directory) -> Candidate:
    group = directory.fallback_group
    agency = next((key for key, a in directory.agencies.items() if a.kind == "command-center"), None)
    return Candidate(
        kind="group",
        id="fallback",
        name=group.name,
        agency=agency,
        dials=tuple(group.dial),
        ring_timeout=group.ring_timeout,
    )
