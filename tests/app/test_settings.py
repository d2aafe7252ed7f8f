"""Invalid configuration is refused with one line naming the source, the key and the reason."""

from __future__ import annotations

import os
import secrets

import pytest

from app.passwords import RULE, weakness
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
    path = config(tmp_path, monkeypatch, 'profile = "production"\n[ari]\npassword = "siaga-demo"\n')
    settings = Settings.load()
    with pytest.raises(SettingsError) as caught:
        settings.check_secrets()
    assert str(caught.value) == (
        f"{path}: ari.password: refused outside the demo profile: a well-known password (the rule: {RULE})"
    )


def test_the_demo_secret_is_accepted_in_the_demo_profile(tmp_path, monkeypatch):
    config(tmp_path, monkeypatch, 'profile = "demo"\n')
    settings = Settings.load()
    settings.check_secrets()
    assert settings.ari.password.get_secret_value() == "siaga-demo"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("1", "shorter than 12 characters"),
        ("Xk9-pq2", "shorter than 12 characters"),
        ("aaaaaaaaaaaaaaaa", "fewer than 6 different characters"),
        ("123456789012", "no letters"),
        ("Password2024!", "a well-known password"),
        ("admin-admin-2024", "a well-known password"),
        ("CHANGEME_12345", "a well-known password"),
        ("my-siaga-box-77", "contains the user name 'siaga'"),
    ],
)
def test_a_weak_ari_password_is_refused_in_the_environment_naming_the_variable_and_the_rule(monkeypatch, password, why):
    monkeypatch.setenv("SIAGA_ARI__PASSWORD", password)
    settings = Settings.load(profile="production")
    with pytest.raises(SettingsError) as caught:
        settings.check_secrets()
    assert (
        str(caught.value)
        == f"environment SIAGA_ARI__PASSWORD: refused outside the demo profile: {why} (the rule: {RULE})"
    )


def test_a_weak_shared_sip_password_is_refused_naming_its_key(tmp_path, monkeypatch):
    path = config(tmp_path, monkeypatch, '[ari]\npassword = "Zq4-Tr8-wq1-Lp0"\n[sip]\nendpoint_password = "1234"\n')
    with pytest.raises(SettingsError, match=rf"^{path}: sip.endpoint_password: refused .*: shorter than 12"):
        Settings.load().check_secrets()


@pytest.mark.parametrize("password", ["Zq4-Tr8-wq1-Lp0", "e2e-ari-4f9c2d7a1b3e5f60", secrets.token_urlsafe(18)])
def test_strong_and_generated_passwords_pass(password):
    settings = Settings.load(profile="production", ari={"password": password}, sip={"endpoint_password": password})
    settings.check_secrets()
    assert weakness(secrets.token_urlsafe(24), "siaga") is None


@pytest.mark.parametrize(
    ("variable", "host", "key"),
    [
        ("SIAGA_SIP__BIND_HOST", "0.0.0.0", "sip.endpoint_password"),
        ("SIAGA_SIP__BIND_HOST", "192.168.1.20", "sip.endpoint_password"),
        ("SIAGA_ARI__HOST", "0.0.0.0", "ari.password"),
        ("SIAGA_ARI__HOST", "::", "ari.password"),
    ],
)
def test_the_demo_password_is_refused_when_what_it_guards_listens_beyond_loopback(monkeypatch, variable, host, key):
    monkeypatch.setenv(variable, host)
    settings = Settings.load(profile="demo")
    with pytest.raises(SettingsError) as caught:
        settings.check_secrets()
    bind = variable.removeprefix("SIAGA_").lower().replace("__", ".")
    assert str(caught.value) == (
        f"{key}: refused while {bind} is {host!r}, not loopback: the demo profile's well-known password "
        f"(set SIAGA_{key.upper().replace('.', '__')} to a password with {RULE}, or bind {bind} to 127.0.0.1)"
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "[::1]", "localhost"])
def test_the_demo_password_is_accepted_on_loopback(monkeypatch, host):
    monkeypatch.setenv("SIAGA_SIP__BIND_HOST", host)
    monkeypatch.setenv("SIAGA_ARI__HOST", host)
    Settings.load(profile="demo").check_secrets()


def test_the_demo_profile_on_the_lan_runs_with_passwords_of_its_own(monkeypatch):
    monkeypatch.setenv("SIAGA_SIP__BIND_HOST", "0.0.0.0")
    monkeypatch.setenv("SIAGA_SIP__ENDPOINT_PASSWORD", "1")
    with pytest.raises(
        SettingsError, match=r"^environment SIAGA_SIP__ENDPOINT_PASSWORD: refused while .*: shorter than 12"
    ):
        Settings.load(profile="demo").check_secrets()
    monkeypatch.setenv("SIAGA_SIP__ENDPOINT_PASSWORD", "Zq4-Tr8-wq1-Lp0")
    Settings.load(profile="demo").check_secrets()


def test_a_surge_guard_that_would_never_resume_is_refused_naming_both_keys(tmp_path, monkeypatch):
    path = config(tmp_path, monkeypatch, "[ivr]\nshed_above_ms = 100\nresume_below_ms = 100\n")
    message = refusal()
    assert message.startswith(f"{path}: ivr: ")
    assert "ivr.resume_below_ms (100) must be below ivr.shed_above_ms (100)" in message
    monkeypatch.setenv("SIAGA_IVR__SHED_ABOVE_MS", "0")  # the guard off: its resume level does not matter
    assert Settings.load().ivr.shed_above_ms == 0


def test_retention_periods_have_defaults_and_refuse_zero(tmp_path, monkeypatch):
    keep = Settings.load().retention
    assert (keep.recordings_days, keep.logs_days, keep.live_call_hours) == (90, 30, 4.0)
    path = config(tmp_path, monkeypatch, "[retention]\nrecordings_days = 0\n")
    assert refusal().startswith(f"{path}: retention.recordings_days: Input should be greater than or equal to 1")


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


def test_case_classifications_and_prank_limits_have_defaults_and_come_from_file_or_environment(tmp_path, monkeypatch):
    cases = Settings.load().cases
    assert cases.classifications == ["emergency", "information", "silent", "prank", "wrong-number"]
    assert (cases.prank_threshold, cases.prank_window_days) == (3, 30)
    config(tmp_path, monkeypatch, '[cases]\nclassifications = ["real", "prank"]\nprank_window_days = 7\n')
    monkeypatch.setenv("SIAGA_CASES__PRANK_THRESHOLD", "2")
    cases = Settings.load().cases
    assert (cases.classifications, cases.prank_threshold, cases.prank_window_days) == (["real", "prank"], 2, 7)


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        (
            'classifications = ["prank", "prank"]',
            "cases: Value error, cases.classifications names prank more than once",
        ),
        ('classifications = ["Wrong Number"]', "cases.classifications.0: String should match pattern"),
        ("classifications = []", "cases.classifications: List should have at least 1 item"),
        ("prank_threshold = 0", "cases.prank_threshold: Input should be greater than or equal to 1"),
        ("prank_window_days = 0", "cases.prank_window_days: Input should be greater than 0"),
    ],
)
def test_bad_case_classifications_or_prank_limits_are_refused_naming_the_key(tmp_path, monkeypatch, toml, error):
    path = config(tmp_path, monkeypatch, f"[cases]\n{toml}\n")
    assert refusal().startswith(f"{path}: {error}")
