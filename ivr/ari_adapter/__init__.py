"""The ARI adapter: Asterisk events in, call-control requests out.

Ids: Asterisk names the caller's channel; everything we create (playbacks,
leg channels, bridges) gets OUR id ``sg<call key>-<what>``, so any event about
it can be routed to its call without a lookup table.
"""
