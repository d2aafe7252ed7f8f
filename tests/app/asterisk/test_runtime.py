"""A real Asterisk 22 instance, started from the rendered configuration."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess

import httpx
import pytest

from app.asterisk import AsteriskError, AsteriskInstance, PortInUse
from app.asterisk import constants as c
from tests.app.asterisk.support import gone, need_asterisk, settings_on_free_ports
from tests.support.waiting import until


@pytest.fixture(scope="module")
def instance(directory):
    """One demo instance shared by the read-only checks below."""
    need_asterisk()
    running = AsteriskInstance(settings_on_free_ports(rtp_base=42000), directory, name="test-runtime")
    with running:
        yield running
    shutil.rmtree(running.dir, ignore_errors=True)


def test_ari_answers_with_the_right_password_only(instance):
    ari = instance.settings.ari
    url = f"{ari.base_url}/asterisk/info"
    assert httpx.get(url, auth=(ari.user, ari.password.get_secret_value())).status_code == 200
    assert httpx.get(url, auth=(ari.user, "wrong-password")).status_code == 401


def test_trunk_context_lists_both_lines(instance):
    shown = instance.cli(f"dialplan show {c.CONTEXT_TRUNK}")
    for line in c.LINES:
        assert re.search(rf"'{line}' =>\s+1\. Set\(__{c.VAR_LINE}={line}\)", shown)


def test_pjsip_lists_trunk_units_and_operators(instance):
    shown = instance.cli("pjsip show endpoints")
    for name in ["trunk", "amb-kuta-1", "bpbd-posko", "supervisor-1", "operator-1", "operator-4"]:
        assert re.search(rf"Endpoint:\s+{name}\b", shown), name
    assert re.search(r"Match:\s+127\.0\.0\.1/32", shown)


def test_every_application_the_dialplan_uses_is_loaded(instance):
    # A missing module turns into "No application 'X'" and a hung-up caller.
    dialplan = (instance.dir / "etc" / "extensions.conf").read_text()
    used = set(re.findall(r"^\s*(?:exten => [^,]+|same => )[^,]*,\s*([A-Za-z]+)\(", dialplan, flags=re.M))
    used |= set(re.findall(r"\?([A-Za-z]+)\(", dialplan))  # ExecIf(...?App(...))
    loaded = set(re.findall(r"^\s*(\w+):", instance.cli("core show applications"), flags=re.M))
    assert {"Stasis", "Dial", "ExecIf", "Playback", "Echo"} <= used
    assert used <= loaded, used - loaded


def test_a_112_call_without_the_app_goes_to_the_fallback(instance):
    # No ARI app is connected: Stasis() fails at once and the dialplan takes over.
    instance.cli(f"channel originate Local/112@{c.CONTEXT_TRUNK} application Wait 30")
    try:
        channel = until(
            lambda: [
                l for l in instance.cli("core show channels concise").splitlines() if f"!{c.CONTEXT_FALLBACK}!112!" in l
            ],
            10,
            "the caller in the fallback route",
        )
        name = channel[0].split("!")[0]
        shown = instance.cli(f"core show channel {name}")
        assert f"{c.VAR_FALLBACK_REASON}=FAILED" in shown
        assert f"{c.VAR_LINE}=112" in shown
    finally:
        instance.cli("channel request hangup all")


def test_stop_leaves_no_process(make_instance):
    instance = make_instance("stop").start()
    pid = instance._proc.pid
    assert instance.running and instance.answering()
    instance.stop()
    assert not instance.running
    assert gone(pid)
    assert not instance.answering()


def test_two_instances_run_at_once(make_instance):
    first = make_instance("first", settings_on_free_ports(rtp_base=43000)).start()
    second = make_instance("second", settings_on_free_ports(rtp_base=44000)).start()
    for running in (first, second):
        ari = running.settings.ari
        assert (
            httpx.get(f"{ari.base_url}/asterisk/info", auth=(ari.user, ari.password.get_secret_value())).status_code
            == 200
        )
    assert first.recordings_dir != second.recordings_dir
    assert first.answering() and second.answering()


def test_a_taken_sip_port_gives_a_readable_error(make_instance):
    instance = make_instance("busy")
    port = instance.settings.sip.port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", port))
        with pytest.raises(PortInUse, match=rf"SIP \(UDP\) port 127\.0\.0\.1:{port} is already in use"):
            instance.start()
    assert not instance.running


def test_a_taken_http_port_gives_a_readable_error(make_instance):
    instance = make_instance("busy-http")
    port = instance.settings.ari.port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(PortInUse, match=rf"ARI/HTTP \(TCP\) port 127\.0\.0\.1:{port}"):
            instance.start()


def test_in_the_demo_nobody_registered_means_the_demo_responder_answers(instance):
    # Operators and the default agency are not registered, so their Dial()s fail
    # at once and the demo responder picks up, announces itself and echoes.
    instance.cli(f"channel originate Local/14084@{c.CONTEXT_TRUNK} application Wait 30")
    try:
        until(
            lambda: (
                f"!{c.CONTEXT_DEMO_RESPONDER}!{c.DEMO_FALLBACK_EXTEN}!" in instance.cli("core show channels concise")
            ),
            10,
            "the demo responder to answer",
        )
    finally:
        instance.cli("channel request hangup all")


def test_a_leftover_asterisk_of_a_killed_run_is_stopped_and_replaced(make_instance):
    settings = settings_on_free_ports(rtp_base=46000)
    first = make_instance("leftover", settings).start()
    leftover_pid = first._proc.pid
    dead = subprocess.Popen(["true"])
    dead.wait()
    first._owner_file.write_text(str(dead.pid))  # the run that started it is gone
    first._proc = None  # and nobody will stop it: as after a SIGKILL of `siaga run`
    second = make_instance("leftover", settings).start()
    assert second.running and second._proc.pid != leftover_pid
    until(lambda: gone(leftover_pid), 10, "the leftover Asterisk to go")


def test_an_asterisk_whose_owner_still_runs_is_left_alone(make_instance):
    settings = settings_on_free_ports(rtp_base=47000)
    first = make_instance("owned", settings).start()
    owner = subprocess.Popen(["sleep", "30"])
    try:
        first._owner_file.write_text(str(owner.pid))
        with pytest.raises(AsteriskError, match=f"already running, started by process {owner.pid}"):
            make_instance("owned", settings).start()  # refused before it renders over the running one
        assert first.answering()
    finally:
        owner.kill()
        owner.wait()
