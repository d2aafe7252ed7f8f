"""A real SIP softphone (pjsua2) for end-to-end tests and ``siaga dial``.

Each user agent runs as its own process (``python -m app.sipua call|line ...``)
because pjsua2 owns threads and a C event loop that do not mix with asyncio or
with pytest; the process reports what happens as JSON lines on stdout.
``app.sipua.control`` starts and watches those processes; ``app.sipua.tones``
writes and detects test tones in WAV files. Importing this package does not
import pjsua2.
"""
