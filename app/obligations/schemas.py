"""The JSON shape of an obligation (operations.md: `tmc obligations --json`), for the API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Status = Literal["open", "met", "met_late", "breached", "cancelled"]


class ObligationOut(BaseModel):
    """One Victims' Code obligation. Times are RFC 3339 with the Europe/London offset."""

    model_config = ConfigDict(extra="allow")

    id: str  # the rule id of victims-code.md, e.g. "inform-cps-decision"
    victim_ref: str | None  # None for a per-case obligation
    owner: str  # agency kind, or "victim"
    trigger_at: str
    due_at: str | None  # None until a window has started (the victim has been told)
    met_at: str | None
    status: Status
    right: str
    owner_agency_id: str | None
    trigger_key: str
    origin: Literal["event", "portal"]
    enhanced: bool
    evidence: str | None
    closes_at: str | None
    receipt_due_at: str | None
    received_late: bool | None
