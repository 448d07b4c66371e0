"""Every rights form answers a refusal the same way: 400 when the victim filled the form in
wrongly (the answers shown again with what is wrong), 409 when the right's or the case's state
does not allow the action now. Either way nothing is written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.entitlements.models import Entitlement
from app.outbound.models import AgencyRequest
from tests.entitlements.outbound_helpers import fresh
from tests.portal.helpers import ALEX, case_ids, csrf_of, open_case, sign_in

REF = "01/30002/26"


@pytest.fixture(autouse=True)
def case(police):
    open_case(police, REF, [ALEX], offence_group="violence")


def _signed_in(client, engine) -> str:
    return case_ids(sign_in(client, engine, REF, "1990-05-17", "+447700900123").text)[0]


def _post(client, page_url: str, data: dict, action: str | None = None):
    page = client.get(page_url)
    return client.post(action or page_url, data={"csrf_token": csrf_of(page.text), **data},
                       follow_redirects=False)


def _written(engine) -> tuple[int, int]:
    with fresh(engine) as session:
        return (session.scalar(select(func.count()).select_from(Entitlement)),
                session.scalar(select(func.count()).select_from(AgencyRequest)))


def _charged(registry, police):
    cps = registry.add("cps-london", "cps", "CPS London")
    police.send_ok("case.agency_linked", REF, {"agency_id": "cps-london"},
                   occurred_at="2026-11-19T19:05:00Z")
    cps.send_ok("charging.decision", REF, {"decision": "charge", "charges": ["Assault"]},
                occurred_at="2026-11-20T10:00:00Z")
    return cps


def test_vps_draft_filled_in_wrongly_is_400_and_shows_the_answers_again(
        client, engine, registry, police):
    _charged(registry, police)
    base = f"/cases/{_signed_in(client, engine)}/rights/personal-statement"
    response = _post(client, f"{base}/write", {"action": "save", "statement": "I cannot sleep.",
                                                "reading": "sing_it"})
    assert response.status_code == 400
    assert "Choose how your statement should be used in court" in response.text
    assert "I cannot sleep." in response.text  # the victim's words are not lost
    assert _written(engine) == (0, 0)


def test_vps_draft_before_a_vps_can_be_made_is_409(client, engine, police):
    base = f"/cases/{_signed_in(client, engine)}/rights/personal-statement"
    response = _post(client, f"{base}/write", {"action": "save", "statement": "x",
                                                "reading": ""})
    assert response.status_code == 409
    assert "You cannot do that now" in response.text
    assert "<textarea" in response.text  # still the writing page, the draft shown again
    assert _written(engine) == (0, 0)


def test_a_court_visit_before_charge_is_409(client, engine, police):
    page = f"/cases/{_signed_in(client, engine)}/rights/support"
    response = _post(client, page, {}, action=f"{page}/court-visit")
    assert response.status_code == 409
    assert "A court visit can be arranged once the suspect has been charged" in response.text
    assert _written(engine) == (0, 0)


def test_a_court_visit_with_no_witness_care_unit_on_the_case_is_409(
        client, engine, registry, police):
    _charged(registry, police)
    page = f"/cases/{_signed_in(client, engine)}/rights/support"
    response = _post(client, page, {}, action=f"{page}/court-visit")
    assert response.status_code == 409
    assert "The Witness Care Unit is not working on your case yet" in response.text
    assert _written(engine) == (0, 0)


def test_a_right_with_nobody_to_send_it_to_is_409_but_a_wrong_form_is_400_first(
        client, engine, registry, police):
    """After a qualifying sentence the Victim Contact Scheme is open, but no probation service
    is linked to the case yet: the form is right, the moment is not."""
    court = registry.add("hmcts-snaresbrook", "court", "Snaresbrook Crown Court")
    _charged(registry, police).send_ok("case.agency_linked", REF,
                                       {"agency_id": "hmcts-snaresbrook"},
                                       occurred_at="2026-11-20T10:05:00Z")
    court.send_ok("sentence.passed", REF, {"sentence": "Two years' imprisonment",
                                           "custody_months": 24},
                  occurred_at="2026-11-25T15:00:00Z")
    page = f"/cases/{_signed_in(client, engine)}/rights/victim-contact-scheme"
    wrong = _post(client, page, {"action": "request", "contact_level": ""})
    assert wrong.status_code == 400
    assert "Choose how much you want to hear" in wrong.text
    not_now = _post(client, page, {"action": "request", "contact_level": "yearly"})
    assert not_now.status_code == 409
    assert "The organisation that deals with this is not working on your case yet" in \
        not_now.text
    assert _written(engine) == (0, 0)
