from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from app.cases import service, views
from tests.app.cases import writers

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def _forwarded_case(session) -> str:
    ticket = writers.open_case(session, line="112", caller_number="+6281", channel_id="c1", received_at=T0).ticket
    writers.update_case(
        session,
        ticket,
        language="id",
        category="medical",
        district="kuta",
        status="connected",
        ivr_completed_at=T0 + timedelta(seconds=20),
        forwarded_at=T0 + timedelta(seconds=21),
    )
    attempt = writers.start_attempt(
        session, ticket, unit="psc-kuta", agency="psc", dial="PJSIP/psc-kuta", started_at=T0 + timedelta(seconds=21)
    )
    writers.update_attempt(session, attempt, answered_at=T0 + timedelta(seconds=30), outcome="answered")
    writers.add_event(session, ticket, "bridged", {"unit": "psc-kuta"}, at=T0 + timedelta(seconds=30))
    return ticket


def test_case_as_dict_is_json_ready_with_iso_timestamps_and_attempts(session):
    ticket = _forwarded_case(session)
    out = views.case_as_dict(session, ticket)
    json.dumps(out)  # nothing that needs a custom encoder
    assert out["ticket"] == ticket and out["category"] == "medical" and out["disposition"] is None
    assert datetime.fromisoformat(out["forwarded_at"]) == T0 + timedelta(seconds=21)
    assert out["ended_at"] is None
    (attempt,) = out["attempts"]
    assert attempt["unit"] == "psc-kuta" and attempt["outcome"] == "answered"
    assert datetime.fromisoformat(attempt["answered_at"]) == T0 + timedelta(seconds=30)
    assert "events" not in out


def test_case_as_dict_with_events_gives_the_timeline(session):
    ticket = _forwarded_case(session)
    events = views.case_as_dict(session, ticket, events=True)["events"]
    assert [e["kind"] for e in events] == ["received", "bridged"]
    assert events[1]["detail"] == {"unit": "psc-kuta"}


def test_cases_as_dicts_matches_case_as_dict(session):
    ticket = _forwarded_case(session)
    second = writers.open_case(
        session, line="14084", caller_number=None, channel_id="c2", received_at=T0 + timedelta(minutes=1)
    )
    many = views.cases_as_dicts(session, service.list_cases(session))
    assert [c["ticket"] for c in many] == [second.ticket, ticket]
    assert many[1] == views.case_as_dict(session, ticket)
    assert many[0]["attempts"] == []
