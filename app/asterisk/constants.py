"""Names shared by the rendered Asterisk configuration and the Python side.

The dialplan templates, the ARI adapter and the tests all take these from
here, so a context or channel-variable name is spelled exactly once.
"""

from __future__ import annotations

# The two public numbers Badung's command center answers.
LINE_112 = "112"
LINE_14084 = "14084"
LINES = (LINE_112, LINE_14084)

# Dialplan contexts.
CONTEXT_TRUNK = "siaga-trunk"  # calls arriving from the telco trunk
CONTEXT_INTERNAL = "siaga-internal"  # calls from phones registered to us
CONTEXT_FALLBACK = "siaga-fallback"  # Stasis returned: reach a human without the app
CONTEXT_FALLBACK_END = "siaga-fallback-end"  # hang-up handler: journals how a fallback call ended
CONTEXT_DEMO_RESPONDER = "siaga-demo-responder"  # demo profile: a unit nobody registered

# Extension in CONTEXT_DEMO_RESPONDER standing for the fallback group; units use their id.
DEMO_FALLBACK_EXTEN = "fallback"

# PJSIP object names.
TRUNK_ENDPOINT = "trunk"
TRANSPORT_UDP = "transport-udp"
OPERATOR_PREFIX = "operator-"  # operator-1 .. operator-N, the command-center call-takers

# Channel variables. Set with a "__" prefix in the dialplan so Local and
# dialled channels inherit them; read without it.
VAR_LINE = "SIAGA_LINE"  # "112" or "14084"
VAR_FALLBACK_REASON = "SIAGA_FALLBACK_REASON"  # STASISSTATUS when the dialplan fallback ran
VAR_FALLBACK_ROUND = "SIAGA_FALLBACK_ROUND"  # how many times the fallback loop went round
VAR_JOURNALED = "SIAGA_JOURNALED"  # "1" once the fallback route wrote the call's journal start line (not inherited)
# Dialplan global: the surge level the call service sheds at (ivr/surge.py). A new caller whose line's
# level is at or below it goes straight to the fallback route: 0 nobody, 1 the complaints line, 2 both.
# Complaints go first, so emergency callers keep the IVR longest.
VAR_SHED = "SIAGA_SHED"
SHED_LEVELS = {LINE_14084: 1, LINE_112: 2}
SHED_REASON = "OVERLOAD"  # the fallback reason of a caller shed that way

# Every call on a line is recorded from its arrival (MixMonitor, both directions mixed: the IVR,
# the agency or the fallback group) into Asterisk's recordings folder, as the stored recording
# CALL_RECORDING_PREFIX + the channel id with "." made "-" (ARI reads a dot as the format's).
CALL_RECORDING_PREFIX = "siaga-call-"


def call_recording(channel_id: str) -> str:
    """The ARI stored-recording name of the call whose caller channel is ``channel_id``."""
    return CALL_RECORDING_PREFIX + channel_id.replace(".", "-")


# Prompts the dialplan itself plays (sound names are "siaga/<lang>/<name>").
PROMPT_PLEASE_HOLD = "please-hold"
PROMPT_LANGUAGES = ("id", "en")  # played in this order where no language is known
SOUND_PREFIX = "siaga"
DEMO_SOUND_FOLDER = "demo"


def operator_endpoint(number: int) -> str:
    return f"{OPERATOR_PREFIX}{number}"


def sound(name: str, lang: str) -> str:
    """The Asterisk sound name of a catalogue prompt, e.g. ``siaga/id/please-hold``."""
    return f"{SOUND_PREFIX}/{lang}/{name}"


def demo_sound(unit_id: str) -> str:
    return f"{SOUND_PREFIX}/{DEMO_SOUND_FOLDER}/{unit_id}"
