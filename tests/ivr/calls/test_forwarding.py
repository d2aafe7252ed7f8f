from app.directory.routing import Candidate
from ivr.calls.forwarding import CancelLeg, ConnectLeg, DialLeg, Exhausted, Forwarding


def unit(uid: str) -> Candidate:
    return Candidate(kind="unit", id=uid, name=uid, agency="psc", dials=(f"PJSIP/{uid}",), ring_timeout=5)


GROUP = Candidate(
    kind="group", id="fallback", name="CC", agency="cc", dials=("PJSIP/op-1", "PJSIP/op-2"), ring_timeout=9
)


def kinds(decisions):
    return [(type(d).__name__, getattr(getattr(d, "leg", None), "dial", None)) for d in decisions]


def test_nearest_unit_rings_first_alone():
    f = Forwarding([unit("a"), unit("b"), GROUP])
    assert kinds(f.start()) == [("DialLeg", "PJSIP/a")]


def test_unit_that_fails_hands_over_to_the_next_unit():
    f = Forwarding([unit("a"), unit("b"), GROUP])
    first = f.start()[0].leg
    assert kinds(f.ended(first.id)) == [("DialLeg", "PJSIP/b")]


def test_group_lines_ring_at_once_and_first_answer_cancels_the_others():
    f = Forwarding([GROUP])
    legs = [d.leg for d in f.start()]
    assert [leg.dial for leg in legs] == ["PJSIP/op-1", "PJSIP/op-2"]
    decisions = f.answered(legs[1].id)
    assert isinstance(decisions[0], CancelLeg) and decisions[0].leg is legs[0]
    assert isinstance(decisions[-1], ConnectLeg) and decisions[-1].leg is legs[1]
    assert f.winner is legs[1]


def test_group_moves_on_only_when_every_line_failed():
    f = Forwarding([GROUP, unit("z")])
    legs = [d.leg for d in f.start()]
    assert f.ended(legs[0].id) == []
    assert kinds(f.ended(legs[1].id)) == [("DialLeg", "PJSIP/z")]


def test_every_candidate_failing_is_exhausted():
    f = Forwarding([unit("a")])
    leg = f.start()[0].leg
    assert f.ended(leg.id) == [Exhausted()]


def test_late_answer_from_a_second_group_line_is_released():
    f = Forwarding([GROUP])
    legs = [d.leg for d in f.start()]
    f.answered(legs[0].id)
    again = f.answered(legs[1].id)
    assert len(again) == 1 and isinstance(again[0], CancelLeg) and again[0].leg is legs[1]


def test_events_for_unknown_or_ended_legs_change_nothing():
    f = Forwarding([unit("a"), unit("b")])
    leg = f.start()[0].leg
    assert f.ended("nope") == [] and f.answered("nope") == [] and f.ringing("nope") == []
    f.ended(leg.id)
    assert f.ended(leg.id) == []


def test_winner_hanging_up_later_does_not_start_new_attempts():
    f = Forwarding([unit("a"), unit("b")])
    leg = f.start()[0].leg
    f.answered(leg.id)
    assert f.ended(leg.id) == []
    assert all(not isinstance(d, DialLeg) for d in f.ended(leg.id))
