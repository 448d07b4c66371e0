"""The victim's "Your rights" pages: /cases/{public_id}/rights/... Every page works without
JavaScript; every form carries the session's CSRF token; nothing personal in titles or URLs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.agencies.catalogue import MEASURES, REQUEST_DECISIONS
from app.core.db import utcnow
from app.core.i18n import N_, Translator
from app.core.templating import environment
from app.entitlements import rights as r
from app.entitlements import schemas, service
from app.obligations.calendar import london_day
from app.portal import service as portal_service
from app.portal.routes import Portal, PortalRoute, case_of, not_found, page, portal, redirect

router = APIRouter(include_in_schema=False, route_class=PortalRoute)

SLUGS = {r.VPS: "personal-statement", r.SPECIAL_MEASURES: "special-measures",
         r.RJ: "restorative-justice", r.VCS: "victim-contact-scheme", r.SUPPORT: "support"}
RIGHT_OF_SLUG = {slug: right for right, slug in SLUGS.items()}
TEMPLATES = {r.VPS: "entitlements/vps.html", r.SPECIAL_MEASURES: "entitlements/measures.html",
             r.RJ: "entitlements/rj.html", r.VCS: "entitlements/vcs.html",
             r.SUPPORT: "entitlements/support.html", r.VRR: "entitlements/vrr.html"}
TITLES = {
    r.VPS: N_("Victim Personal Statement"),
    r.VRR: N_("Ask for a review of a decision not to prosecute"),
    r.SPECIAL_MEASURES: N_("Special measures to help you give evidence"),
    r.RJ: N_("Restorative justice"),
    r.VCS: N_("Victim Contact Scheme"),
    r.SUPPORT: N_("Support for you"),
}
COMMON = {"R": r, "titles": TITLES, "state_labels": r.STATE_LABELS, "slugs": SLUGS,
          "measures": MEASURES,
          "vps_reading": schemas.VPS_READING, "vcs_levels": schemas.VCS_LEVELS,
          "vps_max": schemas.VPS_MAX, "reasons_max": schemas.REASONS_MAX,
          "note_max": schemas.NOTE_MAX}


NOT_NOW = N_("You cannot do that now. This page shows where it stands.")
# What a right's action may be refused with; nothing has been written when one is raised.
REFUSALS = (schemas.EntitlementError, r.InvalidTransition, r.Unavailable)


def day(t: Translator, moment: Any) -> str:
    """A moment (or its ISO text, as drafts store it) as its London day, in the reader's
    language."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return t.date(london_day(moment))


def days_left(moment: Any) -> int:
    return max(0, (london_day(moment) - london_day(utcnow())).days)


def _path(access: portal_service.Access, right: str, token: str = "") -> str:
    base = f"/cases/{access.public_id}/rights"
    return f"{base}/review/{token}" if right == r.VRR else f"{base}/{SLUGS[right]}"


def href(access: portal_service.Access, item: service.Right) -> str:
    return _path(access, item.right, item.token)


def _victim_trigger(form: dict[str, str]) -> str:
    """What the victim chose (`action`); anything else counts as asking."""
    trigger = form.get("action", r.REQUEST)
    return trigger if trigger in r.VICTIM_TRIGGERS else r.REQUEST


environment().globals.update(rights_href=href, rights_day=day,
                             rights_days_left=days_left, right_titles=TITLES,
                             request_decisions=REQUEST_DECISIONS)


def _show(p: Portal, access: portal_service.Access, right: str, key: str = "",
          status_code: int = 200, rights: service.Rights | None = None,
          **context: Any) -> Response:
    rights = rights or service.rights_of(p.db, access.case, access.victim)
    item = rights.vrr(key) if right == r.VRR else rights.get(right)
    if item is None:
        return not_found(p)
    extra: dict[str, Any] = {}
    if right == r.SUPPORT:
        extra["visits"] = service.visit_requests(p.db, access.case, access.victim)
    return page(p, TEMPLATES[right], status_code=status_code, access=access, item=item,
                rights=rights, base=f"/cases/{access.public_id}/rights",
                here=href(access, item), sent=p.request.query_params.get("sent"),
                errors=context.pop("errors", {}), form=context.pop("form", {}),
                **COMMON, **extra, **context)


def _refused(p: Portal, access: portal_service.Access, right: str, key: str,
             exc: Exception, form: dict[str, str], **context: Any) -> Response:
    """A refused action: the page again with what went wrong, nothing changed. 400 when the
    form was filled in wrongly (its answers shown again with their errors), 409 when the
    right's or the case's state does not allow the action now."""
    p.db.rollback()
    if isinstance(exc, schemas.EntitlementError):
        status_code, errors = 400, exc.errors
    elif isinstance(exc, r.Unavailable):
        status_code, errors = 409, exc.errors
    else:
        assert isinstance(exc, r.InvalidTransition)
        status_code, errors = 409, {"state": NOT_NOW}
    return _show(p, access, right, key, status_code=status_code, errors=errors, form=form,
                 **context)


