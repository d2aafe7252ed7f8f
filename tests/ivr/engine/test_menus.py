from __future__ import annotations

import pytest
import yaml

from app import paths
from ivr.engine.menus import MenuError, catalogue_prompts, load_menus, validate

SERVICE_PROMPTS = ("invalid", "connecting", "connecting-operator", "please-hold", "unit-unavailable", "goodbye")


def everything_exists(name: str, language: str) -> bool:
    return True


def menus_with(tmp_path, change, line="112"):
    """The shipped menu file for ``line``, changed by ``change(data)``, loaded from tmp_path."""
    data = yaml.safe_load((paths.MENUS / f"{line}.yaml").read_text())
    change(data)
    (tmp_path / f"{line}.yaml").write_text(yaml.safe_dump(data))
    return load_menus(tmp_path)


def problems(menu_set, prompt_exists=everything_exists, **kwargs) -> str:
    with pytest.raises(MenuError) as err:
        validate(menu_set, prompt_exists, **kwargs)
    return str(err.value)


def test_shipped_menus_validate_against_the_shipped_catalogue():
    menus = load_menus()
    assert set(menus.lines) == {"112", "14084"}
    validate(menus, catalogue_prompts())


def test_catalogue_has_the_call_service_and_dialplan_prompts_in_both_languages():
    exists = catalogue_prompts()
    for name in SERVICE_PROMPTS:
        assert exists(name, "id") and exists(name, "en"), name


def test_welcome_prompts_are_bilingual_in_both_files():
    prompts = yaml.safe_load(paths.PROMPTS_CATALOGUE.read_text())["prompts"]
    for line in ("112", "14084"):
        welcome = prompts[f"{line}-welcome"]
        assert welcome["id"] == welcome["en"]
        assert "press 9" in welcome["id"]


def test_catalogue_check_treats_blank_text_as_missing(tmp_path):
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump({"prompts": {"a": {"id": "Halo.", "en": "  "}}}))
    exists = catalogue_prompts(path)
    assert exists("a", "id") and not exists("a", "en") and not exists("b", "id")


def test_14084_offers_exactly_the_departments():
    menu = load_menus().line("14084").menus["category"]
    values = {v for c in menu.options.values() for f, v in c.sets if f == "category"}
    assert values == {"infrastructure", "environment", "transport", "population", "social", "operator"}


def test_missing_next_target_names_file_menu_and_key(tmp_path):
    def change(d):
        d["menus"]["category"]["options"]["3"]["next"] = "distrct"

    assert "112.yaml: menus.category.options.3.next: 'distrct' is not a menu" in problems(menus_with(tmp_path, change))


def test_prompt_missing_in_one_language_names_the_prompt_and_language():
    menus = load_menus()
    message = problems(menus, lambda name, lang: not (name == "district" and lang == "en"))
    assert "112.yaml: menus.district.prompt: prompt 'district' is missing in 'en'" in message
    assert "14084.yaml: menus.district.prompt" in message


def test_missing_invalid_prompt_is_reported():
    message = problems(load_menus(), lambda name, lang: name != "invalid-bilingual")
    assert "112.yaml: menus.language.invalid: prompt 'invalid-bilingual' is missing in 'id'" in message


@pytest.mark.parametrize("key", ["10", "a", "+"])
def test_bad_option_key_is_reported(tmp_path, key):
    def change(d):
        d["menus"]["district"]["options"][key] = {"set": {"district": "kuta"}, "forward": True}

    assert f"112.yaml: menus.district.options.{key}: an option key is one of 0-9 * #" in problems(
        menus_with(tmp_path, change)
    )


def test_unquoted_numeric_option_keys_are_read_as_digits(tmp_path):
    def change(d):
        d["menus"]["district"]["options"] = {7: {"set": {"district": "kuta"}, "forward": True}}

    assert "7" in menus_with(tmp_path, change).line("112").menus["district"].options


