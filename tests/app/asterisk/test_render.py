"""The rendered configuration, read as text: no Asterisk needed."""

from __future__ import annotations

import os
import re
import stat

import pytest

from app.asterisk import constants as c
from app.asterisk.render import render
from app.settings import Settings, SettingsError
from tests.app.asterisk.support import settings_on_free_ports

PRODUCTION = {"profile": "production", "ari": {"password": "ari-test-secret"}}


def rendered(settings, directory, tmp_path) -> dict[str, str]:
    render(settings, directory, tmp_path / "instance")
    return {p.name: p.read_text() for p in (tmp_path / "instance" / "etc").iterdir()}


def context(dialplan: str, name: str) -> str:
    """The body of one dialplan context (comments stay)."""
    return re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", dialplan, flags=re.M | re.S).group(1)


def sections(conf: str) -> dict[tuple[str, str], str]:
    """pjsip.conf as {(section name, type): body}."""
    out = {}
    for name, body in re.findall(r"^\[([^\]]+)\]\n(.*?)(?=^\[|\Z)", conf, flags=re.M | re.S):
        kind = re.search(r"^type = (\w+)", body, flags=re.M)
        out[(name, kind.group(1) if kind else "")] = body
    return out


def test_pjsip_has_trunk_units_fallback_members_and_operators(directory, tmp_path):
    settings = Settings.load(profile="demo", asterisk={"operators": 3})
    pjsip = sections(rendered(settings, directory, tmp_path)["pjsip.conf"])
    assert f"context = {c.CONTEXT_TRUNK}" in pjsip[("trunk", "endpoint")]
    assert f"contact = sip:{settings.sip.trunk_host}:{settings.sip.trunk_port}" in pjsip[("trunk", "aor")]
    assert f"match = {settings.sip.trunk_match}" in pjsip[("trunk-identify", "identify")]
    for name in ["operator-1", "operator-2", "operator-3", "supervisor-1", "amb-kuta-1", "bpbd-posko"]:
        assert f"context = {c.CONTEXT_INTERNAL}" in pjsip[(name, "endpoint")]
        assert f"username = {name}" in pjsip[(name, "auth")]
        assert "max_contacts = 1" in pjsip[(name, "aor")] and "remove_existing = yes" in pjsip[(name, "aor")]
    assert ("operator-4", "endpoint") not in pjsip


def test_a_unit_reached_over_the_trunk_gets_no_endpoint(directory, tmp_path):
    pjsip = rendered(Settings.load(profile="demo"), directory, tmp_path)["pjsip.conf"]
    assert "0361111222" not in pjsip


def test_production_config_carries_no_demo_password(directory, tmp_path):
    files = rendered(Settings.load(**PRODUCTION), directory, tmp_path)
    for name, text in files.items():
        assert "siaga-demo" not in text, name
    passwords = re.findall(r"^password = (.+)$", files["pjsip.conf"], flags=re.M)
    assert len(passwords) == len(set(passwords)) >= 7  # one strong password per endpoint
    assert all(len(p) >= 24 for p in passwords)
    assert "password = ari-test-secret" in files["ari.conf"]


def test_generated_passwords_are_kept_private_and_survive_re_rendering(directory, tmp_path):
    from app.asterisk import secrets

    settings = Settings.load(**PRODUCTION)
    first = rendered(settings, directory, tmp_path)["pjsip.conf"]
    again = rendered(settings, directory, tmp_path)["pjsip.conf"]
    assert first == again
    assert stat.S_IMODE(secrets.SECRETS_FILE.stat().st_mode) == 0o600


def test_rendered_config_holding_the_passwords_is_private_whatever_the_umask(directory, tmp_path):
    old = os.umask(0)
    try:
        files = rendered(Settings.load(**PRODUCTION), directory, tmp_path / "new")
        etc = tmp_path / "new" / "instance" / "etc"
        assert {"ari.conf", "pjsip.conf", "extensions.conf"} <= set(files)
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in etc.iterdir()} == dict.fromkeys(files, 0o600)
        assert stat.S_IMODE(etc.stat().st_mode) == stat.S_IMODE(etc.parent.stat().st_mode) == 0o700
        # Over a folder an earlier version rendered with the usual umask: no world access left.
        earlier = tmp_path / "earlier" / "instance" / "etc"
        earlier.mkdir(parents=True, mode=0o755)
        (earlier / "ari.conf").write_text("password = old")
        os.chmod(earlier / "ari.conf", 0o644)
        rendered(Settings.load(**PRODUCTION), directory, tmp_path / "earlier")
        assert stat.S_IMODE((earlier / "ari.conf").stat().st_mode) == 0o600
        assert stat.S_IMODE(earlier.stat().st_mode) == 0o750  # a group an operator gave stays
    finally:
        os.umask(old)


