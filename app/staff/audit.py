"""The append-only audit log of staff actions: every read of a victim's data and every change
to the service's set-up. Rows are added in the caller's transaction (no commit here), so an
audited read that fails leaves no row, and a row can never be missing for a page that was
shown (the page commits before it renders)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.staff.models import StaffAudit
from app.staff.schemas import StaffUser


def _add(session: Session, staff: StaffUser, action: str, what: str, case_pk: int | None,
         victim_pk: int | None, detail: str | None) -> StaffAudit:
    row = StaffAudit(at=utcnow(), account_pk=staff.pk, staff_email=staff.email,
                     roles=",".join(sorted(staff.roles)), action=action, what=what[:100],
                     case_pk=case_pk, victim_pk=victim_pk,
                     detail=detail[:300] if detail else None)
    session.add(row)
    return row


def record_read(session: Session, staff: StaffUser, *, case_pk: int | None,
                victim_pk: int | None = None, what: str, detail: str | None = None
                ) -> StaffAudit:
    """A member of staff saw a victim's data (`what`: the page or item, never the data)."""
    return _add(session, staff, "read", what, case_pk, victim_pk, detail)


def record_write(session: Session, staff: StaffUser, *, what: str, case_pk: int | None = None,
                 victim_pk: int | None = None, detail: str | None = None) -> StaffAudit:
    """A member of staff changed something (an agency's secrets, an endpoint, ...)."""
    return _add(session, staff, "write", what, case_pk, victim_pk, detail)