def test_missing_start_menu_and_unreachable_menus_are_reported(tmp_path):
    def change(d):
        d["start"] = "welcome"

    message = problems(menus_with(tmp_path, change))
    assert "112.yaml: start: 'welcome' is not a menu" in message
    assert "112.yaml: menus.language: unreachable" in message


def test_unreachable_menu_is_reported(tmp_path):
    def change(d):
        d["menus"]["spare"] = {"prompt": "district", "options": {"1": {"operator": True}}}

    assert "112.yaml: menus.spare: unreachable from start menu 'language'" in problems(menus_with(tmp_path, change))


@pytest.mark.parametrize(
    "menu, digit, field, value",
    [
        ("category", "1", "category", "ambulance"),
        ("category", "1", "category", "infrastructure"),  # a 14084 category on the 112 line
        ("district", "1", "district", "denpasar"),
        ("language", "9", "language", "fr"),
        ("district", "1", "colour", "red"),
    ],
)
def test_selections_must_be_known_fields_and_values(tmp_path, menu, digit, field, value):
    def change(d):
        d["menus"][menu]["options"][digit]["set"] = {field: value}

    assert f"112.yaml: menus.{menu}.options.{digit}.set.{field}: " in problems(menus_with(tmp_path, change))


def test_categories_can_come_from_the_directory():
    message = problems(load_menus(), categories={"112": ["medical", "fire", "police", "operator"], "14084": []})
    assert "112.yaml: menus.category.options.4.set.category: 'sar' is not a known category" in message
    assert "14084.yaml: menus.category.options.1.set.category" in message


def test_all_problems_are_reported_at_once(tmp_path):
    def change(d):
        d["menus"]["category"]["options"]["3"]["next"] = "distrct"
        d["menus"]["district"]["options"]["x"] = {"forward": True}

    message = problems(menus_with(tmp_path, change))
    assert "options.3.next" in message and "options.x" in message


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda d: d["menus"]["category"]["options"]["1"].update(nxt="district"),
            "112.yaml: menus.category.options.1.nxt: unknown key",
        ),
        (
            lambda d: d["menus"]["category"]["options"]["1"].update(forward=True),
            "112.yaml: menus.category.options.1: needs exactly one of",
        ),
        (
            lambda d: d["menus"]["district"]["options"]["1"].pop("forward"),
            "112.yaml: menus.district.options.1: needs exactly one of",
        ),
        (lambda d: d["menus"]["category"].pop("prompt"), "112.yaml: menus.category.prompt: missing"),
        (lambda d: d["menus"]["category"].update(timeout=-1), "112.yaml: menus.category.timeout: must be a positive"),
        (
            lambda d: d["menus"]["category"].update(options=["1", "2"]),
            "112.yaml: menus.category.options: must be a mapping",
        ),
        (lambda d: d.pop("start"), "112.yaml: start: missing"),
    ],
)
def test_malformed_files_fail_to_load_naming_the_key(tmp_path, change, expected):
    with pytest.raises(MenuError, match=expected.replace(".", r"\.")):
        menus_with(tmp_path, change)


def test_two_files_for_one_line_are_refused(tmp_path):
    text = (paths.MENUS / "112.yaml").read_text()
    (tmp_path / "112.yaml").write_text(text)
    (tmp_path / "112-copy.yaml").write_text(text)
    with pytest.raises(MenuError, match="line: '112' is also in"):
        load_menus(tmp_path)


def test_empty_folder_is_refused(tmp_path):
    with pytest.raises(MenuError, match="no menu files"):
        load_menus(tmp_path)


def test_menu_without_on_timeout_goes_to_the_operator(tmp_path):
    def change(d):
        d["menus"]["district"].pop("on_timeout")

    on_timeout = menus_with(tmp_path, change).line("112").menus["district"].on_timeout
    assert on_timeout.operator and on_timeout.next is None


def test_shipped_menus_route_only_categories_the_demo_directory_knows():
    lines = yaml.safe_load(paths.DEMO_DIRECTORY.read_text())["lines"]
    validate(load_menus(), everything_exists, categories={line: body["categories"] for line, body in lines.items()})
