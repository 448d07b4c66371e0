"""The staff and oversight JSON API for obligations, behind the staff sign-in (app/staff):
hub, oversight and admin see every case; officers and supervisors only their own (any other
case is the same 404 as one that does not exist). Crime references contain slashes, so the
case is a query parameter.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from app.cases import repository as cases_repository
from app.core.problems import Problem
from app.obligations import service
from app.obligations.schemas import ObligationOut
from app.staff import audit
from app.staff import service as staff_service
from app.staff.auth import StaffUser, require_roles

router = APIRouter(prefix="/api/staff", tags=["staff"])

PROBLEM = {"content": {"application/problem+json": {}}}
ANY_CASE_ROLES = frozenset({"hub", "oversight", "admin"})


@router.get("/obligations", response_model=list[ObligationOut],
            summary="The Victims' Code obligations of a case",
            responses={401: PROBLEM, 403: PROBLEM, 404: PROBLEM, 422: PROBLEM})
def list_obligations(
    request: Request,
    crime_reference: str = Query(min_length=1, max_length=64,
                                 description="The police crime reference, e.g. 01/23456/26"),
    staff: StaffUser = Depends(require_roles("officer", "supervisor", *ANY_CASE_ROLES)),
) -> list[dict]:
    """Every obligation of the case, with its trigger, due and met times and status. Needs a
    staff session (cookie from /staff/sign-in)."""
    with request.app.state.sessionmaker() as session:
        case = cases_repository.get_case_by_reference(session, crime_reference)
        if case is None or not (staff.roles & ANY_CASE_ROLES
                                or staff_service.can_see_case(session, staff, case.id)):
            raise Problem(404, "unknown-case", "No case has this crime_reference.")
        listed = service.obligations_as_json(session, case)
        audit.record_read(session, staff, case_pk=case.id, what="obligations-api")
        session.commit()
        return listed