def _act(p: Portal, access: portal_service.Access, right: str, trigger: str,
         form: dict[str, str], key: str = "") -> Response:
    decision_key = ""
    if right == r.VRR:
        item = service.rights_of(p.db, access.case, access.victim).vrr(key)
        if item is None:
            return not_found(p)
        decision_key = item.key
    try:
        service.act(p.db, access.case, access.victim, right, trigger, form, key=decision_key,
                    actor=access.role)
    except REFUSALS as exc:
        return _refused(p, access, right, key, exc, form)
    assert p.row is not None
    portal_service.record_action(p.db, p.row, access, f"rights.{right}.{trigger}")
    return redirect(p, f"{_path(access, right, key)}?sent={trigger}")


# --- the list ---------------------------------------------------------------------------------

@router.get("/cases/{public_id}/rights")
def rights_page(public_id: str, p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    rights = service.rights_of(p.db, access.case, access.victim)
    items = [{"item": i, "href": href(access, i)} for i in rights.items]
    return page(p, "entitlements/rights.html", access=access, items=items, **COMMON)


# --- Victim Personal Statement -------------------------------------------------------------

@router.get("/cases/{public_id}/rights/personal-statement")
def vps_page(public_id: str, p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    rights = service.rights_of(p.db, access.case, access.victim)
    item = rights.get(r.VPS)
    if item is not None and item.state not in (r.NOT_YET, r.EXPIRED):
        service.record_vps_page_opened(p.db, access.victim)
    return _show(p, access, r.VPS, rights=rights)


@router.get("/cases/{public_id}/rights/personal-statement/write")
def vps_write(public_id: str, p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    return _show(p, access, r.VPS, writing=True)


@router.post("/cases/{public_id}/rights/personal-statement/write")
def vps_write_submit(public_id: str, p: Portal = Depends(portal)) -> Response:
    """Save the draft ("Save and come back later") or save it and preview it."""
    access = case_of(p, public_id)
    try:
        service.save_vps_draft(p.db, access.case, access.victim, p.form)
    except REFUSALS as exc:
        return _refused(p, access, r.VPS, "", exc, p.form, writing=True)
    base = f"/cases/{access.public_id}/rights/personal-statement"
    if p.form.get("action") == "preview":
        return redirect(p, f"{base}/preview")
    return redirect(p, f"{base}/write?saved=1")


@router.get("/cases/{public_id}/rights/personal-statement/preview")
def vps_preview(public_id: str, p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    return _show(p, access, r.VPS, previewing=True)


@router.post("/cases/{public_id}/rights/personal-statement/submit")
def vps_submit(public_id: str, p: Portal = Depends(portal)) -> Response:
    """Sends the saved draft (first time: request; afterwards: update)."""
    access = case_of(p, public_id)
    item = service.rights_of(p.db, access.case, access.victim).get(r.VPS)
    assert item is not None
    trigger = r.REQUEST if item.state == r.AVAILABLE else r.UPDATE
    form = {"statement": item.draft.get("statement", ""), "reading": item.draft.get("reading", "")}
    if p.form.get("help") == "1":
        form = {"help": "1", "note": p.form.get("note", "")}
    return _act(p, access, r.VPS, trigger, form)


# --- Victims' Right to Review ------------------------------------------------------------------

@router.get("/cases/{public_id}/rights/review/{token}")
def vrr_page(public_id: str, token: str, p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    return _show(p, access, r.VRR, token)


@router.post("/cases/{public_id}/rights/review/{token}")
def vrr_submit(public_id: str, token: str, p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    return _act(p, access, r.VRR, _victim_trigger(p.form), p.form, key=token)


# --- the other rights ----------------------------------------------------------------------------

@router.get("/cases/{public_id}/rights/{slug}")
def right_page(public_id: str, slug: str, p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    if slug not in RIGHT_OF_SLUG:
        return not_found(p)
    return _show(p, access, RIGHT_OF_SLUG[slug])


@router.post("/cases/{public_id}/rights/support/court-visit")
def court_visit(public_id: str, p: Portal = Depends(portal)) -> Response:
    access = case_of(p, public_id)
    try:
        service.request_pretrial_visit(p.db, access.case, access.victim)
    except REFUSALS as exc:
        return _refused(p, access, r.SUPPORT, "", exc, p.form)
    return redirect(p, f"/cases/{access.public_id}/rights/support?sent=visit")


@router.post("/cases/{public_id}/rights/{slug}")
async def right_submit(public_id: str, slug: str, p: Portal = Depends(portal)) -> Response:
    """The victim asks, updates, says no, or changes their mind (`action`)."""
    form = dict(p.form)
    # Checkboxes send one field per ticked box; the portal's form keeps one value per name.
    form["measures"] = ",".join(
        v for v in (await p.request.form()).getlist("measures") if isinstance(v, str))
    return await run_in_threadpool(_right_submit, public_id, slug, p, form)


def _right_submit(public_id: str, slug: str, p: Portal, form: dict[str, str]) -> Response:
    access = case_of(p, public_id)
    if slug not in RIGHT_OF_SLUG:
        return not_found(p)
    return _act(p, access, RIGHT_OF_SLUG[slug], _victim_trigger(form), form)
