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
    FORWARDING = "forwarding"  # agency lines ringing
    CONNECTED = "connected"  # caller bridged with an agency line
    FALLBACK = "fallback"  # handed to the dialplan fallback route
    ENDED = "ended"


_ALLOWED: dict[CallState, set[CallState]] = {
    # RECEIVED -> CONNECTED: a restart finds the caller already talking to an agency.
    CallState.RECEIVED: {CallState.IVR, CallState.CONNECTED, CallState.FALLBACK, CallState.ENDED},
    CallState.IVR: {CallState.FORWARDING, CallState.FALLBACK, CallState.ENDED},
    CallState.FORWARDING: {CallState.CONNECTED, CallState.FALLBACK, CallState.ENDED},
    CallState.CONNECTED: {CallState.ENDED, CallState.FALLBACK},
    CallState.FALLBACK: {CallState.ENDED},
    CallState.ENDED: set(),
}


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

    @property
    def ended(self) -> bool:
        return self.state is CallState.ENDED
