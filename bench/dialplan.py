"""The bench-only dialplan, written to the bench instance's ``etc/extensions-bench.conf``.

``extensions.conf`` includes that file (``#tryinclude``) at the end of the
trunk context, so the first lines here add trunk extensions; then come two
contexts of our own:

- the baseline: the same 112 menu as the call service's (language, category,
  district) written in plain dialplan, three ``Read()`` and a ``Dial()``;
  on a second number the same baseline records the call from its arrival, as
  the dialplan does for every call of ours (MixMonitor): the same work but
  for ARI, so that the gap can be split between the recording and the rest;
- the agency lines: a Local channel per unit that rings briefly, answers,
  logs one NOTICE line (how the bench counts calls that reached a human) and
  stays on the line until the caller hangs up.
"""

from __future__ import annotations

from pathlib import Path

from app.asterisk import constants as c

FILE_NAME = "extensions-bench.conf"
CONTEXT_AGENCY = c.CONTEXT_BENCH_AGENCY  # a context the directory may dial (Local/<unit>@...)
CONTEXT_BASELINE = "siaga-bench-baseline"
BASELINE_EXTEN = "9112"  # what a baseline caller dials over the trunk
BASELINE_REC_EXTEN = "9113"  # the baseline that also records the call, as ours does
BASELINE_UNIT = "psc-kuta"  # where 9,1,2 (English, medical, Kuta) goes, as in the directory
ANSWERED = "siaga-bench answered"  # the log line's marker

TEMPLATE = """\
; Written by bench/dialplan.py for the load benchmark. Do not edit.
; Still inside [siaga-trunk]: the baseline's number.
exten => {exten},1,Goto({baseline},s,1)
; The baseline recording the call from its arrival, as dialplan/ does for every call of ours.
exten => {exten_rec},1,MixMonitor(${{ASTSPOOLDIR}}/recording/bench-baseline-${{REPLACE(UNIQUEID,.,-)}}.wav)
 same => n,Goto({baseline},s,1)

[{baseline}]
; The 112 menu in plain dialplan: welcome (9 = English), category, district.
exten => s,1,Answer()
 same => n,Read(B_LANG,siaga/id/112-welcome,1,,1,3)
 same => n,Set(B_L=${{IF($["${{B_LANG}}" = "9"]?en:id)}})
 same => n,Read(B_CAT,siaga/${{B_L}}/112-category,1,,1,5)
 same => n,Read(B_DIST,siaga/${{B_L}}/district,1,,1,5)
 same => n,GotoIf($["${{B_LANG}}${{B_CAT}}${{B_DIST}}" = "912"]?dial)
 same => n,Log(WARNING,siaga-bench baseline: digits '${{B_LANG}}${{B_CAT}}${{B_DIST}}' from ${{CALLERID(num)}})
 same => n,Hangup()
 same => n(dial),Dial(Local/{unit}@{agency},20)
 same => n,Hangup()

[{agency}]
; An agency line: rings, answers, talks until the caller hangs up.
exten => _[a-z].,1,Ringing()
 same => n,Wait({ring})
 same => n,Answer()
 same => n,Log(NOTICE,{marker} unit=${{EXTEN}} caller=${{CALLERID(num)}})
 same => n,Wait(600)
 same => n,Hangup()
"""


def bench_dialplan(ring_seconds: float = 0.3) -> str:
    return TEMPLATE.format(
        exten=BASELINE_EXTEN,
        exten_rec=BASELINE_REC_EXTEN,
        baseline=CONTEXT_BASELINE,
        agency=CONTEXT_AGENCY,
        unit=BASELINE_UNIT,
        ring=ring_seconds,
        marker=ANSWERED,
    )


def write_dialplan(etc: Path, ring_seconds: float = 0.3) -> Path:
    path = Path(etc) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(bench_dialplan(ring_seconds))
    return path
