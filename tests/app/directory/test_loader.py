from __future__ import annotations

import copy
import re

import pytest
import yaml

from app import paths
from app.asterisk import constants as c
from app.directory import schema
from app.directory.loader import DirectoryError, load_directory

DEMO = yaml.safe_load(paths.DEMO_DIRECTORY.read_text())


def _write(tmp_path, data, name="broken.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False) if not isinstance(data, str) else data)
    return path


def _problems(tmp_path, mutate) -> list[str]:
    data = copy.deepcopy(DEMO)
    mutate(data)
    with pytest.raises(DirectoryError) as caught:
        load_directory(_write(tmp_path, data))
    return caught.value.problems


def _unit(data, unit_id):
    return next(u for u in data["units"] if u["id"] == unit_id)


def _index(unit_id) -> int:
    return [u["id"] for u in DEMO["units"]].index(unit_id)


def test_demo_directory_loads():
    directory = load_directory(paths.DEMO_DIRECTORY)
    assert {"112", "14084"} <= set(directory.lines)


def test_undefined_agency_names_file_unit_and_agency(tmp_path):
    problems = _problems(tmp_path, lambda d: _unit(d, "psc-kuta").update(agency="pcs"))
    assert problems == [f"{tmp_path}/broken.yaml: units[{_index('psc-kuta')}] (psc-kuta): agency 'pcs' is not defined"]


def test_duplicate_unit_ids_are_refused(tmp_path):
    def twin(d):
        copy_of_kuta = dict(_unit(d, "psc-kuta"), dial="PJSIP/psc-kuta-2")
        d["units"].append(copy_of_kuta)

    problems = _problems(tmp_path, twin)
    assert problems == [
        f"{tmp_path}/broken.yaml: units[{len(DEMO['units'])}] (psc-kuta): id 'psc-kuta' is already used by "
        f"units[{_index('psc-kuta')}]"
    ]


def test_unit_district_must_exist(tmp_path):
    problems = _problems(tmp_path, lambda d: _unit(d, "polsek-kuta").update(districts=["kuta", "legian"]))
    assert problems == [
        f"{tmp_path}/broken.yaml: units[{_index('polsek-kuta')}] (polsek-kuta): district 'legian' is not defined"
    ]


@pytest.mark.parametrize("dial", ["SIP/psc-kuta", "PJSIP/", "PJSIP/0361@elsewhere", "Local/112", "psc-kuta"])
def test_dial_strings_asterisk_would_not_understand_are_refused(tmp_path, dial):
    (problem,) = _problems(tmp_path, lambda d: _unit(d, "psc-petang").update(dial=dial))
    assert problem.startswith(f"{tmp_path}/broken.yaml: units[{_index('psc-petang')}] (psc-petang): dial '{dial}'")


@pytest.mark.parametrize(
    "dial",
    [
        "PJSIP/+62361123456@trunk",
        "PJSIP/0361751111@trunk",
        f"Local/psc-petang@{c.CONTEXT_DEMO_RESPONDER}",
        f"Local/psc-petang@{c.CONTEXT_BENCH_AGENCY}",
    ],
)
def test_trunk_numbers_and_local_extensions_are_accepted(tmp_path, dial):
    data = copy.deepcopy(DEMO)
    _unit(data, "psc-petang")["dial"] = dial
    assert load_directory(_write(tmp_path, data)).units[_index("psc-petang")].dial == dial


@pytest.mark.parametrize(
    "context", [c.CONTEXT_TRUNK, c.CONTEXT_INTERNAL, c.CONTEXT_FALLBACK, c.CONTEXT_FALLBACK_END, "units"]
)
def test_a_local_dial_into_a_context_that_is_not_a_units_is_refused(tmp_path, context):
    """Local/112@siaga-trunk would ring the 112 line itself: a loop that takes a channel per round."""
    (problem,) = _problems(tmp_path, lambda d: _unit(d, "psc-petang").update(dial=f"Local/112@{context}"))
    assert problem == (
        f"{tmp_path}/broken.yaml: units[{_index('psc-petang')}] (psc-petang): dial 'Local/112@{context}': "
        f"context '{context}' is not a unit's (allowed: {', '.join(c.UNIT_CONTEXTS)}); "
        "a line's context would loop the call back into the lines"
    )


def test_the_fallback_group_cannot_dial_a_line_or_the_trunk_itself(tmp_path):
    def loops(d):
        d["fallback_group"]["dial"] = [f"Local/112@{c.CONTEXT_INTERNAL}", "PJSIP/trunk"]

    problems = _problems(tmp_path, loops)
    assert [p.split(": ")[1] for p in problems] == ["fallback_group.dial[0]", "fallback_group.dial[1]"]
    assert "loop the call back" in problems[0] and "the telco trunk itself" in problems[1]


@pytest.mark.parametrize(
    ("mutate", "where", "known"),
    [
        (
            lambda d: _unit(d, "psc-kuta").update(ring_timout=90),
            f"units[{_index('psc-kuta')}] (psc-kuta): ring_timout",
            "Unit",
        ),
        (lambda d: d["districts"]["kuta"].update(latitude=-8.7), "districts.kuta: latitude", "District"),
        (lambda d: d["fallback_group"].update(ringtimeout=30), "fallback_group: ringtimeout", "FallbackGroup"),
        (lambda d: d["lines"]["112"].update(default=None), "lines.112: default", "Line"),
        (
            lambda d: d["lines"]["112"]["categories"]["medical"].update(agnecy="psc"),
            "lines.112: categories.medical.agnecy",
            "CategoryRoute",
        ),
        (lambda d: d.update(unit=[]), "unit", "Directory"),
    ],
)
def test_a_misspelt_key_is_refused_naming_the_file_the_entry_and_the_key(tmp_path, mutate, where, known):
    """``ring_timout: 90`` would otherwise load with the default ring timeout, silently."""
    (problem,) = _problems(tmp_path, mutate)
    fields = ", ".join(getattr(schema, known).model_fields)
    assert problem == f"{tmp_path}/broken.yaml: {where}: unknown key (known: {fields})"


def test_two_entries_on_one_endpoint_are_refused(tmp_path):
    (problem,) = _problems(tmp_path, lambda d: _unit(d, "psc-petang").update(dial="PJSIP/operator-1"))
    assert "fallback_group.dial[0]" in problem and "PJSIP/operator-1" in problem


def test_missing_district_key_is_named(tmp_path):
    problems = _problems(tmp_path, lambda d: d["districts"].pop("unknown"))
    assert problems == [
        f"{tmp_path}/broken.yaml: districts: district 'unknown' is missing "
        "(needed: kuta-selatan, kuta, kuta-utara, mengwi, abiansemal, petang, unknown)"
    ]


def test_112_needs_every_emergency_category(tmp_path):
    problems = _problems(tmp_path, lambda d: d["lines"]["112"]["categories"].pop("sar"))
    assert problems == [f"{tmp_path}/broken.yaml: lines.112: category 'sar' is missing"]


def test_routed_category_needs_a_defined_agency_with_units(tmp_path):
    def no_fire_units(d):
        d["units"] = [u for u in d["units"] if u["agency"] != "damkar"]
        d["lines"]["14084"]["categories"]["social"] = {"agency": "dinsoss"}

    problems = _problems(tmp_path, no_fire_units)
    assert problems == [
        f"{tmp_path}/broken.yaml: lines.112.categories.fire: agency 'damkar' has no units to ring",
        f"{tmp_path}/broken.yaml: lines.14084.categories.social: agency 'dinsoss' is not defined",
    ]


def test_schema_errors_name_the_entry_and_field(tmp_path):
    def damage(d):
        del _unit(d, "psc-mengwi")["dial"]
        d["districts"]["kuta"]["lat"] = "south"

    problems = _problems(tmp_path, damage)
    assert len(problems) == 2
    assert problems[0].startswith(f"{tmp_path}/broken.yaml: districts.kuta: lat: ")
    assert problems[1] == f"{tmp_path}/broken.yaml: units[{_index('psc-mengwi')}] (psc-mengwi): dial: Field required"


def test_bad_unit_id_is_a_schema_error_on_that_unit(tmp_path):
    (problem,) = _problems(tmp_path, lambda d: _unit(d, "psc-kuta").update(id="PSC Kuta"))
    assert problem.startswith(
        f"{tmp_path}/broken.yaml: units[{_index('psc-kuta')}] (PSC Kuta): id: String should match"
    )


def test_yaml_syntax_errors_give_the_line(tmp_path):
    text = "districts:\n  kuta: {name: Kuta, lat: -8.7\n  mengwi: x\n"
    with pytest.raises(DirectoryError) as caught:
        load_directory(_write(tmp_path, text))
    assert str(caught.value).startswith(f"{tmp_path}/broken.yaml: line 3, column")


def test_duplicate_yaml_keys_are_refused_with_their_line(tmp_path):
    text = paths.DEMO_DIRECTORY.read_text().replace("  kuta-utara: {", "  kuta: {", 1)
    with pytest.raises(DirectoryError) as caught:
        load_directory(_write(tmp_path, text))
    line = next(n for n, s in enumerate(text.splitlines(), 1) if s.startswith("  kuta: {") and "Kuta Utara" in s)
    assert str(caught.value).startswith(
        f"{tmp_path}/broken.yaml: line {line}, column 3: YAML error: duplicate key 'kuta'"
    )


def test_unquoted_line_numbers_are_read_as_text(tmp_path):
    text = paths.DEMO_DIRECTORY.read_text().replace('"112":', "112:").replace('"14084":', "14084:")
    assert set(load_directory(_write(tmp_path, text)).lines) == {"112", "14084"}


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DirectoryError, match=f"^{re.escape(str(tmp_path))}/nowhere.yaml: cannot be read"):
        load_directory(tmp_path / "nowhere.yaml")


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(DirectoryError, match=f"^{re.escape(str(tmp_path))}/broken.yaml: the top level"):
        load_directory(_write(tmp_path, "- just\n- a list\n"))