def test_demo_profile_uses_the_demo_password(directory, tmp_path):
    pjsip = rendered(Settings.load(profile="demo"), directory, tmp_path)["pjsip.conf"]
    assert set(re.findall(r"^password = (.+)$", pjsip, flags=re.M)) == {"siaga-demo"}


def test_production_without_ari_password_refuses_to_render(directory, tmp_path):
    with pytest.raises(SettingsError, match="ari.password"):
        render(Settings.load(profile="production"), directory, tmp_path)


def test_semicolon_in_a_password_is_escaped_not_a_comment(directory, tmp_path):
    settings = Settings.load(profile="production", ari={"password": "abc;def-123456"})
    assert r"password = abc\;def-123456" in rendered(settings, directory, tmp_path)["ari.conf"]


def test_ports_and_addresses_come_from_settings(directory, tmp_path):
    settings = settings_on_free_ports(rtp_base=41000)
    files = rendered(settings, directory, tmp_path)
    assert f"bindport = {settings.ari.port}" in files["http.conf"]
    assert f"bind = 127.0.0.1:{settings.sip.port}" in files["pjsip.conf"]
    assert "rtpstart = 41000" in files["rtp.conf"] and "rtpend = 41999" in files["rtp.conf"]
    # An explicit media address: Asterisk never looks up "our" address per call.
    assert "media_address = 127.0.0.1" in files["pjsip.conf"]
    assert f"[{settings.ari.user}]" in files["ari.conf"]


def test_instance_folders_override_the_system_ones(directory, tmp_path):
    render(Settings.load(profile="demo"), directory, tmp_path / "host", inside="/var/lib/siaga/x")
    conf = (tmp_path / "host" / "etc" / "asterisk.conf").read_text()
    assert re.search(r"^\[directories\]$", conf, flags=re.M)  # no "(!)": not a template
    assert "astetcdir => /var/lib/siaga/x/etc" in conf
    assert "astspooldir => /var/lib/siaga/x/spool" in conf
    assert not re.search(r"^astdatadir", conf, flags=re.M)  # core sounds stay where the package put them


def test_fallback_tries_group_then_default_agency_then_loops(directory, tmp_path):
    dialplan = rendered(Settings.load(**PRODUCTION), directory, tmp_path)["extensions.conf"]
    line_112 = context(dialplan, c.CONTEXT_FALLBACK).split("exten => 14084")[0]
    dials = re.findall(r"Dial\(([^)]*)\)", line_112)
    assert dials == [
        "PJSIP/operator-1&PJSIP/operator-2&PJSIP/supervisor-1,30",
        "PJSIP/amb-kuta-1&PJSIP/0361111222@trunk,25",
    ]
    assert "Playback(siaga/id/please-hold&siaga/en/please-hold)" in line_112
    assert line_112.rstrip().endswith("Goto(group)")
    assert c.CONTEXT_DEMO_RESPONDER not in dialplan  # production has no pretend responders


def test_both_lines_go_to_stasis_then_fallback(directory, tmp_path):
    settings = Settings.load(profile="demo", ari={"app": "siaga-x"})
    trunk = context(rendered(settings, directory, tmp_path)["extensions.conf"], c.CONTEXT_TRUNK)
    for line in c.LINES:
        assert f"Set(__{c.VAR_LINE}={line})" in trunk
        assert f"Stasis(siaga-x,{line})" in trunk
        assert f"Goto({c.CONTEXT_FALLBACK},{line},1)" in trunk


def test_every_fallback_call_that_ends_has_a_journal_start_line_before_its_end_line(directory, tmp_path):
    dialplan = rendered(Settings.load(**PRODUCTION), directory, tmp_path)["extensions.conf"]
    route = context(dialplan, c.CONTEXT_FALLBACK).split("exten => 14084")[0]
    push = route.index(f"exten => 112,1,Set(CHANNEL(hangup_handler_push)={c.CONTEXT_FALLBACK_END},s,1)")
    start = route.index("|start|${UNIQUEID}|112|")
    marked = route.index(f"Set({c.VAR_JOURNALED}=1)")
    assert push < start < marked  # the route's first step: a hang-up anywhere in it gets its end line
    handler = [
        line.strip()
        for line in context(dialplan, c.CONTEXT_FALLBACK_END).splitlines()
        if line.strip() and not line.startswith(";")
    ]
    assert handler[0] == f'exten => s,1,GotoIf($["${{{c.VAR_JOURNALED}}}" = "1"]?end)'
    assert f"|start|${{UNIQUEID}}|${{{c.VAR_LINE}}}|" in handler[1]  # one who hung up before it: written here
    assert handler[2].startswith(f"same => n(end),Log({c.JOURNAL_LEVEL},SIAGA-JOURNAL|${{EPOCH}}|end|")


