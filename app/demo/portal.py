"""The victim's side of the demo: what a victim does in the portal, done through the domain
services the portal's pages call (app/entitlements, app/contact), at the journey's moment.

Each action returns the request_id of the victim request it made (None if it made none), so
that later agency steps can reply to it (`Requested` in app/demo/cases.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from app.cases.models import Case, Victim
from app.contact import repository as contact_repository
from app.contact import service as contact
from app.demo.cases import Portal
from app.entitlements import rights as r
from app.entitlements import service as entitlements
from app.entitlements.models import Entitlement
from app.outbound import repository as outbound_repository


class PortalStepError(ValueError):
    """The journey asks for something the victim could not do at that point."""


def _request_id(session: Session, row: Entitlement) -> str:
    request = outbound_repository.get_request(session, row.request_pk) if row.request_pk else None
    if request is None:
        raise PortalStepError("the right sent no request (no agency to send it to)")
    return request.request_id


def _vps(session: Session, case: Case, victim: Victim, step: Portal, at: datetime,
         _requests: Mapping[str, str]) -> str:
    """The personal-statement pages: open, write and save the draft, then send it."""
    entitlements.record_vps_page_opened(session, victim, at)
    entitlements.save_vps_draft(session, case, victim, step.form, at)
    row = entitlements.act(session, case, victim, r.VPS, r.REQUEST, step.form,
                           actor=step.author, now=at)
    return _request_id(session, row)


def _vrr(session: Session, case: Case, victim: Victim, step: Portal, at: datetime,
         _requests: Mapping[str, str]) -> str:
    """The review page of the one decision the victim may ask to have reviewed."""
    rights = entitlements.rights_of(session, case, victim, at)
    reviewable = [i for i in rights.items if i.right == r.VRR and i.state == r.AVAILABLE]
    if len(reviewable) != 1:
        raise PortalStepError(f"{len(reviewable)} decisions are open to review, not one")
    row = entitlements.act(session, case, victim, r.VRR, r.REQUEST, step.form,
                           key=reviewable[0].key, actor=step.author, now=at)
    return _request_id(session, row)


def _message(session: Session, case: Case, victim: Victim, step: Portal, at: datetime,
             _requests: Mapping[str, str]) -> str | None:
    return contact.send_message(session, case, victim, step.author, step.form, now=at).request_id


def _escalate(session: Session, case: Case, victim: Victim, step: Portal, at: datetime,
              _requests: Mapping[str, str]) -> str | None:
    return contact.escalate(session, case, victim, step.author, step.form, now=at).request_id


def _feedback(session: Session, _case: Case, _victim: Victim, step: Portal, at: datetime,
              requests: Mapping[str, str]) -> None:
    """"Was this resolved?" on an escalation an agency has resolved."""
    escalation = contact_repository.escalation_by_request_id(session, requests[step.about])
    if escalation is None:
        raise PortalStepError(f"{step.about!r} is not an escalation")
    contact.record_feedback(session, escalation, step.form.get("answer", ""), now=at)
    return None


Action = Callable[[Session, Case, Victim, Portal, datetime, Mapping[str, str]], str | None]
ACTIONS: dict[str, Action] = {"vps": _vps, "vrr": _vrr, "message": _message,
                              "escalate": _escalate, "feedback": _feedback}


def perform(session: Session, case: Case, victim: Victim, step: Portal, at: datetime,
            requests: Mapping[str, str]) -> str | None:
    """Does the step as the victim; each service commits. Raises the service's own error
    (EntitlementError, InvalidTransition, Unavailable, ContactError) or PortalStepError when
    refused."""
    if step.action not in ACTIONS:
        raise PortalStepError(f"unknown portal action {step.action!r}")
    return ACTIONS[step.action](session, case, victim, step, at, requests)
