"""The KPI report's shape, the one the CLI prints and ``GET /api/kpi`` answers (definitions: docs/KPI.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class KpiFigures(BaseModel):
    calls: int = Field(description="Cases received in [from, to)")
    answered: int = Field(description="Cases a human answered (an agent, the command-center group or a unit)")
    abandoned: int = Field(description="calls - answered")
    abandoned_in_ivr: int = Field(description="Abandoned cases whose disposition is abandoned-in-ivr")
    answered_within_15s_pct: float | None = Field(description="100 x answered in <= 15 s / calls; null: no calls")
    answered_within_20s_pct: float | None = Field(description="100 x answered in <= 20 s / calls; null: no calls")
    time_to_answer_p50_s: float | None = Field(description="Nearest-rank median of answered_at - received_at")
    time_to_answer_p90_s: float | None = Field(description="Nearest-rank 90th percentile of the same")
    time_to_dispatch_p50_s: float | None = Field(description="Median of (dispatched_at or forwarded_at) - received_at")
    agency_answer_p50_s: float | None = Field(description="Median of agency_answered_at - received_at")


class KpiReport(KpiFigures):
    model_config = ConfigDict(populate_by_name=True)

    since: datetime = Field(alias="from", description="Start of the range (included), UTC")
    until: datetime = Field(alias="to", description="End of the range (excluded), UTC")
    line: str | None = Field(description="The one line counted; null: both")
    by_line: dict[str, KpiFigures]
    by_agency: dict[str, KpiFigures] = Field(
        description="By the agency of the first unit that answered, else of the dispatched unit; "
        "'fallback-route' for an answer on the dialplan's fallback route, 'none' otherwise"
    )
    by_category: dict[str, KpiFigures]
    by_district: dict[str, KpiFigures]
