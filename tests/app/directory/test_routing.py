from __future__ import annotations

import dataclasses

import pytest

from app import paths
from app.directory.loader import load_directory, parse_directory
from app.directory.routing import haversine_km, route

DEMO = load_directory(paths.DEMO_DIRECTORY)


def _tiny(**changes):
    """A two-district directory where distances are easy to reason about."""
    raw = {
        "districts": {
            key: {"name": key, "lat": -8.5, "lon": 115.0}
            for key in ("kuta-selatan", "kuta-utara", "mengwi", "abiansemal", "petang")
        },
        "agencies": {"psc": {"name": "PSC", "kind": "ambulance"}, "cc": {"name": "CC", "kind": "command-center"}},
        "units": [
            {
                "id": "far-cover",
                "name": "Far",
                "agency": "psc",
                "districts": ["kuta"],
                "lat": -8.9,
                "lon": 115.0,
                "dial": "PJSIP/far-cover",
            },
            {
                "id": "near-other",
                "name": "Near",
                "agency": "psc",
                "districts": ["mengwi"],
                "lat": -8.71,
                "lon": 115.0,
                "dial": "PJSIP/near-other",
            },
            {
                "id": "mid-other",
                "name": "Mid",
                "agency": "psc",
                "districts": ["mengwi"],
                "lat": -8.8,
                "lon": 115.0,
                "dial": "PJSIP/mid-other",
            },
            {
                "id": "close-cover",
                "name": "Close",
                "agency": "psc",
                "districts": ["kuta"],
                "lat": -8.75,
                "lon": 115.0,
                "dial": "PJSIP/close-cover",
                "ring_timeout": 12,
            },
        ],
        "fallback_group": {"name": "Command center", "dial": ["PJSIP/op-1", "PJSIP/op-2"], "ring_timeout": 25},
        "lines": {
            "112": {
                "name": "112",
                "default_agency": "psc",
                "categories": {
                    "medical": {"agency": "psc"},
                    "fire": {"agency": "psc"},
                    "police": {"agency": "psc"},
                    "sar": {"agency": "psc"},
                    "operator": {"agency": None},
                },
            }
        },
    }
    raw["districts"]["kuta"] = {"name": "Kuta", "lat": -8.7, "lon": 115.0}
    raw["districts"]["unknown"] = {"name": "Centre", "lat": -8.95, "lon": 115.0}
    for key, value in changes.items():
        raw[key] = value
    return parse_directory(raw, "tiny.yaml")


def test_medical_in_kuta_rings_psc_kuta_first_then_another_ambulance():
    candidates = route(DEMO, "112", "medical", "kuta")
    assert candidates[0].id == "psc-kuta"
    assert candidates[1].kind == "unit" and candidates[1].agency == "psc" and candidates[1].id != "psc-kuta"


def test_covering_units_come_first_nearest_first_then_the_others_then_the_group():
    ids = [c.id for c in route(_tiny(), "112", "medical", "kuta")]
    assert ids == ["close-cover", "far-cover", "near-other", "mid-other", "fallback"]


def test_unknown_district_orders_every_unit_by_distance_from_the_reference_point():
    ids = [c.id for c in route(_tiny(), "112", "medical", "unknown")]
    assert ids == ["far-cover", "mid-other", "close-cover", "near-other", "fallback"]


def test_a_district_the_directory_does_not_know_is_treated_as_unknown():
    directory = _tiny()
    assert route(directory, "112", "medical", "atlantis") == route(directory, "112", "medical", "unknown")
    assert route(directory, "112", "medical", None) == route(directory, "112", "medical", "unknown")


@pytest.mark.parametrize("line, category", [("112", "operator"), ("112", "weather"), ("112", None), ("999", "medical")])
def test_operator_and_anything_unknown_go_straight_to_the_fallback_group(line, category):
    (only,) = route(_tiny(), line, category, "kuta")
    assert (only.kind, only.id, only.name, only.agency) == ("group", "fallback", "Command center", "cc")
    assert only.dials == ("PJSIP/op-1", "PJSIP/op-2") and only.ring_timeout == 25


def test_unit_candidates_carry_one_dial_and_their_ring_timeout():
    first = route(_tiny(), "112", "medical", "kuta")[0]
    assert (first.kind, first.dials, first.ring_timeout, first.agency) == ("unit", ("PJSIP/close-cover",), 12, "psc")
    assert first.distance_km == pytest.approx(haversine_km(-8.7, 115.0, -8.75, 115.0), abs=0.01)


def test_candidates_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        route(_tiny(), "112", "medical", "kuta")[0].id = "other"


def test_haversine_one_degree_of_latitude_is_about_111_km():
    assert haversine_km(-8.0, 115.0, -9.0, 115.0) == pytest.approx(111.2, abs=0.2)


@pytest.mark.parametrize(
    "line, category, agency",
    [
        ("112", "fire", "damkar"),
        ("112", "police", "polres"),
        ("112", "sar", "bpbd"),
        ("14084", "infrastructure", "pupr"),
        ("14084", "population", "disdukcapil"),
    ],
)
def test_every_demo_category_reaches_its_agency_before_the_group(line, category, agency):
    for district in DEMO.districts:
        candidates = route(DEMO, line, category, district)
        assert candidates[0].agency == agency and candidates[-1].kind == "group"
        if district != "unknown" and any(district in u.districts for u in DEMO.units if u.agency == agency):
            first_unit = next(u for u in DEMO.units if u.id == candidates[0].id)
            assert district in first_unit.districts
