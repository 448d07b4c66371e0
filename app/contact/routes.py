"""Pages for messages and escalations.

Victims (the portal's session and access rules): /cases/{public_id}/messages,
/cases/{public_id}/escalate and /cases/{public_id}/escalations/{id}. Cases and escalations
appear in URLs only by random ids; titles carry nothing about the case.

Staff (the staff console's session and roles): /staff/cases/{case_pk}/messages (threads and
replies), /staff/escalations (the list, nearest deadline first) and /staff/escalations/{pk}
(resolve with a note). An officer or supervisor sees only their own cases (else 404); every read
of a victim's data is audited before the page is shown.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.contact import repository, service
from app.contact.schemas import (
    DETAILS_MAX,
    MESSAGE_MAX,
    NOTE_MAX,
    REASON_LABELS,
    VICTIM_REASONS,
    EscalationForm,
    parse_answer,
    parse_escalation,
)
from app.core.forms import text_fields
from app.core.templating import environment
from app.portal import service as portal_service
from app.portal.routes import Portal, PortalRoute, case_of, not_found, page, portal, redirect
from app.staff import audit
from app.staff import service as staff_service
from app.staff.auth import StaffUser, require_roles
from app.staff.routes import see_other, staff_db, staff_page

router = APIRouter(include_in_schema=False, route_class=PortalRoute)

STAFF_CASE_ROLES = ("officer", "supervisor", "hub", "admin")
ESCALATION_ROLES = ("supervisor", "hub", "admin")
COMMON = {"reason_labels": REASON_LABELS, "message_max": MESSAGE_MAX,
          "details_max": DETAILS_MAX, "note_max": NOTE_MAX}


# The case page's contact panel is built by the portal (portal.service.case_page).
environment().globals.update(contact_due=service.due_text, contact_reasons=REASON_LABELS)


# --- victims ----------------------------------------------------------------------------------

def _messages_page(p: Portal, access: portal_service.Access, status_code: int = 200,
                   **context: Any) -> Response:
    thread = service.thread_view(p.db, access.case, access.victim)
    return page(p, "contact/messages.html", status_code=status_code, access=access,
                thread=thread, **COMMON, **({"errors": {}, "body": ""} | context))


@router.get("/cases/{public_id}/messages")
def messages_page(public_id: str, sent: int = 0, p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    return _messages_page(p, access, sent=bool(sent))


@router.post("/cases/{public_id}/messages")
def send_message(public_id: str, p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    try:
        service.send_message(p.db, access.case, access.victim, access.role, p.form)
    except service.ContactError as exc:
        p.db.rollback()
        return _messages_page(p, access, status_code=400, errors=exc.errors,
                              body=p.form.get("body", ""))
    assert p.row is not None
    portal_service.record_action(p.db, p.row, access, "sent_message")
    return redirect(p, f"/cases/{public_id}/messages?sent=1")


def _escalate_page(p: Portal, access: portal_service.Access, form: EscalationForm,
                   status_code: int = 200) -> Response:
    return page(p, "contact/escalate.html", status_code=status_code, access=access, form=form,
                reasons=VICTIM_REASONS, **COMMON)


@router.get("/cases/{public_id}/escalate")
def escalate_page(public_id: str, reason: str = "", p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    chosen = reason if reason in VICTIM_REASONS else ""
    return _escalate_page(p, access, EscalationForm(reason=chosen))


@router.post("/cases/{public_id}/escalate")
def escalate(public_id: str, p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    form = parse_escalation(p.form)
    if form.errors:
        return _escalate_page(p, access, form, status_code=400)
    if form.reason in service.URGENT_REASONS and not form.confirmed:
        # "I feel unsafe": the 999 guidance comes first, then one more tap sends it.
        return page(p, "contact/unsafe.html", access=access, form=form, **COMMON)
    escalation = service.escalate(p.db, access.case, access.victim, access.role, p.form)
    assert p.row is not None
    portal_service.record_action(p.db, p.row, access, "escalated", {"reason": form.reason})
    return redirect(p, f"/cases/{public_id}/escalations/{escalation.public_id}?raised=1")


@router.get("/cases/{public_id}/escalations/{escalation_id}")
def escalation_page(public_id: str, escalation_id: str, raised: int = 0, answered: int = 0,
                    p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    escalation = service.find_escalation(p.db, access.case, access.victim, escalation_id)
    if escalation is None:
        return not_found(p)
    return page(p, "contact/escalation.html", access=access,
                view=service.escalation_view(p.db, escalation), raised=bool(raised),
                answered=bool(answered), **COMMON)


@router.post("/cases/{public_id}/escalations/{escalation_id}/feedback")
def escalation_feedback(public_id: str, escalation_id: str,
                        p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    escalation = service.find_escalation(p.db, access.case, access.victim, escalation_id)
    answer = parse_answer(p.form)
    if escalation is None or escalation.status != "resolved":
        return not_found(p)
    if answer is None:
        return page(p, "contact/escalation.html", status_code=400, access=access,
                    view=service.escalation_view(p.db, escalation), raised=False,
                    answered=False, answer_error=True, **COMMON)
    service.record_feedback(p.db, escalation, answer)
    assert p.row is not None
    portal_service.record_action(p.db, p.row, access, "answered_escalation", {"answer": answer})
    return redirect(p, f"/cases/{public_id}/escalations/{escalation_id}?answered=1")


# --- staff ------------------------------------------------------------------------------------

def _staff_not_found(request: Request, staff: StaffUser) -> Response:
    return staff_page(request, staff, "staff/not_found.html", status_code=404)


def _author(staff: StaffUser) -> str:
    return "officer" if staff.has_any("officer", "supervisor") else "hub"


def _staff_messages(request: Request, staff: StaffUser, db: Session, case_pk: int,
                    status_code: int = 200, **context: Any) -> Response:
    case = repository.get_case(db, case_pk)
    assert case is not None
    threads = service.threads_of_case(db, case)
    escalations = service.escalations_of_case(db, case_pk)
    audit.record_read(db, staff, case_pk=case_pk, what="messages")
    db.commit()  # audited before anything is shown
    return staff_page(request, staff, "contact/staff_messages.html", status_code=status_code,
                      case=case, threads=threads, escalations=escalations, **COMMON,
                      **({"errors": {}, "error_victim": None, "body": ""} | context))


@router.get("/staff/cases/{case_pk}/messages")
def staff_messages(request: Request, case_pk: int, sent: int = 0,
                   staff: StaffUser = Depends(require_roles(*STAFF_CASE_ROLES)),
                   db: Session = Depends(staff_db)) -> Response:
    if not staff_service.can_see_case(db, staff, case_pk):
        return _staff_not_found(request, staff)
    return _staff_messages(request, staff, db, case_pk, sent=bool(sent))


@router.post("/staff/cases/{case_pk}/messages/{victim_pk}")
async def staff_reply(request: Request, case_pk: int, victim_pk: int,
                      staff: StaffUser = Depends(require_roles(*STAFF_CASE_ROLES)),
                      db: Session = Depends(staff_db)) -> Response:
    from fastapi.concurrency import run_in_threadpool

    form = await text_fields(request)
    return await run_in_threadpool(_staff_reply, request, case_pk, victim_pk, staff, db, form)


def _staff_reply(request: Request, case_pk: int, victim_pk: int, staff: StaffUser, db: Session,
                 form: dict[str, str]) -> Response:
    victim = repository.get_victim(db, victim_pk)
    if not staff_service.can_see_case(db, staff, case_pk) or victim is None \
            or victim.case_pk != case_pk:
        return _staff_not_found(request, staff)
    case = repository.get_case(db, case_pk)
    assert case is not None
    try:
        service.staff_reply(db, case, victim, author=_author(staff), name=staff.name,
                            email=staff.email, values=form)
    except service.ContactError as exc:
        db.rollback()
        return _staff_messages(request, staff, db, case_pk, status_code=400, errors=exc.errors,
                               error_victim=victim_pk, body=form.get("body", ""))
    return see_other(f"/staff/cases/{case_pk}/messages?sent=1")


@router.get("/staff/escalations")
def staff_escalations(request: Request,
                      staff: StaffUser = Depends(require_roles(*ESCALATION_ROLES)),
                      db: Session = Depends(staff_db)) -> Response:
    """Open escalations, the nearest deadline first (a supervisor: their own cases only)."""
    rows = repository.open_escalations(db, limit=500,
                                       restrict_to=staff_service.visible_case_pks(staff))
    audit.record_read(db, staff, case_pk=None, what="escalations", detail=f"{len(rows)} open")
    db.commit()
    return staff_page(request, staff, "contact/staff_escalations.html", rows=rows, **COMMON)


def _staff_escalation(request: Request, staff: StaffUser, db: Session, escalation_pk: int,
                      status_code: int = 200, **context: Any) -> Response:
    escalation = repository.get_escalation(db, escalation_pk)
    if escalation is None or not staff_service.can_see_case(db, staff, escalation.case_pk):
        return _staff_not_found(request, staff)
    case = repository.get_case(db, escalation.case_pk)
    victim = repository.get_victim(db, escalation.victim_pk)
    audit.record_read(db, staff, case_pk=escalation.case_pk, victim_pk=escalation.victim_pk,
                      what="escalation")
    db.commit()
    return staff_page(request, staff, "contact/staff_escalation.html", status_code=status_code,
                      view=service.escalation_view(db, escalation), case=case, victim=victim,
                      **COMMON, **({"errors": {}, "note": ""} | context))


@router.get("/staff/escalations/{escalation_pk}")
def staff_escalation(request: Request, escalation_pk: int, resolved: int = 0,
                     staff: StaffUser = Depends(require_roles(*STAFF_CASE_ROLES)),
                     db: Session = Depends(staff_db)) -> Response:
    return _staff_escalation(request, staff, db, escalation_pk, resolved=bool(resolved))


@router.post("/staff/escalations/{escalation_pk}/resolve")
async def staff_resolve(request: Request, escalation_pk: int,
                        staff: StaffUser = Depends(require_roles(*STAFF_CASE_ROLES)),
                        db: Session = Depends(staff_db)) -> Response:
    from fastapi.concurrency import run_in_threadpool

    form = await text_fields(request)
    return await run_in_threadpool(_staff_resolve, request, escalation_pk, staff, db, form)


def _staff_resolve(request: Request, escalation_pk: int, staff: StaffUser, db: Session,
                   form: dict[str, str]) -> Response:
    escalation = repository.get_escalation(db, escalation_pk)
    if escalation is None or not staff_service.can_see_case(db, staff, escalation.case_pk):
        return _staff_not_found(request, staff)
    try:
        service.resolve(db, escalation_pk, by=staff.name, values=form)
    except service.ContactError as exc:
        db.rollback()
        return _staff_escalation(request, staff, db, escalation_pk, status_code=400,
                                 errors=exc.errors, note=form.get("note", ""))
    return see_other(f"/staff/escalations/{escalation_pk}?resolved=1")
