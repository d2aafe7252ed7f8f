"""The call-takers' board and the queue: pure rules, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ivr.agents.board import AgentBoard, Refused, UnknownAgent
from ivr.agents.queue import AgentOffered, AgentQueue, NoAgentLeft, Waiting

T0 = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def board(changes: list | None = None) -> AgentBoard:
    b = AgentBoard(
        [("agent-1", ["id", "en"]), ("agent-2", ["id"]), ("agent-3", ["en"])],
        wrapup_seconds=30,
        on_change=(changes.append if changes is not None else lambda agent: None),
    )
    return b


def ready(b: AgentBoard, name: str, when: float, kind: str = "sip") -> None:
    b.phone(name, kind, True, at(when))
    b.set_status(name, "available", at(when))


def test_an_agent_without_a_registered_phone_cannot_be_available():
    b = board()
    with pytest.raises(Refused, match="no registered phone"):
        b.set_status("agent-1", "available", at(0))
    b.phone("agent-1", "web", True, at(1))
    assert b.set_status("agent-1", "available", at(2)).status == "available"


def test_the_last_phone_going_offline_takes_an_available_agent_offline():
    changes: list = []
    b = board(changes)
    b.phone("agent-1", "sip", True, at(0))
    b.phone("agent-1", "web", True, at(0))
    b.set_status("agent-1", "available", at(1))
    b.phone("agent-1", "sip", False, at(2))
    assert b.get("agent-1").status == "available"  # the browser phone is still there
    b.phone("agent-1", "web", False, at(3))
    agent = b.get("agent-1")
    assert (agent.status, agent.reason) == ("offline", "no phone registered")
    assert changes[-1] is agent


def test_statuses_that_follow_calls_cannot_be_chosen_and_an_agent_on_a_call_keeps_it():
    b = board()
    ready(b, "agent-1", 0)
    with pytest.raises(Refused, match="cannot be chosen"):
        b.set_status("agent-1", "on-call", at(1))
    b.offer("agent-1", "112-1")
    with pytest.raises(Refused, match="ringing"):
        b.set_status("agent-1", "away", at(1))
    b.answered("agent-1", "112-1", at(2))
    with pytest.raises(Refused, match="on a call"):
        b.set_status("agent-1", "offline", at(3))
    with pytest.raises(UnknownAgent):
        b.set_status("agent-9", "available", at(3))


def test_wrap_up_ends_after_its_time_or_by_hand():
    b = board()
    ready(b, "agent-1", 0)
    ready(b, "agent-2", 0)
    for name in ("agent-1", "agent-2"):
        b.offer(name, f"t-{name}")
        b.answered(name, f"t-{name}", at(1))
        b.call_ended(name, f"t-{name}", at(10))
    assert b.get("agent-1").status == "wrap-up"
    assert b.get("agent-1").wrapup_ends == at(40)
    b.set_status("agent-2", "available", at(12))  # by hand
    assert b.tick(at(39)) == []
    assert [a.name for a in b.tick(at(40))] == ["agent-1"]
    assert b.get("agent-1").status == "available"


def test_pick_prefers_the_callers_language_then_the_longest_idle():
    b = board()
    ready(b, "agent-2", 0)  # id only, idle longest
    ready(b, "agent-3", 5)  # en only
    ready(b, "agent-1", 10)  # id and en
    assert b.pick("en").name == "agent-3"
    assert b.pick("id").name == "agent-2"
    assert b.pick("en", frozenset({"agent-3"})).name == "agent-1"
    b.offer("agent-3", "x")  # ringing for another caller: not picked twice
    assert b.pick("en").name == "agent-1"
    assert b.pick("fr").name == "agent-2"  # nobody speaks it: the longest idle


def test_an_offer_not_answered_makes_the_agent_away():
    b = board()
    ready(b, "agent-1", 0)
    b.offer("agent-1", "112-1")
    b.withdraw("agent-1", "112-1", at(12), missed=True)
    agent = b.get("agent-1")
    assert (agent.status, agent.offered, agent.reason) == ("away", None, "did not answer 112-1")


class Posts:
    def __init__(self) -> None:
        self.got: list = []

    def __call__(self, event: object) -> None:
        self.got.append(event)


def waiting(ticket: str, line: str, seconds: float, language: str = "id") -> tuple[Waiting, Posts]:
    posts = Posts()
    return Waiting(ticket, line, language, at(seconds), posts), posts


def test_112_goes_before_14084_then_the_longest_wait():
    b = board()
    q = AgentQueue(b)
    ready(b, "agent-2", 0)
    complaint, complaint_posts = waiting("14084-1", "14084", 0)
    b.offer("agent-2", "busy")  # nobody free while both join
    q.join(complaint)
    late, late_posts = waiting("112-2", "112", 5)
    early, early_posts = waiting("112-1", "112", 3)
    q.join(late)
    q.join(early)
    b.withdraw("agent-2", "busy", at(6), missed=False)
    q.match()
    assert early_posts.got == [AgentOffered("agent-2")]
    assert late_posts.got == [] and complaint_posts.got == []


def test_an_agent_who_does_not_answer_is_not_offered_that_call_again_and_the_next_one_is():
    b = board()
    q = AgentQueue(b)
    ready(b, "agent-1", 0)
    ready(b, "agent-2", 1)
    entry, posts = waiting("112-1", "112", 2)
    q.join(entry)
    assert posts.got == [AgentOffered("agent-1")]
    q.missed("112-1", "agent-1", at(14))
    assert posts.got[-1] == AgentOffered("agent-2")
    assert b.get("agent-1").status == "away"
    q.missed("112-1", "agent-2", at(26))
    assert posts.got[-1] == NoAgentLeft("no call-taker available")
    assert len(q) == 0


def test_a_call_that_leaves_frees_its_ringing_agent_for_the_next_caller():
    b = board()
    q = AgentQueue(b)
    ready(b, "agent-1", 0)
    first, _ = waiting("112-1", "112", 1)
    second, second_posts = waiting("112-2", "112", 2)
    q.join(first)
    q.join(second)
    assert second_posts.got == []  # agent-1 rings for the first caller; the second waits for it
    q.leave("112-1", at(3))  # the first caller hung up: agent-1 is offered the second at once
    assert b.get("agent-1").offered == "112-2"
    assert second_posts.got == [AgentOffered("agent-1")]


def test_nobody_available_means_a_new_caller_does_not_wait():
    b = board()
    q = AgentQueue(b)
    assert not q.can_take()
    ready(b, "agent-1", 0)
    assert q.can_take()
    b.offer("agent-1", "t")
    b.answered("agent-1", "t", at(1))
    assert not q.can_take()


def test_an_agent_whose_phones_went_while_ringing_goes_offline_when_the_offer_ends():
    b = board()
    ready(b, "agent-1", 0)
    b.offer("agent-1", "112-1")
    b.phone("agent-1", "sip", False, at(1))
    assert b.get("agent-1").status == "available"  # ringing: left as it is until the offer ends
    b.withdraw("agent-1", "112-1", at(2), missed=False)
    assert (b.get("agent-1").status, b.get("agent-1").reason) == ("offline", "no phone registered")
