"""The portal in headless Chromium against a real uvicorn server: the keyboard-only sign-in to
timeline journey with a code from the dev outbox, a new event appearing without a reload,
Welsh, Exit this page, axe-core on every page, no horizontal scroll at 320 px, no CSP
violations, everything working with JavaScript off. With TMC_SCREENSHOTS=1 the phone-width
screenshots in docs/screenshots/ are refreshed (off by default: their dates would churn)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.agencies import service as agencies
from app.core.config import Settings
from app.core.db import make_engine, make_sessionmaker
from tests.agency_client import AgencyClient
from tests.live_server import live_server
from tests.portal.helpers import ALEX, latest_code, open_case

pytestmark = pytest.mark.browser
playwright_sync = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TMC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE = ROOT / "tests/vendor/axe-core-4.14.1/axe.min.js"
SCREENSHOTS = ROOT / "docs/screenshots"
PHONE = {"width": 390, "height": 844}
REF = "01/40001/26"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture
def portal(tmp_path: Path, sqlite_template: Path) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    path = tmp_path / "tmc.sqlite3"
    shutil.copy(sqlite_template, path)
    settings = Settings(env="test", database_url=f"sqlite:///{path}",
                        secret_key="browser-test-secret-key-0123456789abcdef",
                        portal_poll_seconds=1)
    engine = make_engine(settings.database_url)
    with live_server(settings) as base_url, httpx.Client(base_url=base_url) as http:
        with make_sessionmaker(engine)() as db:
            _agency, secret = agencies.add_agency(db, settings.secret_key, "met-police",
                                                  "police", "Metropolitan Police Service")
        police = AgencyClient("met-police", "police", secret, http)
        yield {"url": base_url, "engine": engine, "police": police, "settings": settings}
    engine.dispose()


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE.read_text())
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           AXE_TAGS)
    return [{"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"]]


def check_page(page: Any, name: str, shots: bool = True) -> None:
    """axe finds nothing; nothing scrolls sideways at 320 px; optional phone screenshot."""
    violations = axe_violations(page)
    assert violations == [], f"{name}: {json.dumps(violations, indent=1)}"
    if shots and os.environ.get("TMC_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 640})
    overflow = page.evaluate("document.documentElement.scrollWidth - "
                             "document.documentElement.clientWidth")
    page.set_viewport_size(size)
    assert overflow <= 0, f"{name}: {overflow}px of horizontal scroll at 320px"


def tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Presses Tab until the element matching selector has focus (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
    raise AssertionError(f"could not reach {selector} with the keyboard")


def post_event(portal: dict[str, Any], event_type: str, data: dict[str, Any],
               occurred_at: str) -> None:
    portal["police"].send_ok(event_type, REF, data, occurred_at=occurred_at)


def test_keyboard_journey_live_timeline_welsh_and_exit(portal, browser):
    open_case(portal["police"], REF, [ALEX])
    post_event(portal, "officer.assigned", {"role": "oic", "name": "Priya Shah", "rank": "DC",
                                            "phone": "020 7946 0000",
                                            "working_pattern": "Mon-Fri 8am-4pm"},
               "2026-11-20T09:00:00Z")
    context = browser.new_context(viewport=PHONE, base_url=portal["url"])
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text)
            if "Content Security Policy" in m.text else None)

    page.goto("/sign-in")
    assert page.title() == "Sign in \u2013 Track My Crime"
    assert "govuk-frontend-supported" in page.evaluate("document.body.className")
    check_page(page, "sign-in")

    # Keyboard only, from the top of the page.
    tab_to(page, "#crime_reference")
    page.keyboard.type(REF)
    tab_to(page, "#dob-day")
    page.keyboard.type("17")
    page.keyboard.press("Tab")
    page.keyboard.type("5")
    page.keyboard.press("Tab")
    page.keyboard.type("1990")
    tab_to(page, "input[name=role]")
    page.keyboard.press("Space")
    tab_to(page, "input[name=channel]")
    page.keyboard.press("Space")
    tab_to(page, "button.govuk-button")
    page.keyboard.press("Enter")
    page.wait_for_url("**/sign-in/code")
    check_page(page, "code")

    tab_to(page, "#code")
    page.keyboard.type(latest_code(portal["engine"], "+447700900123"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/cases")
    assert page.title() == "Your cases \u2013 Track My Crime"
    check_page(page, "cases")

    tab_to(page, "a[href^='/cases/']:not([href='/cases'])")
    page.keyboard.press("Enter")
    page.wait_for_selector("#timeline")
    assert page.title() == "Your case \u2013 Track My Crime"
    assert "01/40001/26" not in page.url and "Burglary" not in page.url
    check_page(page, "case")

    # A new event appears without a reload.
    page.evaluate("window.__notReloaded = true")
    post_event(portal, "investigation.update", {"message": "We have spoken to a witness."},
               "2026-11-21T09:00:00Z")
    page.get_by_text("Update from the police: We have spoken to a witness.").wait_for(
        timeout=15000)
    assert page.evaluate("window.__notReloaded") is True
    assert page.locator(".moj-timeline__item").first.inner_text().count("witness") == 1

    # Welsh.
    page.get_by_role("button", name="Cymraeg").click()
    page.wait_for_selector("html[lang=cy]")
    assert page.title() == "Eich achos \u2013 Dilyn Fy Nhrosedd"
    assert page.get_by_text("Pwy sy'n delio â'ch achos").count() == 1
    check_page(page, "case-cy")

    # Exit this page: the GOV.UK keyboard shortcut (Shift three times) leaves and signs out.
    case_url = page.url
    with page.expect_response("**/exit") as left:
        page.keyboard.press("Shift")
        page.keyboard.press("Shift")
        page.keyboard.press("Shift")
    assert left.value.status == 303
    assert left.value.headers["location"] == "https://www.bbc.co.uk/weather"
    # Back to the case in a fresh tab of the same browser (same cookies): the old tab is
    # still failing its way to the weather page (no internet here), which would race us.
    after = context.new_page()
    after.goto(case_url)
    assert after.url.endswith("/sign-in")
    assert csp_errors == []
    context.close()


def test_other_pages_pass_axe(portal, browser):
    from tests.portal.helpers import case_ids, sign_in

    open_case(portal["police"], REF, [ALEX])
    context = browser.new_context(viewport=PHONE, base_url=portal["url"])
    page = context.new_page()
    with httpx.Client(base_url=portal["url"]) as http:
        listing = sign_in(http, portal["engine"], REF, "1990-05-17", "+447700900123")
        [public_id] = case_ids(listing.text)
        cookies = [{"name": c.name, "value": c.value, "url": portal["url"]}
                   for c in http.cookies.jar]
    context.add_cookies(cookies)
    page.goto(f"/cases/{public_id}")
    entry_href = None
    from sqlalchemy import select

    from app.cases.models import TimelineEntry
    from app.portal import service

    with make_sessionmaker(portal["engine"])() as db:
        entry_pk = db.scalars(select(TimelineEntry.id)).first()
    entry_href = f"/cases/{public_id}/updates/" + service.entry_public_id(
        portal["settings"].secret_key, entry_pk)
    page.goto(entry_href)
    check_page(page, "update")
    page.goto("/cases/notARealCase000000000")
    check_page(page, "not-found", shots=False)
    # Errors on the sign-in form.
    page.goto("/sign-in")
    page.get_by_role("button", name="Send me a code").click()
    page.wait_for_selector(".govuk-error-summary")
    check_page(page, "sign-in-errors", shots=False)
    page.goto("/cases")
    page.get_by_role("button", name="Sign out everywhere").click()
    page.wait_for_url("**/signed-out?everywhere=1")
    check_page(page, "signed-out", shots=False)
    context.close()


def test_everything_works_with_javascript_off(portal, browser):
    open_case(portal["police"], REF, [ALEX])
    context = browser.new_context(viewport=PHONE, base_url=portal["url"],
                                  java_script_enabled=False)
    page = context.new_page()
    page.goto("/sign-in")
    page.fill("#crime_reference", REF)
    page.fill("#dob-day", "17")
    page.fill("#dob-month", "5")
    page.fill("#dob-year", "1990")
    page.check("input[name=role][value=victim]")
    page.check("input[name=channel][value=sms]")
    page.get_by_role("button", name="Send me a code").click()
    page.wait_for_url("**/sign-in/code")
    page.fill("#code", latest_code(portal["engine"], "+447700900123"))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/cases")
    page.get_by_role("link", name="View case").click()
    page.wait_for_selector("#timeline")
    post_event(portal, "investigation.update", {"message": "Shown after a reload."},
               "2026-11-21T09:00:00Z")
    page.reload()
    assert page.get_by_text("Shown after a reload.").count() == 1
    page.get_by_role("button", name="Cymraeg").click()
    page.wait_for_selector("html[lang=cy]")
    with page.expect_response("**/exit") as left:
        page.locator(".govuk-exit-this-page__button").click(no_wait_after=True)
    assert left.value.headers["location"] == "https://www.bbc.co.uk/weather"
    context.close()
