"""A batch of journal ops applied at once leaves the rows that applying them one by one leaves.

The reference is the one-op replay writers in ``service`` (``open_case_as`` and
friends), applied as the journal applier used to apply them, one op at a time.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.cases import bulk, service
from tests.app.cases import replay_reference as reference
from tests.app.cases.databases import empty_tables

T0 = datetime(2026, 11, 27, 3, 0, 0, 123456, tzinfo=UTC)
OP_IDS = itertools.count(1)
SECOND = timedelta(seconds=1)


class Ops:
    """Decoded journal ops, numbered like the journal numbers them; op ids unique across tests."""

    def __init__(self) -> None:
        self.ops: list[dict] = []

    def add(self, what: str, ticket: str, /, **args) -> dict:
        op = {"id": f"op{next(OP_IDS):05d}", "seq": len(self.ops) + 1, "op": what, "ticket": ticket, "args": args}
        self.ops.append(op)
        return op


def a_call(ops: Ops, n: int, at: datetime) -> str:
    """The writes of one call that is forwarded, missed by one unit and answered by the next."""
    ticket, s = f"112-261127-{n:05d}", SECOND
    ops.add("open", ticket, line="112", caller_number=f"0812{n}", channel_id=f"chan.{n}", received_at=at)
    for field, value in (("language", "id"), ("category", "medical")):
        ops.add("update", ticket, **{field: value})
        ops.add("event", ticket, kind="ivr.select", detail={field: value}, at=at + s)
    ops.add(
        "update",
        ticket,
        status="forwarding",
        ivr_completed_at=at + 9 * s,
        forwarded_at=at + 9 * s,
        ivr_end_reason="complete",
        language="id",
        category="medical",
        district="kuta",
    )
    ops.add("event", ticket, kind="ivr.completed", detail={"reason": "complete", "route": "medical"}, at=at + 9 * s)
    for seq, unit, end in (
        (1, "psc-kuta", {"outcome": "no-answer", "ended_at": at + 15 * s}),
        (2, "psc-mengwi", {"outcome": "answered", "answered_at": at + 25 * s}),
    ):
        ops.add("attempt", ticket, seq=seq, unit=unit, agency="psc", dial=f"PJSIP/{unit}", started_at=at + 10 * seq * s)
        ops.add("attempt.update", ticket, seq=seq, ringing_at=at + (10 * seq + 1) * s)
        ops.add("attempt.update", ticket, seq=seq, **end)
    ops.add("event", ticket, kind="attempt.failed", detail={"unit": "psc-kuta", "outcome": "no-answer"}, at=at + 15 * s)
    ops.add("update", ticket, status="connected", agency_answered_at=at + 25 * s, answered_by_unit="psc-mengwi")
    ops.add("event", ticket, kind="attempt.answered", detail=None, at=at + 25 * s)
    ops.add("update", ticket, status="ended", disposition="completed", ended_at=at + 90 * s)
    ops.add("event", ticket, kind="ended", detail={"disposition": "completed"}, at=at + 90 * s)
    return ticket


def calls_overlapping(count: int) -> list[dict]:
    """``count`` calls whose ops interleave, as concurrent calls write them to the journal."""
    per_call = []
    for n in range(1, count + 1):
        ops = Ops()
        a_call(ops, n, T0 + timedelta(seconds=n))
        per_call.append(ops.ops)
    mixed = [op for step in zip(*per_call) for op in step]
    return [{**op, "seq": seq} for seq, op in enumerate(mixed, start=1)]


def one_op_at_a_time(session, op: dict) -> None:
    """How the applier applied an op before batches were written with Core."""
    kind, ticket, a = op["op"], op["ticket"], op["args"]
    if kind == "open":
        reference.open_case_as(session, ticket, op_id=op["id"], **a)
    elif kind == "update":
        reference.update_case_as(session, ticket, **a)
    elif kind == "event":
        reference.add_event_once(session, ticket, a["kind"], a["detail"], a["at"], op["id"])
    elif kind == "attempt":
        reference.start_attempt_as(session, ticket, **a)
    else:
        reference.update_attempt_of(session, ticket, **a)


def apply(sessions, ops: list[dict], size: int | None = None) -> None:
    size = size or len(ops)
    for start in range(0, len(ops), size):
        with sessions() as session:
            bulk.apply_ops(session, ops[start : start + size])
            session.commit()


def rows(sessions) -> dict[str, list]:
    """Every row of the case tables, every column (and whether ``detail`` is SQL NULL or JSON null)."""
    with sessions() as session:
        c = session.connection()
        return {
            "cases": c.execute(select(bulk.CASES).order_by(bulk.CASES.c.id)).all(),
            "attempts": c.execute(select(bulk.ATTEMPTS).order_by(bulk.ATTEMPTS.c.id)).all(),
            "events": c.execute(
                select(bulk.EVENTS, bulk.EVENTS.c.detail.is_(None).label("sql_null")).order_by(bulk.EVENTS.c.id)
            ).all(),
        }


def refused(sessions, ops: list[dict], error: type[Exception], match: str | None = None) -> None:
    """The batch raises ``error`` and leaves the database as it was."""
    before = rows(sessions)
    with sessions() as session, pytest.raises(error, match=match):
        bulk.apply_ops(session, ops)
    assert rows(sessions) == before


# -- the same rows as one op at a time ----------------------------------------------------
@pytest.mark.parametrize("size", [1, 7, 100])
def test_batches_of_interleaved_calls_leave_the_rows_one_op_at_a_time_leaves(sessions, engine, size):
    ops = calls_overlapping(5)
    for op in ops:
        with sessions() as session:
            one_op_at_a_time(session, op)
            session.commit()
    expected = rows(sessions)
    empty_tables(engine)  # ids start at 1 again

    apply(sessions, ops, size)

    assert rows(sessions) == expected
    assert [(r.ticket, r.status) for r in expected["cases"]] == [(f"112-261127-{n:05d}", "ended") for n in range(1, 6)]
    assert [(r.kind, r.sql_null) for r in expected["events"] if r.detail is None] == [("attempt.answered", False)] * 5
    assert (len(expected["attempts"]), len(expected["events"])) == (10, 35)


def test_a_batch_applied_again_after_a_crash_changes_nothing(sessions):
    ops = calls_overlapping(3)
    apply(sessions, ops)
    once = rows(sessions)
    apply(sessions, ops)  # the whole journal again (no checkpoint was written)
    apply(sessions, ops[20:], 9)  # from somewhere in the middle, in other batches
    assert rows(sessions) == once


# -- updates ----------------------------------------------------------------------------
def test_updates_of_one_case_in_a_batch_keep_the_last_value_of_each_field(sessions):
    opened = Ops()
    opened.add("open", "T1", line="112", caller_number=None, channel_id="c1", received_at=T0)
    apply(sessions, opened.ops)
    ops = Ops()
    ops.add("update", "T1", status="forwarding", category="fire", language="id")
    ops.add("event", "T1", kind="x", detail=None, at=T0)
    ops.add("update", "T1", category="medical", district="kuta")
    ops.add("update", "T1", district=None, status="ended", ended_at=T0 + timedelta(hours=1, minutes=1))
    ops.add("update", "T1")  # sets nothing, as update_case_as allows
    apply(sessions, ops.ops)
    with sessions() as session:
        case = service.get_case(session, "T1")
        assert (case.status, case.category, case.language, case.district, case.ended_at) == (
            "ended",
            "medical",
            "id",
            None,
            T0 + timedelta(hours=1, minutes=1),
        )


def test_a_case_opened_and_updated_in_one_batch_is_written_with_its_last_values(sessions):
    ops = Ops()
    opened = ops.add("open", "T1", line="14084", caller_number="0812", channel_id="c1", received_at=T0)
    ops.add("update", "T1", status="forwarding", channel_id="c1-moved")
    ops.add("open", "T1", line="14084", caller_number="0812", channel_id="c1-moved", received_at=T0)  # a replay
    ops.add("update", "T1", status="ended")
    apply(sessions, ops.ops)
    with sessions() as session:
        case = service.get_case(session, "T1")
        assert (case.line, case.status, case.channel_id, case.received_at) == ("14084", "ended", "c1-moved", T0)
        events = service.events_of(session, case.id)
        assert [(e.kind, e.op_id, e.detail) for e in events] == [
            ("received", opened["id"], {"caller_number": "0812", "channel_id": "c1"})
        ]


def test_fields_an_update_may_not_set_refuse_the_batch(sessions):
    ops = Ops()
    ops.add("open", "T1", line="112", caller_number=None, channel_id="c1", received_at=T0)
    apply(sessions, ops.ops)
    for fields, error in (
        ({"status": "lost"}, ValueError),
        ({"ticket": "T2"}, TypeError),
        ({"ended_at": datetime(2026, 1, 1)}, ValueError),
    ):
        bad = Ops()
        bad.add("update", "T1", language="en")
        bad.add("update", "T1", **fields)
        refused(sessions, bad.ops, error)


def test_the_call_service_writes_an_agents_call_and_the_web_apps_fields_are_refused(sessions):
    ops = Ops()
    ops.add("open", "T1", line="112", caller_number="0812", channel_id="c1", received_at=T0)
    ops.add("update", "T1", silent=True)
    apply(sessions, ops.ops)
    with sessions() as session:
        case = service.get_case(session, "T1")
        assert (case.workflow, case.silent, case.agent) == ("new", True, None)
    later = Ops()
    later.add("update", "T1", agent="agent-1", taken_at=T0 + SECOND, workflow="taken")
    later.add("update", "T1", dispatched_unit="psc-kuta", dispatched_at=T0 + 9 * SECOND, workflow="dispatched")
    later.add("update", "T1", agency_answered_at=T0 + 12 * SECOND, workflow="agency-answered")
    apply(sessions, later.ops)
    with sessions() as session:
        case = service.get_case(session, "T1")
        assert (case.agent, case.taken_at, case.dispatched_unit, case.workflow) == (
            "agent-1",
            T0 + SECOND,
            "psc-kuta",
            "agency-answered",
        )
    for fields, error in (
        ({"workflow": "done"}, ValueError),
        ({"classification": "prank"}, TypeError),
        ({"closed_by": "agent-1"}, TypeError),
        ({"closed_at": T0}, TypeError),
    ):
        bad = Ops()
        bad.add("update", "T1", **fields)
        refused(sessions, bad.ops, error)


# -- keys made elsewhere ----------------------------------------------------------------
def test_a_ticket_held_by_another_call_is_refused_whether_in_the_database_or_in_the_batch(sessions):
    first = Ops()
    first.add("open", "T1", line="112", caller_number=None, channel_id="c1", received_at=T0)
    apply(sessions, first.ops)
    for channel, at in (("c2", T0), ("c1", T0 + timedelta(microseconds=1))):
        again = Ops()
        again.add("open", "T1", line="112", caller_number=None, channel_id=channel, received_at=at)
        refused(sessions, again.ops, service.KeyTaken, "ticket T1 already belongs to channel c1")
    both = Ops()
    both.add("open", "T2", line="112", caller_number=None, channel_id="c2", received_at=T0)
    both.add("open", "T2", line="112", caller_number=None, channel_id="c3", received_at=T0)
    refused(sessions, both.ops, service.KeyTaken, "ticket T2 already belongs to channel c2")


def test_ops_of_a_ticket_without_a_case_are_refused(sessions):
    for kind, args in (
        ("update", {"status": "ended"}),
        ("event", {"kind": "x", "detail": None, "at": T0}),
        ("attempt", {"seq": 1, "unit": "u", "agency": None, "dial": "PJSIP/u", "started_at": T0}),
    ):
        ops = Ops()
        ops.add("open", "T1", line="112", caller_number=None, channel_id="c1", received_at=T0)
        ops.add(kind, "T9", **args)
        refused(sessions, ops.ops, service.CaseNotFound, "no case with ticket T9")
    early = Ops()  # its open comes later in the same batch: too late
    early.add("event", "T1", kind="x", detail=None, at=T0)
    early.add("open", "T1", line="112", caller_number=None, channel_id="c1", received_at=T0)
    refused(sessions, early.ops, service.CaseNotFound)


def test_an_open_with_an_unknown_line_or_an_unknown_op_is_refused(sessions):
    ops = Ops()
    ops.add("open", "T1", line="110", caller_number=None, channel_id="c1", received_at=T0)
    refused(sessions, ops.ops, ValueError, "line '110'")
    ops = Ops()
    ops.add("close", "T1")
    refused(sessions, ops.ops, ValueError, "unknown journal op 'close'")


# -- events and attempts --------------------------------------------------------------------
def test_an_event_is_written_once_per_op_id(sessions):
    ops = Ops()
    opened = ops.add("open", "T1", line="112", caller_number=None, channel_id="c1", received_at=T0)
    selected = ops.add("event", "T1", kind="ivr.select", detail={"language": "id"}, at=T0)
    apply(sessions, ops.ops)
    later = Ops()
    later.ops.append(selected)  # replayed
    again = later.add("event", "T1", kind="ivr.select", detail={"language": "id"}, at=T0)  # the same, written again
    later.ops.append(selected)
    apply(sessions, later.ops)
    with sessions() as session:
        events = service.events_of(session, service.get_case(session, "T1").id)
        assert [(e.kind, e.op_id) for e in events] == [
            ("received", opened["id"]),
            ("ivr.select", selected["id"]),
            ("ivr.select", again["id"]),
        ]


def test_attempts_are_found_by_number_and_one_with_another_unit_is_refused(sessions):
    ops = Ops()
    ops.add("open", "T1", line="112", caller_number=None, channel_id="c1", received_at=T0)
    ops.add("attempt", "T1", seq=1, unit="psc-kuta", agency="psc", dial="PJSIP/psc-kuta", started_at=T0)
    ops.add("attempt.update", "T1", seq=1, ringing_at=T0 + SECOND)
    apply(sessions, ops.ops)
    later = Ops()
    later.ops.append(ops.ops[1])  # replayed: the same attempt
    later.add("attempt.update", "T1", seq=1, outcome="no-answer", ended_at=T0 + 19 * SECOND)
    later.add(
        "attempt", "T1", seq=2, unit="psc-mengwi", agency="psc", dial="PJSIP/psc-mengwi", started_at=T0 + 20 * SECOND
    )
    later.add("attempt.update", "T1", seq=2, outcome="answered", answered_at=T0 + 30 * SECOND)
    apply(sessions, later.ops)
    with sessions() as session:
        case_id = service.get_case(session, "T1").id
        assert [
            (a.seq, a.unit, a.outcome, a.ringing_at, a.ended_at, a.answered_at)
            for a in service.attempts_of(session, [case_id])
        ] == [
            (1, "psc-kuta", "no-answer", T0 + SECOND, T0 + 19 * SECOND, None),
            (2, "psc-mengwi", "answered", None, None, T0 + 30 * SECOND),
        ]

    taken = Ops()  # attempt 2 is in the database
    taken.add("attempt", "T1", seq=2, unit="other", agency="psc", dial="PJSIP/other", started_at=T0)
    refused(sessions, taken.ops, service.KeyTaken, "attempt 2 of T1 is already another attempt")
    twice = Ops()  # attempt 3 is made earlier in the batch
    twice.add("attempt", "T1", seq=3, unit="psc-kuta", agency="psc", dial="PJSIP/psc-kuta", started_at=T0)
    twice.add("attempt", "T1", seq=3, unit="psc-kuta", agency="psc", dial="PJSIP/psc-kuta", started_at=T0 + SECOND)
    refused(sessions, twice.ops, service.KeyTaken, "attempt 3 of T1 is already another attempt")
    missing = Ops()
    missing.add("attempt.update", "T1", seq=3, outcome="busy")
    refused(sessions, missing.ops, LookupError, "no attempt 3 of T1")
    wrong = Ops()
    wrong.add("attempt.update", "T1", seq=1, status="ended")
    refused(sessions, wrong.ops, TypeError)
