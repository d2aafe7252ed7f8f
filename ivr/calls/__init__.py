"""One call, from arrival to hang-up: the IVR, forwarding to agencies, recording.

Nothing in this package speaks a protocol. The ARI adapter (``ivr.ari_adapter``)
turns Asterisk events into the typed events of ``ivr.calls.events`` and carries
out the requests of ``ivr.calls.port.CallControl``.
"""
