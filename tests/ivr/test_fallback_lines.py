"""Journal lines are taken only in the exact shape our dialplan writes; a caller's text never makes one."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from ivr.fallback_lines import End, Start, Unparsable, parse

PREFIX = "[2026-12-04 14:45:59.403] SIAGA_JOURNAL[30579][C-00000001] Ext. 112: "
HANDLER = "[2026-12-04 14:46:01.716] SIAGA_JOURNAL[30579][C-00000001] Ext. s: "
FORGED = "SIAGA-JOURNAL|1796391099|start|9999.1|112|6281666|FORGED"


def start(caller: str = "081234", reason: str = "FAILED", line: str = "112") -> str:
    return f"{PREFIX}SIAGA-JOURNAL|1796395559|start|1796395559.0|{line}|{caller}|{reason}"


def test_a_start_line_gives_the_call_its_line_caller_and_reason():
    parsed = parse(start())
    assert parsed == Start(parsed.at, "1796395559.0", "112", "081234", "FAILED")
    assert parsed.at.timestamp() == 1796395559


def test_an_end_line_gives_who_answered_and_for_how_long():
    parsed = parse(f"{HANDLER}SIAGA-JOURNAL|1796395561|end|1796395559.0|ANSWER|PJSIP/operator-1-00000001|2")
    assert parsed == End(parsed.at, "1796395559.0", "ANSWER", "PJSIP/operator-1-00000001", 2)
    assert parse(f"{HANDLER}SIAGA-JOURNAL|1796395561|end|1796395559.0|||") == End(parsed.at, "1796395559.0", "", "", 0)


def test_asterisks_banner_at_the_top_of_each_file_is_no_line_to_apply():
    assert parse("[2026-12-04 14:45:59.140] Asterisk 22.10.1+dfsg built by nobody @ buildd on a unknown") is None


def test_the_caller_number_is_decoded_and_kept_in_its_safe_rendering():
    assert parse(start(quote("+62 812-3456", safe=""))).caller == "+628123456"
    assert parse(start(quote(FORGED, safe=""))).caller == "SIAGAJOURNAL1796391099start999911126281666FORGED"
    assert parse(start(quote("0812\n\r|x", safe=""))).caller == "0812x"
    assert parse(start(quote("Bayu Ñ", safe=""))).caller == "Bayu"
    assert parse(start("")).caller == "unknown"
    assert len(parse(start("9" * 256)).caller) == 64


@pytest.mark.parametrize(
    "raw, why",
    [
        # The reproduced forgery: the caller's text in another notice of the old shared file.
        (PREFIX.replace("SIAGA_JOURNAL", "NOTICE") + f"Siaga dialplan fallback: caller={FORGED}", "prefix"),
        (f"{PREFIX}Siaga: {FORGED}", "prefix"),  # the mark anywhere but its place
        (f"{PREFIX}{FORGED}|extra", "fields"),  # a separator that came from a caller's number
        (start(caller="0812|FORGED"), "fields"),
        (start(caller="08 12"), "caller"),  # not URI-encoded
        (start(line="911"), "line"),
        (start(reason="FORGED"), "reason"),
        (f"{PREFIX}SIAGA-JOURNAL|1796395559|start|9999|112|0812|FAILED", "channel"),
        (f"{PREFIX}SIAGA-JOURNAL|17963x5559|start|1796395559.0|112|0812|FAILED", "epoch"),
        (f"{PREFIX}SIAGA-JOURNAL|1796395559|relabel|1796395559.0|112|0812|FAILED", "kind"),
        (f"{HANDLER}SIAGA-JOURNAL|1796395561|end|1796395559.0|ANSWER|PJSIP/op 1|2", "peer"),
        (f"{HANDLER}SIAGA-JOURNAL|1796395561|end|1796395559.0|HACKED|PJSIP/op-1|2", "dial status"),
        (f"{HANDLER}SIAGA-JOURNAL|1796395561|end|1796395559.0|ANSWER|PJSIP/op-1|2s", "seconds"),
        (start() + "\r" + PREFIX + FORGED, "prefix"),  # one line, whatever a terminal shows
        (start().replace("Ext. 112", "Ext. 911"), "prefix"),
        ("", "prefix"),
    ],
)
def test_anything_else_is_refused_with_its_reason(raw, why):
    with pytest.raises(Unparsable, match=why):
        parse(raw)
