"""``call`` mode against a real pjsua2 ``line`` peer on loopback (no Asterisk)."""

from app.sipua.control import start_call, start_line

EXIT_TIMEOUT = 3


def _uri(line):
    return f"sip:psc-kuta@127.0.0.1:{line.port}"


def test_call_is_answered_over_g711_and_digits_arrive_in_order(pjsua2):
    with (
        start_line("psc-kuta", answer_after=0.2) as line,
        start_call(
            _uri(line), from_user="081234567890", dtmf=["9", "1", "2"], dtmf_after=0.3, dtmf_gap=0.3, duration=2.5
        ) as caller,
    ):
        incoming = line.wait_for("incoming")
        assert "081234567890" in incoming["remote"]
        caller.wait_for("ringing", code=180)
        answered = caller.wait_for("answered")
        assert caller.wait_for("media")["codec"] in ("PCMU", "PCMA")
        digits = [line.wait_for("dtmf", 5) for _ in range(3)]
        assert [d["digit"] for d in digits] == ["9", "1", "2"]
        assert {d["method"] for d in digits} == {"rfc4733"}
        assert digits[0]["t"] >= answered["t"] + 0.3
        sent = [caller.wait_for("dtmf_sent")["digit"] for _ in range(3)]
        assert sent == ["9", "1", "2"]
        assert caller.wait_for("disconnected", 5)["answered"] is True
        assert caller.wait_exit(5) == 0
        assert line.wait_for("disconnected", 5)["code"] == 200  # the caller's BYE


def test_busy_line_gives_the_caller_486(pjsua2):
    with start_line("psc-kuta", busy=True) as line, start_call(_uri(line)) as caller:
        ended = caller.wait_for("disconnected", 5)
        assert (ended["code"], ended["answered"]) == (486, False)
        assert caller.wait_exit(5) == 0
        assert "answered" not in caller.names()


def test_declining_line_gives_the_caller_603(pjsua2):
    with start_line("psc-kuta", reject=True) as line, start_call(_uri(line)) as caller:
        assert caller.wait_for("disconnected", 5)["code"] == 603


def test_unanswered_call_is_cancelled_cleanly_at_the_callers_timeout(pjsua2):
    with start_line("psc-kuta", no_answer=True) as line, start_call(_uri(line), timeout=2) as caller:
        ringing = caller.wait_for("ringing", 5)
        timeout = caller.wait_for("timeout", 5)
        assert timeout["t"] - ringing["t"] > 1.5
        assert caller.wait_for("disconnected", 5)["code"] == 487  # CANCEL answered by 487
        assert caller.wait_exit(5) == EXIT_TIMEOUT
        assert caller.events[-1]["event"] == "stopped"
        assert line.wait_for("disconnected", 5)["answered"] is False


def test_far_end_hanging_up_ends_the_call_run(pjsua2):
    with start_line("psc-kuta", answer_after=0, hangup_after=0.5) as line, start_call(_uri(line), timeout=15) as caller:
        answered = caller.wait_for("answered", 5)
        ended = caller.wait_for("disconnected", 5)
        assert ended["t"] - answered["t"] >= 0.4
        assert caller.wait_exit(5) == 0


def test_target_that_is_not_a_sip_uri_is_an_error(pjsua2):
    with start_call("not a uri") as caller:
        assert "not a SIP URI" in caller.wait_for("error", 5)["message"]
        assert caller.wait_exit(5) == 1
