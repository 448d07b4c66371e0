"""The "Your rights" pages end to end: a victim signed in through the portal uses VRR and the
VPS; the request goes out as a signed webhook (a local receiver verifies it); the agency's
replies come back as agency events and move the right, its progress and the timeline; deadlines
are tracked as obligations. Bad input and invalid moves change nothing."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import func, select

from app.core.db import make_sessionmaker
from app.entitlements.models import Entitlement, EntitlementTransition
from app.obligations.models import Obligation
from app.outbound.models import AgencyRequest
from tests.agency_client import recent
from tests.entitlements.outbound_helpers import fresh, set_endpoint, start_clock
from tests.portal.helpers import case_ids, csrf_of, sign_in
from tests.webhook_receiver import Receiver

REF = "01/30001/26"
REVIEW_LINK = re.compile(r'href="(/cases/[^"]+/rights/review/[0-9a-f]{16})"')


def signed_in_case(client, engine) -> str:
    cases = sign_in(client, engine, REF, "1990-05-17", "+447700900123")
    return case_ids(cases.text)[0]


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def count(engine, model) -> int:
    with fresh(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def deliver(engine, settings) -> None:
    from app.outbound.service import Deliverer

    Deliverer(settings, clock=start_clock())(make_sessionmaker(engine))


def post(client, url: str, data: dict) -> object:
    page = client.get(url)
    return client.post(url, data={"csrf_token": csrf_of(page.text), **data},
                       follow_redirects=False)


def test_vrr_from_cps_decision_to_outcome(client, engine, settings, cast):
    cast["cps"].send_ok("charging.decision", REF, {
        "decision": "no_further_action", "explanation": "Not enough evidence.",
        "vrr_eligible": True}, occurred_at="2026-11-20T10:00:00Z")
    public_id = signed_in_case(client, engine)
    rights = client.get(f"/cases/{public_id}/rights")
    assert "Ask for a review of a decision not to prosecute" in rights.text
    url = REVIEW_LINK.search(rights.text).group(1)
    page = client.get(url)
    assert "Requests are still accepted until" in text(page.text) or "days left" in page.text

    # bad input: nothing written
    response = post(client, url, {"action": "request", "reasons": "  "})
    assert response.status_code == 400
    assert "Tell us why you want the decision reviewed" in response.text
    assert count(engine, AgencyRequest) == 0

    with Receiver(cast["cps"].secret) as receiver:
        set_endpoint(engine, "cps-london", receiver.url)
        response = post(client, url, {"action": "request", "reasons": "They did not ask me."})
        assert response.status_code == 303
        assert "Your request for a review has been sent" in client.get(
            response.headers["location"]).text
        deliver(engine, settings)
    [delivery] = receiver.received
    assert delivery.verified and delivery.body["data"]["kind"] == "vrr"
    assert delivery.body["data"]["details"]["reasons"] == "They did not ask me."
    request_id = delivery.body["data"]["request_id"]
    with fresh(engine) as session:
        rows = [(o.rule_id, o.status) for o in session.scalars(select(Obligation))]
    assert ("vrr-cps-done", "open") in rows
    # Alex's window is used; Sam (the other victim) may still ask
    assert sorted(s for rule_id, s in rows if rule_id == "vrr-cps-window") == ["met", "open"]

    # asking twice is refused, nothing changes
    response = post(client, url, {"action": "request", "reasons": "Again"})
    assert response.status_code == 409
    assert count(engine, AgencyRequest) == 1

    cast["cps"].send_ok("request.acknowledged", REF, {"request_id": request_id})
    assert "Received by the agency" in client.get(url).text
    cast["cps"].send_ok("request.completed", REF, {
        "request_id": request_id, "decision": "upheld",
        "explanation": "A prosecutor reviewed the case and it will now go ahead."})
    page = text(client.get(url).text)
    assert "Done" in page and "The result: upheld." in page
    assert "it will now go ahead" in page
    timeline = text(client.get(f"/cases/{public_id}").text)
    assert ("The Crown Prosecution Service has received your request for a review of the "
            "decision and is looking at it.") in timeline
    with fresh(engine) as session:
        done = session.scalars(select(Obligation).where(Obligation.rule_id == "vrr-cps-done")
                               ).one()
        assert done.status == "met"
        moves = [(m.trigger, m.actor) for m in session.scalars(
            select(EntitlementTransition).order_by(EntitlementTransition.id))]
    assert moves == [("request", "victim"), ("acknowledged", "agency"),
                     ("completed", "agency")]


def test_police_vrr_tracks_acknowledgement_deadline(client, engine, cast):
    cast["police"].send_ok("investigation.closed", REF, {
        "outcome": "no_further_action", "vrr_eligible": True},
        occurred_at="2026-11-20T10:00:00Z")
    public_id = signed_in_case(client, engine)
    url = REVIEW_LINK.search(client.get(f"/cases/{public_id}/rights").text).group(1)
    assert "the police" in client.get(url).text
    response = post(client, url, {"action": "request", "reasons": "I have new evidence."})
    assert response.status_code == 303
    with fresh(engine) as session:
        request = session.scalars(select(AgencyRequest)).one()
        assert request.kind == "vrr"
        opened = {o.rule_id for o in session.scalars(select(Obligation)
                                                      .where(Obligation.origin == "portal"))}
    assert opened == {"vrr-police-ack", "vrr-police-done"}
    cast["police"].send_ok("request.acknowledged", REF, {"request_id": request.request_id})
    with fresh(engine) as session:
        ack = session.scalars(select(Obligation)
                              .where(Obligation.rule_id == "vrr-police-ack")).one()
    assert ack.status == "met"


def test_vps_draft_preview_submit_and_update(client, engine, cast):
    cast["cps"].send_ok("charging.decision", REF, {"decision": "charge",
                                                   "charges": ["Burglary"]},
                        occurred_at="2026-11-20T10:00:00Z")
    public_id = signed_in_case(client, engine)
    base = f"/cases/{public_id}/rights/personal-statement"
    assert "Write your statement" in client.get(base).text
    with fresh(engine) as session:  # opening the page meets Alex's vps-offer (not Sam's)
        offers = session.scalars(select(Obligation).where(Obligation.rule_id == "vps-offer"))
        assert sorted(o.met_at is not None for o in offers) == [False, True]

    # a draft is kept; nothing goes to any agency
    response = post(client, f"{base}/write", {"action": "save",
                                               "statement": "I cannot sleep.", "reading": ""})
    assert response.status_code == 303
    assert "I cannot sleep." in client.get(f"{base}/write").text
    assert count(engine, AgencyRequest) == 0

    response = post(client, f"{base}/write", {"action": "preview",
                                               "statement": "I cannot sleep since the burglary.",
                                               "reading": "read_myself"})
    assert response.headers["location"] == f"{base}/preview"
    preview = client.get(f"{base}/preview")
    assert "Check your statement before you send it" in preview.text
    response = client.post(f"{base}/submit", data={"csrf_token": csrf_of(preview.text)},
                           follow_redirects=False)
    assert response.status_code == 303
    assert "Your statement has been sent" in client.get(response.headers["location"]).text
    with fresh(engine) as session:
        request = session.scalars(select(AgencyRequest)).one()
    assert request.details == {"statement": "I cannot sleep since the burglary.",
                               "reading": "read_myself"}

    # an update goes as a new request; a reply to the old one no longer moves the right
    post(client, f"{base}/write", {"action": "preview", "statement": "Updated.",
                                   "reading": "not_read"})
    preview = client.get(f"{base}/preview")
    client.post(f"{base}/submit", data={"csrf_token": csrf_of(preview.text)})
    cast["police"].send_ok("request.acknowledged", REF, {"request_id": request.request_id})
    with fresh(engine) as session:
        right = session.scalars(select(Entitlement).where(Entitlement.right == "vps")).one()
        assert right.state == "requested"
        assert session.scalar(select(func.count()).select_from(AgencyRequest)) == 2


def test_a_nul_character_in_a_form_is_dropped_not_a_database_error(client, engine, cast):
    """No browser types one, and PostgreSQL stores none: a draft statement holding one was a
    503 "try again" page on PostgreSQL (and stored as typed on SQLite)."""
    cast["cps"].send_ok("charging.decision", REF, {"decision": "charge",
                                                   "charges": ["Burglary"]},
                        occurred_at="2026-11-20T10:00:00Z")
    base = f"/cases/{signed_in_case(client, engine)}/rights/personal-statement"
    client.get(base)
    response = post(client, f"{base}/write", {"action": "save", "reading": "",
                                               "statement": "I cannot\x00 sleep."})
    assert response.status_code == 303
    with fresh(engine) as session:
        right = session.scalars(select(Entitlement).where(Entitlement.right == "vps")).one()
        assert right.draft["statement"] == "I cannot sleep."


def test_vps_not_available_before_charge_refuses_and_changes_nothing(client, engine, cast):
    public_id = signed_in_case(client, engine)
    base = f"/cases/{public_id}/rights/personal-statement"
    assert "Not yet available" in client.get(base).text
    response = post(client, f"{base}/write", {"action": "save", "statement": "x",
                                               "reading": ""})
    assert response.status_code == 409  # the right's state, not the form: a conflict
    assert "You cannot do that now" in response.text
    assert count(engine, Entitlement) == 0


def test_another_victims_rights_are_not_reachable(client, engine, cast):
    public_id = signed_in_case(client, engine)
    assert client.get(f"/cases/{public_id}/rights").status_code == 200
    assert client.get("/cases/not-a-case/rights").status_code == 404
    assert client.get(f"/cases/{public_id}/rights/nothing-here").status_code == 404
    assert client.get(f"/cases/{public_id}/rights/review/0123456789abcdef").status_code == 404


def test_case_page_links_to_rights(client, engine, cast):
    public_id = signed_in_case(client, engine)
    page = client.get(f"/cases/{public_id}")
    assert f'href="/cases/{public_id}/rights"' in page.text
    assert "Support for you" in page.text


def test_measures_rj_vcs_and_support(client, engine, registry, recent_cast):
    # Opened an hour ago: the support referral is still due when the victim declines it (a
    # decline after the deadline leaves the breach standing).
    cast = recent_cast
    wcu = registry.add("wcu-london-north", "witness_care", "Witness Care Unit London North")
    cast["police"].send_ok("case.agency_linked", REF, {"agency_id": "wcu-london-north"},
                           occurred_at=recent(54))
    cast["cps"].send_ok("charging.decision", REF, {"decision": "charge"},
                        occurred_at=recent(50))
    public_id = signed_in_case(client, engine)
    base = f"/cases/{public_id}/rights"

    page = client.get(f"{base}/special-measures")
    response = client.post(f"{base}/special-measures", data={
        "csrf_token": csrf_of(page.text), "action": "request",
        "measures": ["screens", "live_link"], "reasons": "I am scared of him."},
        follow_redirects=False)
    assert response.status_code == 303
    wcu.send_ok("special_measures.decided", REF, {"victim_ref": "V1", "granted": ["screens"],
                                                  "refused": ["live_link"]})
    shown = text(client.get(f"{base}/special-measures").text)
    assert "Agreed screens, so you do not see the defendant" in shown and "Done" in shown

    assert post(client, f"{base}/restorative-justice",
                {"action": "request", "note": ""}).status_code == 303
    # the Victim Contact Scheme applies only after a qualifying sentence
    assert post(client, f"{base}/victim-contact-scheme",
                {"action": "request", "contact_level": "yearly"}).status_code == 409
    refused = post(client, f"{base}/support", {"action": "request", "consent": "no"})
    assert refused.status_code == 400 and "Say that you agree" in refused.text
    assert post(client, f"{base}/support", {"action": "decline"}).status_code == 303
    with fresh(engine) as session:
        kinds = sorted((q.kind, q.details.get("measures")) for q in
                       session.scalars(select(AgencyRequest)))
        referral = session.scalars(select(Obligation).where(
            Obligation.rule_id == "support-referral", Obligation.status == "cancelled")).all()
    assert kinds == [("rj_interest", None), ("special_measures", ["screens", "live_link"])]
    assert len(referral) == 1
