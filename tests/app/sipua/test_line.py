"""``line`` mode: media both ways, several calls, registration with digest auth."""

import pytest

from app.sipua.control import recording_path, start_call, start_line
from app.sipua.tones import has_tone, tone_ratio, write_tone_wav
from tests.app.sipua.registrar import Registrar

CALLER_HZ, LINE_HZ = 1000, 1500


@pytest.fixture
def tones(tmp_path):
    """The caller's and the line's test tones; players loop them."""
    return {
        "caller": write_tone_wav(tmp_path / "caller-tone.wav", CALLER_HZ, 1.0),
        "line": write_tone_wav(tmp_path / "line-tone.wav", LINE_HZ, 1.0),
    }


def _uri(line):
    return f"sip:psc-kuta@127.0.0.1:{line.port}"


def test_each_side_records_the_other_sides_tone(pjsua2, tones, tmp_path):
    heard_by_line, heard_by_caller = tmp_path / "line.wav", tmp_path / "caller.wav"
    with (
        start_line("psc-kuta", answer_after=0.2, play=tones["line"], record=heard_by_line) as line,
        start_call(_uri(line), play=tones["caller"], record=heard_by_caller, duration=3) as caller,
    ):
        assert caller.wait_for("recorded", 10)["complete"] is True
        assert line.wait_for("recorded", 10)["complete"] is True
    assert has_tone(heard_by_caller, LINE_HZ, min_seconds=2.0)
    assert has_tone(heard_by_line, CALLER_HZ, min_seconds=2.0)
    assert tone_ratio(heard_by_caller, CALLER_HZ) < 0.1  # no loop-back of its own tone
    assert tone_ratio(heard_by_line, LINE_HZ) < 0.1


def test_line_takes_calls_one_after_another_with_a_recording_each(pjsua2, tones, tmp_path):
    record = tmp_path / "unit.wav"
    with start_line("psc-kuta", answer_after=0, record=record) as line:
        for number in (1, 2):
            with start_call(_uri(line), play=tones["caller"], duration=1) as caller:
                assert caller.wait_exit(10) == 0
            assert line.wait_for("incoming", 5)["call"] == number
            assert line.wait_for("recorded", 5)["path"] == str(recording_path(str(record), number))
    for number in (1, 2):
        assert has_tone(recording_path(str(record), number), CALLER_HZ, min_seconds=0.5)


def test_second_call_while_one_is_up_gets_busy(pjsua2):
    with start_line("psc-kuta", answer_after=0) as line, start_call(_uri(line), timeout=15) as first:
        first.wait_for("answered", 5)
        with start_call(_uri(line)) as second:
            assert second.wait_for("disconnected", 5)["code"] == 486
        assert "disconnected" not in first.names()


def test_line_registers_with_digest_and_unregisters_on_sigterm(pjsua2):
    with Registrar({"psc-kuta": "s3cret"}) as registrar:
        line = start_line("psc-kuta", "s3cret", registrar.uri)
        assert line.wait_for("registered", 5)["code"] == 200
        assert line.stop() == 0
        assert line.wait_for("unregistered", 1)["code"] == 200
    assert [(s["user"], s["accepted"]) for s in registrar.seen] == [("psc-kuta", True)] * 2
    assert registrar.seen[0]["expires"] > 0 and registrar.seen[-1]["expires"] == 0


def test_wrong_password_is_reported_as_a_registration_error(pjsua2):
    with Registrar({"psc-kuta": "s3cret"}) as registrar, start_line("psc-kuta", "wrong", registrar.uri) as line:
        failure = line.wait_for("error", 5, what="register")
        assert failure["code"] == 403
        assert "registered" not in line.names()


@pytest.mark.parametrize("behaviour", ["busy", "reject", "no_answer"])
def test_line_that_does_not_answer_records_nothing(pjsua2, tmp_path, behaviour):
    record = tmp_path / "never.wav"
    with (
        start_line("psc-kuta", record=record, **{behaviour: True}) as line,
        start_call(_uri(line), timeout=1.5) as caller,
    ):
        caller.wait_exit(5)
        line.wait_for("disconnected", 5)
    assert not record.exists()
