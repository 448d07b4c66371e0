"""The oversight dashboard in headless Chromium, on a phone and on a laptop: the demo cases'
figures, each chart beside its data table, axe finds nothing, nothing scrolls sideways at
320 px, and no personal data of the demo victims appears."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.db import make_sessionmaker
from app.demo import load_demo
from app.oversight import service
from tests.portal.test_portal_browser import PHONE, check_page

# The live server and Chromium fixtures of the portal tests.
from tests.portal.test_portal_browser import browser as browser
from tests.portal.test_portal_browser import portal as portal

pytestmark = pytest.mark.browser
LAPTOP = {"width": 1280, "height": 800}


def _signed_in_as_oversight(browser: Any, portal: dict[str, Any], viewport: dict,
                            roles: tuple[str, ...] = ("oversight",)) -> Any:
    page = browser.new_context(viewport=viewport, base_url=portal["url"]).new_page()
    page.goto("/staff/dev-sign-in")
    page.fill("#email", "analyst@commissioner.example.com")
    page.fill("#name", "Ola Oversight")
    for role in roles:
        page.get_by_label(role, exact=True).check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staff")
    return page


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_the_dashboard_reads_on_a_phone_and_a_laptop(portal, browser, viewport):
    with make_sessionmaker(portal["engine"])() as session:
        load_demo(session, portal["settings"])
        service.refresh(session, full=True)
        session.commit()
    page = _signed_in_as_oversight(browser, portal, viewport)
    page.goto("/staff/oversight")
    assert "Figures as at" in page.inner_text("#figures-as-at")
    sections = page.locator("main section")
    assert sections.count() >= 6
    with_data = [sections.nth(i) for i in range(sections.count())
                 if sections.nth(i).locator("table").count()]
    assert len(with_data) >= 4
    for section in with_data:
        assert section.locator("svg, .tmc-bars").count() >= 1, "a chart beside each table"
        assert section.locator("a[download]").count() == 1
    text = page.inner_text("main")
    for personal in ("Testperson", "Example", "@example.com", "+447700"):
        assert personal not in text
    check_page(page, f"oversight-{viewport['width']}", shots=False)


def test_the_staff_console_pages_pass_axe_on_a_phone(portal, browser):
    with make_sessionmaker(portal["engine"])() as session:
        load_demo(session, portal["settings"])
        session.commit()
    page = _signed_in_as_oversight(browser, portal, PHONE, roles=("hub", "admin"))
    for path in ("/staff", "/staff/hub", "/staff/cases", "/staff/escalations",
                 "/staff/agencies", "/staff/audit"):
        page.goto(path)
        assert page.locator("h1").count() == 1, path
        check_page(page, f"staff{path.replace('/', '-')}", shots=False)
    page.goto("/staff/cases")
    page.locator("main table a").first.click()
    page.wait_for_selector("h1")
    check_page(page, "staff-case", shots=False)
