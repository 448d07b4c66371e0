"""A victim on a phone-sized screen in headless Chromium sends a Victim Personal Statement and
a request for a review; the requests reach local agency endpoints (signatures verified with
standardwebhooks) and the agencies' replies appear on the right's page and, without a reload,
on the case timeline. axe-core checks every page; nothing scrolls sideways at 320 px."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.agencies import service as agencies
from app.core.db import make_sessionmaker
from app.outbound.service import Deliverer
from tests.agency_client import AgencyClient
from tests.entitlements.outbound_helpers import set_endpoint, start_clock
from tests.portal.helpers import ALEX, case_ids, open_case, sign_in
from tests.portal.test_portal_browser import PHONE, REF, browser, check_page, portal
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.browser
__all__ = ["browser", "portal"]  # fixtures


def add_cps(p: dict[str, Any]) -> AgencyClient:
    with make_sessionmaker(p["engine"])() as db:
        _agency, secret = agencies.add_agency(db, p["settings"].secret_key, "cps-london", "cps",
                                              "CPS London")
    return AgencyClient("cps-london", "cps", secret, p["police"].client)


def test_vps_and_vrr_on_a_phone(portal, browser):
    police = portal["police"]
    cps = add_cps(portal)
    open_case(police, REF, [ALEX])
    police.send_ok("case.agency_linked", REF, {"agency_id": "cps-london"},
                   occurred_at="2026-11-19T19:05:00Z")
    cps.send_ok("charging.decision", REF, {"decision": "charge", "charges": ["Burglary",
                                                                          "Assault"]},
                occurred_at="2026-11-20T10:00:00Z")
    cps.send_ok("charges.altered", REF, {"charges": ["Burglary"], "vrr_eligible": True,
                                         "explanation": "Not enough evidence of assault."},
                occurred_at="2026-11-21T10:00:00Z")
    with Receiver(police.secret) as to_police, Receiver(cps.secret) as to_cps:
        set_endpoint(portal["engine"], "met-police", to_police.url)
        set_endpoint(portal["engine"], "cps-london", to_cps.url)
        journey(portal, browser, police, cps, to_police, to_cps)


def journey(portal, browser, police, cps, to_police, to_cps) -> None:
    context = browser.new_context(viewport=PHONE, base_url=portal["url"])
    with httpx.Client(base_url=portal["url"]) as http:
        [public_id] = case_ids(sign_in(http, portal["engine"], REF, "1990-05-17",
                                       "+447700900123").text)
        context.add_cookies([{"name": c.name, "value": c.value, "url": portal["url"]}
                             for c in http.cookies.jar])
    page = context.new_page()

    page.goto(f"/cases/{public_id}")
    page.get_by_role("link", name="See all your rights and how to use them").click()
    page.wait_for_url("**/rights")
    assert page.title() == "Your rights \u2013 Track My Crime"
    check_page(page, "rights", shots=False)

    # Victim Personal Statement: write, preview, send.
    page.get_by_role("link", name="Victim Personal Statement").click()
    check_page(page, "vps", shots=False)
    page.get_by_role("button", name="Write your statement").click()
    page.get_by_label("Your statement").fill("Since the burglary I do not feel safe at home.")
    page.get_by_label("I want to read it out in court myself").check()
    check_page(page, "vps-write", shots=False)
    page.get_by_role("button", name="Save and preview").click()
    page.wait_for_url("**/preview")
    check_page(page, "vps-preview", shots=False)
    page.get_by_role("button", name="Send my statement").click()
    page.get_by_text("Your statement has been sent").wait_for()
    check_page(page, "vps-sent", shots=False)

    # Victims' Right to Review of the altered charges.
    page.goto(f"/cases/{public_id}/rights")
    page.get_by_role("link", name="Ask for a review of a decision not to prosecute").click()
    assert "days left" in page.inner_text("main")
    page.get_by_role("button", name="Send my request to the Crown Prosecution Service").click()
    assert page.locator(".govuk-error-summary").is_visible()  # reasons are required
    page.get_by_label("Why do you want the decision reviewed?").fill(
        "The assault was seen by a neighbour.")
    page.get_by_role("button", name="Send my request to the Crown Prosecution Service").click()
    page.get_by_text("Your request for a review has been sent").wait_for()
    check_page(page, "vrr-sent", shots=False)
    review_url = page.url.split("?")[0]

    Deliverer(portal["settings"], clock=start_clock())(make_sessionmaker(portal["engine"]))
    [vps] = [d.body["data"] for d in to_police.received if d.verified]
    [vrr] = [d.body["data"] for d in to_cps.received if d.verified]
    assert vps["kind"] == "vps" and vps["details"]["reading"] == "read_myself"
    assert vrr["kind"] == "vrr"

    # The agencies reply; the case timeline shows it without a reload.
    page.goto(f"/cases/{public_id}")
    page.evaluate("window.__notReloaded = true")
    cps.send_ok("request.acknowledged", REF, {"request_id": vrr["request_id"]})
    page.get_by_text("The Crown Prosecution Service has received your request for a review of "
                     "the decision and is looking at it.").wait_for(timeout=15000)
    assert page.evaluate("window.__notReloaded") is True
    police.send_ok("request.acknowledged", REF, {"request_id": vps["request_id"]})
    cps.send_ok("request.completed", REF, {"request_id": vrr["request_id"],
                                           "decision": "upheld",
                                           "explanation": "The assault charge is restored."})
    page.goto(review_url)
    assert "The result: upheld." in page.inner_text("#outcome")
    assert "The assault charge is restored." in page.inner_text("#outcome")
    check_page(page, "vrr-done", shots=False)
    page.goto(f"/cases/{public_id}/rights/personal-statement")
    assert "Received by the agency" in page.inner_text("main")
    assert "Metropolitan Police Service confirmed they have received it." in page.inner_text(
        "#progress")
    context.close()
