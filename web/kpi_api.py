"""``GET /api/kpi``: the response-time KPI report (``app.kpi``; definitions: docs/KPI.md), for supervisors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import AwareDatetime

from app.cases.models import LINES
from app.kpi.models import KpiReport
from app.kpi.service import BadRange, kpi_report
from web.api import DENIED
from web.deps import SessionDep, Supervisor, role

router = APIRouter(prefix="/api")

BAD_RANGE: dict[int | str, dict[str, Any]] = {
    422: {"description": "A bound without its zone or malformed, or an empty or inverted range"}
}


@router.get("/kpi", response_model=KpiReport, openapi_extra=role("supervisor"), responses={**DENIED, **BAD_RANGE})
def kpi(
    user: Supervisor,
    session: SessionDep,
    since: Annotated[AwareDatetime, Query(alias="from", description="Calls received at or after (with zone)")],
    until: Annotated[AwareDatetime, Query(alias="to", description="... and before (with zone)")],
    line: Annotated[str | None, Query(pattern="^(" + "|".join(LINES) + ")$", description="Only this line")] = None,
):
    """Answered within 15 and 20 s, time to answer, to dispatch and to an agency's answer of the calls received
    in [from, to), overall and by line, agency, category and district; times in UTC, durations in seconds."""
    try:
        return kpi_report(session, since, until, line)
    except BadRange as exc:
        raise HTTPException(422, str(exc)) from None
