"""The staff console's pages (/staff): sign-in (OpenID Connect, or the dev sign-in on the
embedded default), the cases a member of staff may see, the Hub's queues and agency management.

Every page: `Cache-Control: no-store`, no victim data in titles or URLs (cases by row id), a
CSRF token on every form, and every read of a victim's data audited before it is shown.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.core import csrf
from app.core.config import Settings
from app.core.forms import text_fields
from app.core.i18n import N_, translator
from app.core.templating import environment
from app.staff import audit, hub, service
from app.staff.auth import cookie_name, current_staff, require_roles
from app.staff.models import ROLES
from app.staff.schemas import (
    AgencyForm,
    DevSignInForm,
    StaffUser,
    parse_agency,
    parse_dev_sign_in,
)

router = APIRouter(prefix="/staff", include_in_schema=False)

# Before sign-in there is no session to bind a CSRF token to: a random token in a short-lived
# cookie that the form must echo (double submit).
FORM_COOKIE = "tmc_staff_form"
CASE_ROLES = ("officer", "supervisor", "hub", "admin")
# What each kind of victim request is, in staff words (app/outbound REQUEST_KINDS).
REQUEST_KINDS = {
    "vps": N_("Victim Personal Statement"),
    "vrr": N_("Review of a decision (VRR)"),
    "special_measures": N_("Special measures"),
    "rj_interest": N_("Interest in restorative justice"),
    "vcs_preference": N_("Victim Contact Scheme choices"),
    "support_referral": N_("Support referral"),
    "message": N_("Message to the officer"),
    "escalation": N_("Escalation"),
}
REQUEST_STATUSES = {"submitted": N_("Sent"), "acknowledged": N_("Acknowledged"),
                    "completed": N_("Completed")}
DONE_MESSAGES = {"retired": N_("Older signing secrets were retired."),
                 "enabled": N_("The agency's endpoint receives webhooks again.")}


def staff_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as db:
        yield db


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def staff_page(request: Request, staff: StaffUser | None, template: str,
               status_code: int = 200, **context: Any) -> Response:
    """A staff page in the staff layout, with the CSRF token of the staff session."""
    from starlette.responses import HTMLResponse

    t = translator("en")
    base = {"t": t, "_": t._, "lang": "en", "staff": staff, "request": request,
            "csrf_token": getattr(request.state, "staff_csrf_token", ""),
            "current_path": request.url.path}
    html = environment().get_template(template).render(base | context)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def unavailable_page(request: Request) -> Response:
    """The page for a staff request the database could not serve (app/main.py)."""
    return staff_page(request, getattr(request.state, "staff", None), "staff/unavailable.html",
                      status_code=503)


def see_other(url: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(cookie_name(settings), token, httponly=True,
                        secure=settings.secure_cookies, samesite="lax", path="/")


# --- sign-in ---------------------------------------------------------------------------------

@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    settings = _settings(request)
    return staff_page(request, None, "staff/sign_in.html",
                      oidc_enabled=settings.staff_oidc_enabled,
                      oidc_name=settings.staff_oidc_name,
                      dev_sign_in=settings.staff_dev_sign_in)


def _dev_page(request: Request, form: DevSignInForm, status_code: int = 200) -> Response:
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(32)
    response = staff_page(request, None, "staff/dev_sign_in.html", status_code=status_code,
                          form=form, roles=ROLES, form_token=token)
    response.set_cookie(FORM_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=_settings(request).secure_cookies, path="/staff")
    return response


def _dev_sign_in_available(request: Request) -> bool:
    return _settings(request).staff_dev_sign_in


@router.get("/dev-sign-in")
def dev_sign_in_page(request: Request) -> Response:
    if not _dev_sign_in_available(request):
        return staff_page(request, None, "staff/not_found.html", status_code=404)
    return _dev_page(request, DevSignInForm())


@router.post("/dev-sign-in")
async def dev_sign_in(request: Request, db: Session = Depends(staff_db)) -> Response:
    """Signs in as anyone with any roles: development and tests only (404 in production or
    when a real provider is configured)."""
    from fastapi.concurrency import run_in_threadpool

    if not _dev_sign_in_available(request):
        return staff_page(request, None, "staff/not_found.html", status_code=404)
    if not await csrf.is_valid(request, request.cookies.get(FORM_COOKIE)):
        return staff_page(request, None, "staff/csrf_failed.html", status_code=403)
    data = await request.form()
    form = parse_dev_sign_in(str(data.get("email", "")), str(data.get("name", "")),
                             [str(r) for r in data.getlist("roles")])
    if form.errors:
        return _dev_page(request, form, status_code=400)
    _staff, token = await run_in_threadpool(
        service.sign_in, db, _settings(request), subject=f"dev:{form.email.lower()}",
        email=form.email, name=form.name, roles=frozenset(form.roles))
    response = see_other("/staff")
    set_session_cookie(response, _settings(request), token)
    response.delete_cookie(FORM_COOKIE, path="/staff")
    return response


@router.post("/sign-out")
def sign_out(request: Request, staff: StaffUser = Depends(current_staff),
             db: Session = Depends(staff_db)) -> Response:
    service.sign_out(db, request.state.staff_session_pk)
    response = see_other("/staff/signed-out")
    settings = _settings(request)
    response.delete_cookie(cookie_name(settings), path="/", secure=settings.secure_cookies,
                           httponly=True, samesite="lax")
    return response


@router.get("/signed-out")
def signed_out(request: Request) -> Response:
    return staff_page(request, None, "staff/signed_out.html")


# --- home and cases ----------------------------------------------------------------------------

@router.get("")
def home(request: Request, staff: StaffUser = Depends(current_staff)) -> Response:
    return staff_page(request, staff, "staff/home.html")


@router.get("/cases")
def cases(request: Request, staff: StaffUser = Depends(require_roles(*CASE_ROLES)),
          db: Session = Depends(staff_db)) -> Response:
    """The cases this member of staff may see (no victim details: not audited)."""
    return staff_page(request, staff, "staff/cases.html",
                      cases=service.cases_visible_to(db, staff))


@router.get("/cases/{case_pk}")
def case_page(request: Request, case_pk: int,
              staff: StaffUser = Depends(require_roles(*CASE_ROLES)),
              db: Session = Depends(staff_db)) -> Response:
    from app.agencies.catalogue import REQUEST_DECISIONS
    from app.cases import service as cases_service
    from app.obligations import service as obligations_service
    from app.outbound import repository as outbound_repository

    if not service.can_see_case(db, staff, case_pk):
        return not_found(request, staff)  # the same whether it exists or not
    case = service.get_case(db, case_pk)
    assert case is not None
    view = cases_service.view_case(db, case, everyone=True)
    obligations = obligations_service.obligations_as_json(db, case)
    requests = outbound_repository.requests_of_case(db, case_pk)
    audit.record_read(db, staff, case_pk=case_pk, what="case")
    if requests:  # what victims asked of agencies, and when: a read of its own
        audit.record_read(db, staff, case_pk=case_pk, what="victim-requests",
                          detail=f"{len(requests)} requests")
    db.commit()  # audited before anything is shown
    t = translator("en")
    entries = [(e, cases_service.entry_text(e, t)) for e in view.timeline]
    return staff_page(request, staff, "staff/case.html", view=view, obligations=obligations,
                      entries=entries, requests=requests, request_kinds=REQUEST_KINDS,
                      request_statuses=REQUEST_STATUSES, request_decisions=REQUEST_DECISIONS)


def not_found(request: Request, staff: StaffUser | None) -> Response:
    return staff_page(request, staff, "staff/not_found.html", status_code=404)


# --- the Hub's queues --------------------------------------------------------------------------

@router.get("/hub")
def hub_page(request: Request, staff: StaffUser = Depends(require_roles("hub", "admin")),
             db: Session = Depends(staff_db)) -> Response:
    queues = hub.queues(db)
    audit.record_read(db, staff, case_pk=None, what="hub-queues",
                      detail=f"{queues.total} items")
    db.commit()
    return staff_page(request, staff, "staff/hub.html", queues=queues)


# --- audit log (admin) -------------------------------------------------------------------------

@router.get("/audit")
def audit_page(request: Request, case: int | None = None,
               staff: StaffUser = Depends(require_roles("admin")),
               db: Session = Depends(staff_db)) -> Response:
    from app.staff import repository

    entries = repository.audit_entries(db, case_pk=case)
    return staff_page(request, staff, "staff/audit.html", entries=entries, case_filter=case)



# --- agencies (admin) --------------------------------------------------------------------------

ADMIN = require_roles("admin")


def _agencies_page(request: Request, staff: StaffUser, db: Session, status_code: int = 200,
                   **context: Any) -> Response:
    from app.agencies.models import AGENCY_KINDS
    from app.staff import repository

    context.setdefault("form", AgencyForm())
    return staff_page(request, staff, "staff/agencies.html", status_code=status_code,
                      agencies=repository.agencies_with_secret_counts(db), kinds=AGENCY_KINDS,
                      **context)


@router.get("/agencies")
def agencies_page(request: Request, done: str | None = None,
                  staff: StaffUser = Depends(ADMIN), db: Session = Depends(staff_db)
                  ) -> Response:
    return _agencies_page(request, staff, db, done=done if done in DONE_MESSAGES else None,
                          done_messages=DONE_MESSAGES)


@router.post("/agencies")
async def add_agency(request: Request, staff: StaffUser = Depends(ADMIN),
                     db: Session = Depends(staff_db)) -> Response:
    from fastapi.concurrency import run_in_threadpool

    data = await text_fields(request)
    form = parse_agency(*(data.get(k, "") for k in ("agency_id", "kind", "name", "endpoint_url")))
    if not form.errors:
        change = await run_in_threadpool(service.add_agency, db, _settings(request), staff,
                                         form)
        if change.ok:
            return staff_page(request, staff, "staff/agency_secret.html",
                              agency_id=form.agency_id, secret=change.secret, added=True)
        form.errors["agency_id"] = change.error or ""
    return await run_in_threadpool(_agencies_page, request, staff, db, status_code=400,
                                   form=form)


@router.post("/agencies/{agency_id}/rotate")
def rotate_secret(request: Request, agency_id: str, staff: StaffUser = Depends(ADMIN),
                  db: Session = Depends(staff_db)) -> Response:
    change = service.rotate_secret(db, _settings(request), staff, agency_id)
    if not change.ok:
        return not_found(request, staff)
    return staff_page(request, staff, "staff/agency_secret.html", agency_id=agency_id,
                      secret=change.secret, added=False)


@router.post("/agencies/{agency_id}/retire")
def retire_secrets(request: Request, agency_id: str, staff: StaffUser = Depends(ADMIN),
                   db: Session = Depends(staff_db)) -> Response:
    change = service.retire_secrets(db, staff, agency_id)
    return see_other("/staff/agencies?done=retired") if change.ok else not_found(request, staff)


@router.post("/agencies/{agency_id}/enable")
def enable_endpoint(request: Request, agency_id: str, staff: StaffUser = Depends(ADMIN),
                    db: Session = Depends(staff_db)) -> Response:
    change = service.enable_endpoint(db, staff, agency_id)
    return see_other("/staff/agencies?done=enabled") if change.ok else not_found(request, staff)