def test_the_journal_has_a_log_level_and_a_file_of_its_own(directory, tmp_path):
    logger = rendered(Settings.load(**PRODUCTION), directory, tmp_path)["logger.conf"]
    assert f"custom_levels = {c.JOURNAL_LEVEL}" in logger
    files = dict(re.findall(r"^(\S+) => (.+)$", logger, flags=re.M))
    [journal] = [name for name in files if name.endswith("/journal/fallback.log")]
    assert files[journal] == c.JOURNAL_LEVEL  # that level alone: no notice a caller can fill lands there
    assert all(c.JOURNAL_LEVEL not in levels for name, levels in files.items() if name != journal)
    assert re.search(r"^logger_queue_limit = (\d+)$", logger, flags=re.M).group(1) == "20000"
    assert f"rotatestrategy = {c.LOG_ROTATE_STRATEGY}" in logger


def test_caller_text_reaches_the_journal_only_cut_and_uri_encoded_and_no_other_log_line(directory, tmp_path):
    files = rendered(Settings.load(**PRODUCTION), directory, tmp_path)
    dialplan = files["extensions.conf"]
    encoded = f"${{URIENCODE(${{CALLERID(num):0:{c.JOURNAL_CALLER_CHARS}}})}}"
    logs = [line for line in dialplan.splitlines() if re.search(r"\b(Log|Verbose)\(", line)]
    journal = [line for line in logs if f"Log({c.JOURNAL_LEVEL}," in line]
    assert len(journal) == len(c.LINES) + 2  # a start line per line, the handler's start and end
    for line in journal:
        assert "|start|" not in line or f"|{encoded}|" in line
        assert line.replace(encoded, "").count("CALLERID") == 0
    for line in logs:
        assert "CALLERID" not in line.replace(encoded, "")  # nor the name, in any other line
        assert c.JOURNAL_MARK not in line or f"Log({c.JOURNAL_LEVEL}," in line
    assert "load = func_uri.so" in files["modules.conf"]


def test_while_the_service_sheds_a_surge_new_callers_go_to_the_fallback_before_stasis(directory, tmp_path):
    dialplan = rendered(Settings.load(**PRODUCTION), directory, tmp_path)["extensions.conf"]
    assert f"{c.VAR_SHED}=0" in context(dialplan, "globals").splitlines()  # off until the service says so
    trunk = context(dialplan, c.CONTEXT_TRUNK)
    for line in c.LINES:
        steps = trunk.split(f"exten => {line},1,")[1].split("exten => ")[0].splitlines()
        apps = [
            s.split(",", 1)[1] if s.startswith(" same") else s
            for s in steps
            if s.strip() and not s.strip().startswith(";")
        ]
        record = next(i for i, a in enumerate(apps) if a.startswith("MixMonitor("))
        # Recorded either way; 14084 from level 1 on, 112 only at level 2 (SIAGA_SHED empty counts as 0).
        level = {c.LINE_14084: 1, c.LINE_112: 2}[line]
        assert apps[record + 1] == f"GotoIf($[0${{GLOBAL({c.VAR_SHED})}} >= {level}]?shed)"
        assert apps[record + 2] == f"Stasis({Settings.load(**PRODUCTION).ari.app},{line})"
        assert apps[-2:] == [f"Set(__{c.VAR_FALLBACK_REASON}={c.SHED_REASON})", f"Goto({c.CONTEXT_FALLBACK},{line},1)"]
        assert any(s.startswith(" same => n(shed),") for s in steps)


def test_demo_responders_answer_for_every_unit_and_the_group(directory, tmp_path):
    dialplan = rendered(Settings.load(profile="demo"), directory, tmp_path)["extensions.conf"]
    responders = context(dialplan, c.CONTEXT_DEMO_RESPONDER)
    for exten in [u.id for u in directory.units] + [c.DEMO_FALLBACK_EXTEN]:
        assert f"exten => {exten},1,Answer()" in responders
        assert f"Playback({c.demo_sound(exten)})" in responders
    assert f"Dial(Local/{c.DEMO_FALLBACK_EXTEN}@{c.CONTEXT_DEMO_RESPONDER},60)" in dialplan
