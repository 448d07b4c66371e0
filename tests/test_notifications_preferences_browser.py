"""The preferences page in headless Chromium on a phone-sized screen: a victim changes every
choice and saves, then makes a mistake and is shown it; axe-core finds nothing and nothing
scrolls sideways at 320 px."""

from __future__ import annotations

import httpx
import pytest

from app.notifications.models import NotificationPreference
from tests.notify_helpers import rows
from tests.portal.helpers import ALEX, open_case, sign_in
from tests.portal.test_portal_browser import (  # noqa: F401 - fixtures
    PHONE,
    browser,
    check_page,
    portal,
)

pytestmark = pytest.mark.browser
REF = "01/40011/26"


def test_changing_preferences_on_a_phone(portal, browser):  # noqa: F811
    open_case(portal["police"], REF, [ALEX])
    with httpx.Client(base_url=portal["url"]) as http:
        sign_in(http, portal["engine"], REF, "1990-05-17", "+447700900123")
        cookies = [{"name": c.name, "value": c.value, "url": portal["url"]}
                   for c in http.cookies.jar]
    context = browser.new_context(viewport=PHONE, base_url=portal["url"], has_touch=True)
    context.add_cookies(cookies)
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text)
            if "Content Security Policy" in m.text else None)

    page.goto("/preferences")
    assert page.title() == "How we contact you \u2013 Track My Crime"
    check_page(page, "preferences", shots=False)
    page.get_by_label("Text message").uncheck()
    page.get_by_label("Cymraeg").check()
    page.get_by_label("Only say that there is an update").check()
    page.get_by_label("From").fill("22:00")
    page.get_by_label("To", exact=True).fill("7:00")
    page.get_by_label("Every 14 days").check()
    page.get_by_role("button", name="Save").tap()
    page.wait_for_url("**/preferences?saved=1")
    assert page.get_by_text("Your choices have been saved.").is_visible()
    [pref] = rows(portal["engine"], NotificationPreference)
    assert (pref.sms, pref.email, pref.language, pref.discreet) == (False, True, "cy", True)
    assert (pref.quiet_from, pref.quiet_to, pref.update_interval_days) == ("22:00", "07:00", 14)
    # The page shows what was saved.
    assert page.get_by_label("Text message").is_checked() is False
    assert page.get_by_label("Every 14 days").is_checked()
    assert page.get_by_label("To", exact=True).input_value() == "07:00"

    # A mistake: explained at the top and at the field, what was typed kept, nothing saved.
    page.get_by_label("From").fill("25:00")
    page.get_by_label("Every 28 days").check()
    page.get_by_role("button", name="Save").tap()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert page.title().startswith("Error: How we contact you")
    assert "Enter quiet hours as times on the 24-hour clock" in summary.inner_text()
    assert page.get_by_label("From").input_value() == "25:00"
    check_page(page, "preferences-error", shots=False)
    summary.get_by_role("link").tap()
    assert page.evaluate("location.hash").startswith("#quiet_hours-")
    [pref] = rows(portal["engine"], NotificationPreference)
    assert (pref.quiet_from, pref.update_interval_days) == ("22:00", 14)
    assert csp_errors == []
    context.close()
