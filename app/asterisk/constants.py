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
CONTEXT_BENCH_AGENCY = "siaga-bench-agency"  # the load benchmark's agency lines (bench/dialplan.py)
# The only contexts a directory's Local/<ext>@<context> may name: each answers as a unit. The trunk,
# internal and fallback contexts would send a unit's call back into a line (Local/112@siaga-trunk: a loop).
UNIT_CONTEXTS = (CONTEXT_DEMO_RESPONDER, CONTEXT_BENCH_AGENCY)

# Extension in CONTEXT_DEMO_RESPONDER standing for the fallback group; units use their id.
DEMO_FALLBACK_EXTEN = "fallback"

# PJSIP object names.
TRUNK_ENDPOINT = "trunk"
TRANSPORT_UDP = "transport-udp"
TRANSPORT_WS = "transport-ws"  # browser softphones: SIP over WebSocket (on loopback)
TRANSPORT_WSS = "transport-wss"  # and over a secure WebSocket (http.conf's TLS port)
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
WATCHDOG_REASON = "WATCHDOG"  # set by the watchdog on callers it moves out of a dead service's app
# Every value SIAGA_FALLBACK_REASON can hold in a journal line: STASISSTATUS ("FAILED": no app; "SUCCESS":
# the app let the caller go), the two above, or empty (the caller hung up before the route set it). The
# journal reader refuses any other value: add a new reason here when code starts setting it.
FALLBACK_REASONS = ("FAILED", "SUCCESS", SHED_REASON, WATCHDOG_REASON, "")

# The dialplan fallback journal (ivr/fallback_journal.py): a logger level of its own (logger.conf
# custom_levels), whose file holds that level alone; each message starts with the mark.
JOURNAL_LEVEL = "SIAGA_JOURNAL"
JOURNAL_MARK = "SIAGA-JOURNAL"
# Caller-controlled values are cut to this many characters, then URI-encoded, before they reach a journal line.
JOURNAL_CALLER_CHARS = 256
# Asterisk's "logger rotate" renames a log file <name>.<epoch> (logger.conf rotatestrategy).
LOG_ROTATE_STRATEGY = "timestamp"

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
