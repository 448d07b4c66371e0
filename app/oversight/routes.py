"""The oversight dashboard (/staff/oversight, role oversight): Victims' Code compliance and the
service's own measures, each chart with its data table beside it and a CSV export per table.
Aggregates only, small counts suppressed (app/oversight/service.py): no personal data, so reads
are not audited as reads of a victim's data.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.core.i18n import translator
from app.oversight import service
from app.staff.auth import StaffUser, require_roles
from app.staff.routes import not_found, staff_db, staff_page

router = APIRouter(prefix="/staff/oversight", include_in_schema=False)
OVERSIGHT = require_roles("oversight")


@router.get("")
def dashboard(request: Request, staff: StaffUser = Depends(OVERSIGHT),
              db: Session = Depends(staff_db)) -> Response:
    t = translator("en")  # the staff console's language (app/staff/routes.py staff_page)
    return staff_page(request, staff, "oversight/dashboard.html",
                      tables=service.dashboard(db, t=t), as_at=service.figures_as_at(db))


@router.get("/{key}.csv")
def export(request: Request, key: str, staff: StaffUser = Depends(OVERSIGHT),
           db: Session = Depends(staff_db)) -> Response:
    t = translator("en")
    table = service.table(db, key, t=t)
    if table is None:
        return not_found(request, staff)
    body = service.as_csv(table, t._)
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{table.key}.csv"',
        "Cache-Control": "no-store"})
