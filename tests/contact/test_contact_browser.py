"""In headless Chromium against a real server: a victim escalates "I can't reach my officer",
the Victim Care Hub (dev staff sign-in) sees it and resolves it with a note, the victim reads
the resolution and answers "Was this resolved?" in one tap. axe-core on the victim's pages, no
sideways scroll at 320 px, no CSP violations; "I feel unsafe" shows 999 guidance first."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.portal.helpers import ALEX, case_ids, open_case, sign_in
from tests.portal.test_portal_browser import PHONE, REF, check_page

# The live server and Chromium fixtures of the portal tests.
from tests.portal.test_portal_browser import browser as browser
from tests.portal.test_portal_browser import portal as portal

pytestmark = pytest.mark.browser

NOTE = "We spoke to DC Priya Shah. She will call you on Monday morning."


def _victim_context(browser: Any, portal: dict[str, Any]) -> Any:
    """A browser signed in as the victim (the code comes from the dev outbox)."""
    context = browser.new_context(viewport=PHONE, base_url=portal["url"])
    with httpx.Client(base_url=portal["url"]) as http:
        listing = sign_in(http, portal["engine"], REF, "1990-05-17", "+447700900123")
        [public_id] = case_ids(listing.text)
        context.add_cookies([{"name": c.name, "value": c.value, "url": portal["url"]}
                             for c in http.cookies.jar])
    context.public_id = public_id
    return context


def _watch_csp(page: Any, errors: list[str]) -> None:
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text else None)


def test_a_victim_escalates_and_the_hub_resolves_it(portal, browser):
    open_case(portal["police"], REF, [ALEX])
    portal["police"].send_ok("officer.assigned", REF, {
        "role": "oic", "name": "Priya Shah", "rank": "DC", "email": "priya.shah@example.com"},
        occurred_at="2026-11-20T09:00:00Z")
    csp: list[str] = []
    victim = _victim_context(browser, portal)
    page = victim.new_page()
    _watch_csp(page, csp)

    # A message first: the textarea counts characters, the thread shows who has it.
    page.goto(f"/cases/{victim.public_id}")
    page.get_by_role("link", name="Send a message to your officer").click()
    page.wait_for_selector("#body")
    page.fill("#body", "Is there any news?")
    assert "characters remaining" in page.inner_text(".govuk-character-count__status")
    check_page(page, "contact-messages")
    page.get_by_role("button", name="Send message").click()
    page.wait_for_selector(".govuk-notification-banner--success")
    assert "Is there any news?" in page.inner_text(".tmc-contact-thread")
    assert "DC Priya Shah should reply by" in page.inner_text("main")
    check_page(page, "contact-message-sent")

    page.goto(f"/cases/{victim.public_id}")
    assert "Your message is with DC Priya Shah" in page.inner_text("#contact ~ p")
    page.get_by_role("button", name="Get help").click()
    page.wait_for_url("**/escalate")
    assert page.title() == "Get help with your case \u2013 Track My Crime"
    check_page(page, "contact-escalate")
    page.get_by_label("I can't reach my officer").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector(".govuk-panel")
    assert "We have sent this on" in page.inner_text(".govuk-panel")
    assert REF not in page.url
    check_page(page, "contact-escalated")
    escalation_url = page.url.split("?")[0]

    # The Hub signs in (dev sign-in), finds it first in the queue and resolves it.
    hub = browser.new_context(viewport={"width": 1024, "height": 800}, base_url=portal["url"])
    staff = hub.new_page()
    _watch_csp(staff, csp)
    staff.goto("/staff/dev-sign-in")
    staff.fill("#email", "hub.worker@example.com")
    staff.fill("#name", "Hana Hubworker")
    staff.get_by_label("hub", exact=True).check()
    staff.get_by_role("button", name="Sign in").click()
    staff.wait_for_url("**/staff")
    staff.goto("/staff/escalations")
    first = staff.locator("tbody tr").first
    assert "I can't reach my officer" in first.inner_text()
    first.get_by_role("link", name=REF).click()
    staff.wait_for_selector("#note")
    staff.fill("#note", NOTE)
    staff.get_by_role("button", name="Resolve").click()
    staff.wait_for_selector(".govuk-notification-banner--success")
    staff.goto("/staff/escalations")
    assert "Nothing waiting." in staff.inner_text("main")
    hub.close()

    # The victim reads what was done and answers in one tap.
    page.goto(escalation_url)
    assert NOTE in page.inner_text("#resolution")
    assert "Dealt with by Hana Hubworker." in page.inner_text("main")
    check_page(page, "contact-resolved")
    page.get_by_role("button", name="Yes").click()
    page.wait_for_selector(".govuk-notification-banner--success")
    assert "You told us: Yes" in page.inner_text("main")
    assert csp == []
    victim.close()


def test_i_feel_unsafe_shows_999_guidance_first_without_javascript(portal, browser):
    open_case(portal["police"], REF, [ALEX])
    victim = browser.new_context(viewport=PHONE, base_url=portal["url"],
                                 java_script_enabled=False)
    with httpx.Client(base_url=portal["url"]) as http:
        listing = sign_in(http, portal["engine"], REF, "1990-05-17", "+447700900123")
        [public_id] = case_ids(listing.text)
        victim.add_cookies([{"name": c.name, "value": c.value, "url": portal["url"]}
                            for c in http.cookies.jar])
    page = victim.new_page()
    page.goto(f"/cases/{public_id}/escalate")
    page.get_by_label("I feel unsafe").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector(".govuk-warning-text")
    assert "call 999" in page.inner_text(".govuk-warning-text")
    page.get_by_role("button", name="Send to the Victim Care Hub now").click()
    page.wait_for_selector(".govuk-panel")
    assert "The Victim Care Hub will deal with it by" in page.inner_text(".govuk-panel")
    victim.close()
