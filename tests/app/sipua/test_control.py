"""The subprocess handle: waiting, error text, clean stop."""

import time

import pytest

from app.sipua.control import _argv, start_call, start_line


def test_options_become_command_line_flags():
    assert _argv({"answer_after": 1.5, "busy": True, "no_answer": False, "record": None, "dtmf": ["9", "1", "2"]}) == [
        "--answer-after",
        "1.5",
        "--busy",
        "--dtmf",
        "9,1,2",
    ]


def test_waiting_in_vain_raises_with_the_uas_recent_output(pjsua2):
    with start_line("psc-kuta") as line:
        with pytest.raises(TimeoutError) as failure:
            line.wait_for("incoming", 0.3)
    text = str(failure.value)
    assert "no 'incoming' event within 0.3s" in text
    assert '"event": "ready"' in text and f'"port": {line.port}' in text


def test_sigterm_hangs_up_and_exits_cleanly_within_two_seconds(pjsua2):
    with (
        start_line("psc-kuta", answer_after=0) as line,
        start_call(f"sip:psc-kuta@127.0.0.1:{line.port}", timeout=15) as caller,
    ):
        caller.wait_for("answered", 5)
        started = time.monotonic()
        assert line.stop() == 0
        assert time.monotonic() - started < 2.0
        last = line.events[-1]
        assert (last["event"], last["code"], last["reason"]) == ("stopped", 0, "SIGTERM")
        assert caller.wait_for("disconnected", 5)["code"] == 200  # the line's BYE reached it
        assert caller.wait_exit(5) == 0


def test_a_ua_that_dies_is_not_waited_for_until_the_timeout(pjsua2):
    with start_call("sip:112@127.0.0.1:9;transport=tcp") as caller:  # unsupported transport
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="exited with code 1"):
            caller.wait_for("answered", 10)
        assert time.monotonic() - started < 5
