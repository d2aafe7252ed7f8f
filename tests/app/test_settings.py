"""Invalid configuration is refused with one line naming the source, the key and the reason."""

from __future__ import annotations

import os

import pytest

from app.settings import Settings, SettingsError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Only what a test sets: no SIAGA_* or DATABASE_URL from the shell running pytest."""
    for name in list(os.environ):
        if name.startswith("SIAGA_") or name in {"DATABASE_URL", "REDIS_URL"}:
            monkeypatch.delenv(name)


def config(tmp_path, monkeypatch, text: str, name: str = "siaga.toml"):
    path = tmp_path / name
    path.write_text(text)
    monkeypatch.setenv("SIAGA_CONFIG", str(path))
    return path


def refusal(**overrides) -> str:
    with pytest.raises(SettingsError) as caught:
        Settings.load(**overrides)
    return str(caught.value)


def test_a_valid_file_is_read_with_the_environment_winning(tmp_path, monkeypatch):
    config(tmp_path, monkeypatch, '[ari]\nport = 8090\nhost = "10.0.0.5"\n')
    monkeypatch.setenv("SIAGA_ARI__PORT", "8091")
    settings = Settings.load()
    assert (settings.ari.host, settings.ari.port) == ("10.0.0.5", 8091)


def test_toml_syntax_error_names_the_file_and_line(tmp_path, monkeypatch):
    path = config(tmp_path, monkeypatch, '[ari]\nhost = "a"\nport = \n')
    message = refusal()
    assert message.startswith(f"{path}: line 3: TOML syntax error: ")


def test_wrong_type_in_the_file_names_file_key_and_value(tmp_path, monkeypatch):
    path = config(tmp_path, monkeypatch, '[ari]\nport = "abc"\n')
    message = refusal()
    assert message.startswith(f"{path}: ari.port: Input should be a valid integer")
    assert message.endswith("(got 'abc')")


def test_wrong_type_in_the_environment_names_the_variable(tmp_path, monkeypatch):
    config(tmp_path, monkeypatch, "[sip]\nport = 5060\n")
    monkeypatch.setenv("SIAGA_SIP__PORT", "five")
    message = refusal()
    assert message.startswith("environment SIAGA_SIP__PORT: Input should be a valid integer")
    assert "(got 'five')" in message


def test_unparseable_json_for_a_whole_group_names_the_variable(monkeypatch):
    monkeypatch.setenv("SIAGA_ARI", "{not json")
    assert refusal().startswith("environment SIAGA_ARI: cannot be parsed")


def test_a_bad_profile_given_on_the_command_line_names_the_option():
    assert refusal(profile="prod") == "option --profile: Input should be 'demo' or 'production' (got 'prod')"


def test_each_problem_is_one_line(tmp_path, monkeypatch):
    path = config(tmp_path, monkeypatch, '[ari]\nport = "x"\n[web]\nport = "y"\n')
    assert refusal().splitlines() == [
        f"{path}: ari.port: Input should be a valid integer, unable to parse string as an integer (got 'x')",
        f"{path}: web.port: Input should be a valid integer, unable to parse string as an integer (got 'y')",
    ]


def test_a_misspelt_key_in_the_file_is_refused_not_ignored(tmp_path, monkeypatch):
    path = config(tmp_path, monkeypatch, "[ari]\nprot = 8088\n")
    message = refusal()
    assert message.startswith(f"{path}: ari.prot: unknown setting (known: host, port,")


def test_a_missing_config_file_is_named(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "siaga.toml"
    monkeypatch.setenv("SIAGA_CONFIG", str(missing))
    assert refusal() == f"SIAGA_CONFIG={missing}: file not found"


def test_a_secret_of_the_wrong_type_is_not_echoed(tmp_path, monkeypatch):
    config(tmp_path, monkeypatch, "[ari]\npassword = 123456\n")
    message = refusal()
    assert "ari.password: Input should be a valid string" in message and "123456" not in message


def test_the_demo_secret_in_the_file_is_refused_outside_the_demo_profile(tmp_path, monkeypatch):
    config(tmp_path, monkeypatch, 'profile = "production"\n[ari]\npassword = "siaga-demo"\n')
    settings = Settings.load()
    with pytest.raises(
        SettingsError, match=r"^ari\.password: a well-known password is refused outside the demo profile"
    ):
        settings.check_secrets()


def test_the_demo_secret_is_accepted_in_the_demo_profile(tmp_path, monkeypatch):
    config(tmp_path, monkeypatch, 'profile = "demo"\n')
    settings = Settings.load()
    settings.check_secrets()
    assert settings.ari.password.get_secret_value() == "siaga-demo"


def test_a_surge_guard_that_would_never_resume_is_refused_naming_both_keys(tmp_path, monkeypatch):
    path = config(tmp_path, monkeypatch, "[ivr]\nshed_above_ms = 100\nresume_below_ms = 100\n")
    message = refusal()
    assert message.startswith(f"{path}: ivr: ")
    assert "ivr.resume_below_ms (100) must be below ivr.shed_above_ms (100)" in message
    monkeypatch.setenv("SIAGA_IVR__SHED_ABOVE_MS", "0")  # the guard off: its resume level does not matter
    assert Settings.load().ivr.shed_above_ms == 0


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        (
            "shed_14084_above_ms = 150\n",
            "ivr.shed_14084_above_ms (150) must be below ivr.shed_above_ms (150): 14084 callers are shed before 112",
        ),
        ("shed_14084_above_ms = 50\nresume_14084_below_ms = 60\n", "ivr.resume_14084_below_ms (60) must be below"),
    ],
)
def test_the_14084_surge_level_must_come_before_the_112_one_with_its_own_resume_level(
    tmp_path, monkeypatch, toml, error
):
    path = config(tmp_path, monkeypatch, "[ivr]\n" + toml)
    message = refusal()
    assert message.startswith(f"{path}: ivr: ") and error in message and "\n" not in message


def test_zero_turns_off_the_whole_guard_or_only_its_14084_level(tmp_path, monkeypatch):
    config(tmp_path, monkeypatch, "[ivr]\nshed_above_ms = 0\nshed_14084_above_ms = 500\n")  # off: not checked
    assert Settings.load().ivr.shed_above_ms == 0
    config(tmp_path, monkeypatch, "[ivr]\nshed_14084_above_ms = 0\nresume_14084_below_ms = 900\n")
    assert Settings.load().ivr.shed_14084_above_ms == 0  # 14084 is shed with 112, at level 2
