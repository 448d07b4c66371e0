"""templates/layout.html writes out the markup of four GOV.UK Frontend macros (skip link,
service navigation, exit this page, footer) instead of calling them on every page: the
written-out markup must stay exactly what the macros give, in both languages, signed in or
not, whichever menu item is current."""

from __future__ import annotations

import pytest

from app.core.i18n import translator
from app.core.templating import environment

IMPORTS = """
{% from "govuk_frontend_jinja/components/skip-link/macro.html" import govukSkipLink %}
{% from "govuk_frontend_jinja/components/service-navigation/macro.html" import govukServiceNavigation %}
{% from "govuk_frontend_jinja/components/exit-this-page/macro.html" import govukExitThisPage %}
{% from "govuk_frontend_jinja/components/footer/macro.html" import govukFooter %}
"""  # noqa: E501
MACROS = {
    "skip link": """{{ govukSkipLink({"href": "#main-content",
        "text": _("Skip to main content")}) }}""",
    "service navigation": """{{ govukServiceNavigation({"serviceName": _("Track My Crime"),
        "serviceUrl": "/", "navigation": nav, "navigationLabel": _("Menu"),
        "menuButtonText": _("Menu")}) }}""",
    "exit this page": """{% set exit_html %}<span class="govuk-visually-hidden">{{ _("Emergency") }}</span> {{ _("Exit this page") }}{% endset %}
        {{- govukExitThisPage({"html": exit_html, "redirectUrl": "/exit",
        "activatedText": _("Loading."), "timedOutText": _("Exit this page expired."),
        "pressTwoMoreTimesText": _("Shift, press 2 more times to exit."),
        "pressOneMoreTimeText": _("Shift, press 1 more time to exit.")}) }}""",  # noqa: E501
    "footer": """{{ govukFooter({"contentLicence": {"text": _("All content is available under the Open Government Licence v3.0, except where otherwise stated")},
        "copyright": {"text": _("© Crown copyright")}}) }}""",  # noqa: E501
}
PAGE = ('{% extends "layout.html" %}{% block title %}Title{% endblock %}'
        '{% block content %}<p>Content</p>{% endblock %}')


def _menu(t, signed_in: bool, path: str) -> list[dict[str, object]]:
    if not signed_in:
        return []
    return [{"href": "/cases", "text": t._("Your cases"), "active": path.startswith("/cases")},
            {"href": "/preferences", "text": t._("How we contact you"),
             "active": path.startswith("/preferences")}]


@pytest.mark.parametrize("language", ["en", "cy"])
@pytest.mark.parametrize(("signed_in", "path"), [(False, "/sign-in"), (True, "/cases/abc"),
                                                 (True, "/preferences"), (True, "/exit")])
def test_layout_has_each_macros_own_markup(language: str, signed_in: bool, path: str) -> None:
    t = translator(language)
    context = {"t": t, "_": t._, "lang": language, "csrf_token": "token",
               "signed_in": signed_in, "current_path": path}
    env = environment()
    page = env.from_string(PAGE).render(context)
    for name, call in MACROS.items():
        markup = env.from_string(IMPORTS + call).render(
            context | {"nav": _menu(t, signed_in, path)}).lstrip("\n")
        assert markup.strip(), name
        assert markup in page, f"{name} ({language}, {path}) differs from the macro's markup"


def test_menu_only_when_signed_in() -> None:
    t = translator("en")
    context = {"t": t, "_": t._, "lang": "en", "csrf_token": "token", "current_path": "/"}
    env = environment()
    assert 'id="navigation"' not in env.from_string(PAGE).render(context | {"signed_in": False})
    assert 'href="/preferences"' in env.from_string(PAGE).render(context | {"signed_in": True})
