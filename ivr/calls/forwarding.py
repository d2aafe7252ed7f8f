"""Forwarding as a pure state machine: ring candidates in order, first answer wins.

A candidate is one unit's line or a group (the command-center call-takers),
whose lines ring all at once. When every line of the current candidate has
failed (busy, no answer, unreachable) the next candidate rings. When none is
left the machine says ``Exhausted`` and the call goes to the fallback route.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.directory.routing import Candidate


@dataclass
class Leg:
    id: str
    candidate: Candidate
    dial: str
    state: str = "dialing"  # dialing, ringing, answered, ended


@dataclass(frozen=True)
class DialLeg:
    leg: Leg


@dataclass(frozen=True)
class CancelLeg:
    leg: Leg


@dataclass(frozen=True)
class ConnectLeg:
    leg: Leg


@dataclass(frozen=True)
class Exhausted:
    pass


Decision = DialLeg | CancelLeg | ConnectLeg | Exhausted


@dataclass
class Forwarding:
    candidates: list[Candidate]
    leg_prefix: str = "leg"
    legs: dict[str, Leg] = field(default_factory=dict)
    index: int = -1
    winner: Leg | None = None
    _seq: int = 0

    def start(self) -> list[Decision]:
        return self._next_candidate()

    def ringing(self, leg_id: str) -> list[Decision]:
        leg = self.legs.get(leg_id)
        if leg and leg.state == "dialing":
            leg.state = "ringing"
        return []

    def answered(self, leg_id: str) -> list[Decision]:
        leg = self.legs.get(leg_id)
        if leg is None:
            return []
        if leg.state == "ended":
            return [CancelLeg(leg)]  # cancelled while it was being answered: release it again
        if self.winner is not None:
            # Two lines of a group answered at once: the second one is released.
            leg.state = "ended"
            return [CancelLeg(leg)]
        leg.state = "answered"
        self.winner = leg
        others = [CancelLeg(o) for o in self._live() if o is not leg]
        for o in others:
            o.leg.state = "ended"
        return [*others, ConnectLeg(leg)]

    def ended(self, leg_id: str) -> list[Decision]:
        """A leg is gone. Before an answer that is a failed attempt."""
        leg = self.legs.get(leg_id)
        if leg is None or leg.state == "ended":
            return []
        was_answered = leg.state == "answered"
        leg.state = "ended"
        if was_answered or self.winner is not None:
            return []
        if any(o.candidate is self.current for o in self._live()):
            return []  # other lines of the same group are still ringing
        return self._next_candidate()

    @property
    def current(self) -> Candidate | None:
        return self.candidates[self.index] if 0 <= self.index < len(self.candidates) else None

    def live_legs(self) -> list[Leg]:
        return self._live()

    def _live(self) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.state != "ended"]

    def _next_candidate(self) -> list[Decision]:
        self.index += 1
        if self.index >= len(self.candidates):
            return [Exhausted()]
        candidate = self.candidates[self.index]
        out: list[Decision] = []
        for dial in candidate.dials:
            self._seq += 1
            leg = Leg(id=f"{self.leg_prefix}{self._seq}", candidate=candidate, dial=dial)
            self.legs[leg.id] = leg
            out.append(DialLeg(leg))
        return out or self._next_candidate()
