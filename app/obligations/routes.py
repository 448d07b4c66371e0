"""The staff and oversight JSON API for obligations.

Mounted only when `Settings.staff_api_enabled` is true: its sign-in arrives with the staff
console. Crime references contain slashes, so the case is a query parameter.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from app.cases import repository as cases_repository
from app.core.problems import Problem
from app.obligations import service
from app.obligations.schemas import ObligationOut

router = APIRouter(prefix="/api/staff", tags=["staff"])

PROBLEM = {"content": {"application/problem+json": {}}}


@router.get("/obligations", response_model=list[ObligationOut],
            summary="The Victims' Code obligations of a case",
            responses={404: PROBLEM, 422: PROBLEM})
def list_obligations(
    request: Request,
    crime_reference: str = Query(min_length=1, max_length=64,
                                 description="The police crime reference, e.g. 01/23456/26"),
) -> list[dict]:
    """Every obligation of the case, with its trigger, due and met times and status."""
    with request.app.state.sessionmaker() as session:
        case = cases_repository.get_case_by_reference(session, crime_reference)
        if case is None:
            raise Problem(404, "unknown-case", "No case has this crime_reference.")
        return service.obligations_as_json(session, case)
