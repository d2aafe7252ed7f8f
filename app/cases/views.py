"""Cases as JSON-ready dicts, the one shape the CLI and the web pages share."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.cases import service
from app.cases.models import AttemptPublic, Case, CaseEventPublic, CasePublic


def case_public(session: Session, case: Case | str, *, events: bool = False) -> CasePublic:
    if isinstance(case, str):
        found = service.get_case(session, case)
        if found is None:
            raise service.CaseNotFound(f"no case with ticket {case}")
        case = found
    assert case.id is not None  # read from the database
    return _public(
        case, service.attempts_of(session, [case.id]), service.events_of(session, case.id) if events else None
    )


def case_as_dict(session: Session, case: Case | str, *, events: bool = False) -> dict[str, Any]:
    """Case fields (ISO 8601 timestamps), its attempts in order and, with ``events``, its timeline."""
    return _dump(case_public(session, case, events=events), events)


def cases_as_dicts(session: Session, cases: list[Case]) -> list[dict[str, Any]]:
    """Many cases with their attempts, in two queries rather than one per case."""
    by_case: dict[int | None, list] = {case.id: [] for case in cases}
    for attempt in service.attempts_of(session, [cid for cid in by_case if cid is not None]):
        by_case[attempt.case_id].append(attempt)
    return [_dump(_public(case, by_case[case.id], None), False) for case in cases]


def _public(case: Case, attempts, events) -> CasePublic:
    return CasePublic.model_validate(
        {
            **case.model_dump(exclude={"id"}),
            "attempts": [AttemptPublic.model_validate(a, from_attributes=True) for a in attempts],
            "events": None
            if events is None
            else [CaseEventPublic.model_validate(e, from_attributes=True) for e in events],
        }
    )


def _dump(public: CasePublic, events: bool) -> dict[str, Any]:
    out = public.model_dump(mode="json", exclude=None if events else {"events"})
    return {"ticket": out.pop("ticket"), **out}  # the ticket is what people look for first
