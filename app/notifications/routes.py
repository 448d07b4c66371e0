"""Provider callbacks (delivery receipts, inbound SMS), the safety-alert acknowledgement page and
the victim's notification preferences."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.core.config import Settings
from app.notifications import service
from app.notifications.providers import NOTIFY_STATUSES, TWILIO_STATUSES
from app.portal.routes import Portal, PortalRoute, must_sign_in, page, portal, redirect

router = APIRouter(include_in_schema=False, route_class=PortalRoute)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _twilio_form(request: Request) -> dict[str, str] | None:
    """The form Twilio posted, if its X-Twilio-Signature is valid for our public URL."""
    from twilio.request_validator import RequestValidator

    settings = _settings(request)
    if not settings.twilio_auth_token:
        return None
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    url = settings.base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("x-twilio-signature", "")
    if not RequestValidator(settings.twilio_auth_token).validate(url, form, signature):
        return None
    return form


def _forbidden() -> Response:
    return Response("invalid signature", status_code=403, media_type="text/plain")


@router.post("/notifications/twilio/status/{notification_pk}")
async def twilio_status(notification_pk: int, request: Request) -> Response:
    form = await _twilio_form(request)
    if form is None:
        return _forbidden()
    status = TWILIO_STATUSES.get(form.get("MessageStatus", ""))
    if status is not None:
        await _in_session(request, _apply_receipt, notification_pk, status)
    return Response(status_code=204)


@router.post("/notifications/twilio/inbound")
async def twilio_inbound(request: Request) -> Response:
    form = await _twilio_form(request)
    if form is None:
        return _forbidden()
    number, body = form.get("From", ""), form.get("Body", "")
    if number:
        await _in_session(request, service.handle_inbound_sms, number, body)
    # We never answer by SMS: after STOP nothing may be sent, and carriers confirm opt-outs.
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/notifications/notify/callback")
async def notify_callback(request: Request) -> Response:
    """GOV.UK Notify's delivery receipts (its callback sends our reference and a bearer token)."""
    expected = _settings(request).notify_callback_token
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return Response("unauthorised", status_code=401, media_type="text/plain")
    payload: dict[str, Any] = await request.json()
    status = NOTIFY_STATUSES.get(str(payload.get("status", "")))
    reference = str(payload.get("reference") or "")
    if status is not None and reference.isdigit():
        await _in_session(request, _apply_receipt, int(reference), status)
    return Response(status_code=204)


def _apply_receipt(session: Any, notification_pk: int, status: str) -> None:
    service.apply_receipt(session, notification_pk, status)
    session.commit()


async def _in_session(request: Request, work: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    def run() -> Any:
        with request.app.state.sessionmaker() as session:
            return work(session, *args)

    return await run_in_threadpool(run)


# --- acknowledging a safety alert --------------------------------------------------------------
# The link only shows a button: mail scanners open links, and must not acknowledge for the victim.

@router.get("/ack/{token}")
def ack_page(token: str, p: Portal = Depends(portal)) -> Response:
    if not service.alert_exists(p.db, token):
        return page(p, "notifications/ack.html", status_code=404, state="unknown", token="")
    return page(p, "notifications/ack.html", state="ask", token=token)


@router.post("/ack/{token}")
def ack_submit(token: str, p: Portal = Depends(portal)) -> Response:
    if not service.acknowledge(p.db, token):
        return page(p, "notifications/ack.html", status_code=404, state="unknown", token="")
    return page(p, "notifications/ack.html", state="done", token="")


# --- preferences -------------------------------------------------------------------------------

def _accesses(p: Portal) -> dict[int, Any]:
    """victim pk -> the portal Access (case, victim, acting role) this session holds."""
    from app.portal import service as portal_service

    accesses = portal_service.my_cases(p.db, p.grants)
    p.language = portal_service.default_language(p.row, accesses)
    return {access.victim.id: access for access in accesses}


def _preferences_page(p: Portal, accesses: dict[int, Any], status_code: int = 200,
                      errors: dict[int, dict[str, str]] | None = None,
                      typed: dict[str, Any] | None = None, saved: bool = False) -> Response:
    forms = [typed if typed and typed["victim"] == pk else service.preference_form(p.db, pk)
             for pk in sorted(accesses)]
    return page(p, "notifications/preferences.html", status_code=status_code, forms=forms,
                errors=errors or {}, intervals=service.UPDATE_INTERVALS, saved=saved)


@router.get("/preferences")
def preferences_page(p: Portal = Depends(portal)) -> Response:
    if not p.signed_in:
        return must_sign_in(p)
    return _preferences_page(p, _accesses(p), saved=p.request.query_params.get("saved") == "1")


@router.post("/preferences")
def preferences_submit(p: Portal = Depends(portal)) -> Response:
    if not p.signed_in:
        return must_sign_in(p)
    accesses = _accesses(p)
    try:
        victim_pk = int(p.form.get("victim", ""))
    except ValueError:
        victim_pk = -1
    access = accesses.get(victim_pk)
    if access is None:  # not one of this session's victims: as if it did not exist
        return redirect(p, "/preferences")
    try:
        service.save_preferences_form(p.db, victim_pk, p.form, by=access.role)
    except service.PreferenceError as exc:
        p.db.rollback()
        return _preferences_page(p, accesses, status_code=400, errors={victim_pk: exc.errors},
                                 typed=service.submitted_form(victim_pk, p.form))
    from app.portal import service as portal_service

    assert p.row is not None  # signed in
    portal_service.record_action(p.db, p.row, access, "preferences.changed")
    return redirect(p, "/preferences?saved=1")
