"""The call's lifecycle as one explicit state machine.

Every change of state goes through ``CallStates.move``: it checks the
transition is legal (an illegal one is a bug and raises) and logs exactly one
line ``<ticket> <STATE> -[<event>]-> <STATE>``. Hang-up, whatever the state,
is the one unwinding path to ENDED.
"""

from __future__ import annotations

import enum
import logging

log = logging.getLogger("siaga.call")


class CallState(enum.Enum):
    RECEIVED = "received"  # case written, not answered yet
    IVR = "ivr"  # menus
    QUEUED = "queued"  # waiting for a call-taker (hold message; agents' phones ring one agent at a time)
    FORWARDING = "forwarding"  # agency lines ringing
    CONNECTED = "connected"  # caller bridged with an agency line
    HANDING_OVER = "handing-over"  # to the dialplan fallback route: tried, and retried on a timer until done
    IN_DIALPLAN = "in-dialplan"  # the fallback route has the caller; followed until it hangs up
    ENDED = "ended"


_ALLOWED: dict[CallState, set[CallState]] = {
    # RECEIVED -> CONNECTED: a restart finds the caller already talking to an agency.
    CallState.RECEIVED: {CallState.IVR, CallState.CONNECTED, CallState.HANDING_OVER, CallState.ENDED},
    CallState.IVR: {CallState.QUEUED, CallState.FORWARDING, CallState.HANDING_OVER, CallState.ENDED},
    # QUEUED -> FORWARDING: no call-taker answered in time (or none is left): on as direct.
    CallState.QUEUED: {CallState.CONNECTED, CallState.FORWARDING, CallState.HANDING_OVER, CallState.ENDED},
    CallState.FORWARDING: {CallState.CONNECTED, CallState.HANDING_OVER, CallState.ENDED},
    CallState.CONNECTED: {CallState.ENDED, CallState.HANDING_OVER},
    CallState.HANDING_OVER: {CallState.IN_DIALPLAN, CallState.ENDED},
    CallState.IN_DIALPLAN: {CallState.ENDED},
    CallState.ENDED: set(),
}

# Callers nobody talks to yet: on the way to a human (a stopping service waits for these to be handed over).
WAITING_FOR_A_HUMAN = frozenset(
    {CallState.RECEIVED, CallState.IVR, CallState.QUEUED, CallState.FORWARDING, CallState.HANDING_OVER}
)


class IllegalTransition(RuntimeError):
    pass


class CallStates:
    def __init__(self, ticket: str) -> None:
        self.ticket = ticket
        self.state = CallState.RECEIVED

    def move(self, new: CallState, event: str) -> None:
        if new not in _ALLOWED[self.state]:
            raise IllegalTransition(f"{self.ticket}: {self.state.name} -[{event}]-> {new.name} is not allowed")
        log.info("%s %s -[%s]-> %s", self.ticket, self.state.name, event, new.name)
        self.state = new

    def note(self, event: str) -> None:
        """A step inside a state (an IVR menu change, a new attempt): logged, state unchanged."""
        log.info("%s %s -[%s]-> %s", self.ticket, self.state.name, event, self.state.name)
