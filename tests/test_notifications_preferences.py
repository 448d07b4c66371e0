"""The portal's "How we contact you" page (/preferences) over HTTP: every field stored and
effective on the next message, bad input refused with a GOV.UK error summary and nothing
changed, CSRF, signing in, and what a representative may change. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.core.i18n import LONDON
from app.notifications import service
from app.notifications.models import NotificationPreference
from app.notifications.providers import OutboxProvider
from app.obligations.models import Obligation
from app.portal.models import PortalAction
from tests.notify_helpers import deliver, factory_of, rows, session_of
from tests.portal.helpers import ALEX, SAM, csrf_of, open_case, sign_in

REF = "01/33333/26"
ALEX_MOBILE, JO_EMAIL = "+447700900123", "jo.e@example.com"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"notification_digest_seconds": 0})


@pytest.fixture
def dev(engine):
    provider = OutboxProvider(factory_of(engine))
    return {"sms": provider, "email": provider}


@pytest.fixture
def case(police, engine, settings, dev):
    open_case(police, REF, [ALEX, SAM])
    deliver(engine, settings, dev)  # the case.opened messages
    return police


def victim_pk(engine, ref: str) -> int:
    from app.cases.models import Victim

    [victim] = rows(engine, Victim, victim_ref=ref)
    return victim.id


def as_alex(client, engine):
    sign_in(client, engine, REF, "1990-05-17", ALEX_MOBILE)
    return victim_pk(engine, "V1")


def form_of(client, victim: int, **changes):
    """The page's current values for one victim, with changes, ready to post."""
    page = client.get("/preferences")
    assert page.status_code == 200
    prefs = service.submitted_form(victim, {})  # the shape of the form
    html = page.text
    values = {"csrf_token": csrf_of(html), "victim": str(victim)}
    for name in ("sms", "email", "discreet"):
        if re.search(rf'id="{name}-{victim}" name="{name}" type="checkbox" value="1" checked',
                     html):
            values[name] = "1"
    language = re.search(rf'id="language-{victim}(?:-2)?" name="language" type="radio" '
                         r'value="(\w+)" checked', html)
    values["language"] = language.group(1) if language else ""
    for name in ("quiet_from", "quiet_to"):
        found = re.search(rf'id="{name}-{victim}" name="{name}" type="text"(?: value="([^"]*)")?',
                          html)
        values[name] = (found.group(1) or "") if found else ""
    interval = re.search(r'name="update_interval_days" type="radio" value="(\d+)" checked', html)
    values["update_interval_days"] = interval.group(1) if interval else ""
    assert set(prefs) >= {k for k in values if k != "csrf_token"}
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return values


def save(client, values):
    return client.post("/preferences", data=values, follow_redirects=False)


def saved_ok(response) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/preferences?saved=1"


def stored(engine, victim: int) -> NotificationPreference | None:
    found = rows(engine, NotificationPreference, victim_pk=victim)
    return found[0] if found else None


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/preferences", follow_redirects=False).headers["location"] == "/sign-in"
    page = client.get("/sign-in")
    response = client.post("/preferences", data={"csrf_token": csrf_of(page.text),
                                                 "victim": "1", "language": "cy"},
                           follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/sign-in")


def test_the_page_shows_what_applies_now(case, client, engine):
    alex = as_alex(client, engine)
    page = client.get("/preferences")
    assert "<title>How we contact you" in page.text
    values = form_of(client, alex)
    assert (values.get("sms"), values.get("email"), values["language"]) == ("1", "1", "en")
    assert (values["quiet_from"], values["quiet_to"]) == ("", "")
    assert values["update_interval_days"] == "28" and "discreet" not in values
    assert "Alex" not in page.text and ALEX_MOBILE not in page.text  # no personal data


def test_channels(case, client, engine):
    alex = as_alex(client, engine)
    saved_ok(save(client, form_of(client, alex, sms=None)))
    assert (stored(engine, alex).sms, stored(engine, alex).email) == (False, True)
    case.send_ok("suspect.arrested", REF, {})
    assert [n.channel for n in rows(engine, template="suspect.arrested", victim_pk=alex)] == [
        "email"]
    assert "Your choices have been saved" in client.get("/preferences?saved=1").text


def test_language_changes_the_template(case, client, engine, settings, dev):
    alex = as_alex(client, engine)
    saved_ok(save(client, form_of(client, alex, language="cy", discreet="1")))
    case.send_ok("suspect.arrested", REF, {})
    deliver(engine, settings, dev)
    [row] = rows(engine, template="suspect.arrested", victim_pk=alex)
    assert row.language == "cy"
    assert row.body.startswith("Mae gennych neges newydd.")  # Welsh, and discreet


def test_discreet_changes_the_sms(case, client, engine, settings, dev):
    alex = as_alex(client, engine)
    case.send_ok("suspect.arrested", REF, {})
    deliver(engine, settings, dev)
    [plain] = rows(engine, template="suspect.arrested", victim_pk=alex)
    assert "arrested" in plain.body
    saved_ok(save(client, form_of(client, alex, discreet="1")))
    assert stored(engine, alex).discreet is True
    case.send_ok("suspect.interviewed", REF, {})
    deliver(engine, settings, dev)
    [row] = rows(engine, template="suspect.interviewed", victim_pk=alex)
    assert row.channel == "sms" and row.body.startswith("You have a new message.")
    assert "interview" not in row.body
    # The victim may turn it off again.
    saved_ok(save(client, form_of(client, alex, discreet=None)))
    assert stored(engine, alex).discreet is False


def test_quiet_hours_hold_messages(case, client, engine):
    alex = as_alex(client, engine)
    local = datetime.now(LONDON)
    start, end = local - timedelta(hours=1), local + timedelta(hours=1)
    saved_ok(save(client, form_of(client, alex, quiet_from=start.strftime("%H:%M"),
                                  quiet_to=end.strftime("%-H.%M"))))
    pref = stored(engine, alex)
    assert (pref.quiet_from, pref.quiet_to) == (start.strftime("%H:%M"), end.strftime("%H:%M"))
    case.send_ok("suspect.arrested", REF, {})
    [row] = rows(engine, template="suspect.arrested", victim_pk=alex)
    held = row.next_attempt_at.astimezone(LONDON)
    assert held.strftime("%H:%M") == end.strftime("%H:%M") and held > local
    # Emptying both fields means no quiet hours.
    saved_ok(save(client, form_of(client, alex, quiet_from="", quiet_to="")))
    with session_of(engine) as session:
        assert service.preferences_of(session, alex).quiet_from in (None, "00:00")
    case.send_ok("suspect.interviewed", REF, {})
    [now_row] = rows(engine, template="suspect.interviewed", victim_pk=alex)
    assert now_row.next_attempt_at <= datetime.now(UTC)


def test_how_often_to_hear_sets_the_regular_update_period(case, client, engine):
    alex = as_alex(client, engine)
    saved_ok(save(client, form_of(client, alex, update_interval_days="7")))
    assert stored(engine, alex).update_interval_days == 7
    assert form_of(client, alex)["update_interval_days"] == "7"
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    case.send_ok("investigation.update", REF, {"message": "We are reviewing CCTV."},
                 occurred_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    [current] = [o for o in rows(engine, Obligation, rule_id="regular-update", victim_pk=alex)
                 if o.status == "open"]
    assert timedelta(days=7) <= current.due_at - current.trigger_at < timedelta(days=8)


BAD_INPUT = [
    ({"language": "fr"}, "language", "Choose English or Cymraeg"),
    ({"language": None}, "language", "Choose English or Cymraeg"),
    ({"quiet_from": "25:00", "quiet_to": "07:00"}, "quiet_hours",
     "Enter quiet hours as times on the 24-hour clock, like 21:00 and 08:00"),
    ({"quiet_from": "9pm", "quiet_to": "07:00"}, "quiet_hours",
     "Enter quiet hours as times on the 24-hour clock, like 21:00 and 08:00"),
    ({"quiet_from": "21:00", "quiet_to": ""}, "quiet_hours",
     "Enter both times for quiet hours, or leave both empty"),
    ({"quiet_from": "21:00", "quiet_to": "21:00"}, "quiet_hours",
     "Quiet hours must start and end at different times"),
    ({"update_interval_days": "3"}, "update_interval_days",
     "Choose how often we should update you when nothing has happened"),
    ({"update_interval_days": "often"}, "update_interval_days",
     "Choose how often we should update you when nothing has happened"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUT)
def test_bad_input_is_explained_and_changes_nothing(case, client, engine, changes, field,
                                                    message):
    alex = as_alex(client, engine)
    saved_ok(save(client, form_of(client, alex, update_interval_days="14")))
    before = stored(engine, alex)
    # Other fields change too: none of it may be stored.
    response = save(client, form_of(client, alex, sms=None, discreet="1", **changes))
    assert response.status_code == 400
    html = response.text
    assert "<title>Error: How we contact you" in html
    assert 'class="govuk-error-summary"' in html and "There is a problem" in html
    assert f'href="#{field}-{alex}">{message}</a>' in html
    assert html.count(message) == 2  # the summary and the field itself
    for name, value in changes.items():  # what was typed is shown back
        if name.startswith("quiet") and value:
            assert f'value="{value}"' in html
    after = stored(engine, alex)
    assert (after.sms, after.discreet, after.update_interval_days, after.language,
            after.quiet_from) == (before.sms, before.discreet, before.update_interval_days,
                                  before.language, before.quiet_from)


def test_errors_are_shown_in_welsh_for_welsh_readers(case, client, engine):
    alex = as_alex(client, engine)
    client.post("/language", data={"csrf_token": csrf_of(client.get("/preferences").text),
                                   "language": "cy"})
    response = save(client, form_of(client, alex, quiet_from="21:00", quiet_to=""))
    assert response.status_code == 400
    assert "Sut rydym yn cysylltu â chi" in response.text
    assert stored(engine, alex) is None


def test_csrf_is_enforced(case, client, engine):
    alex = as_alex(client, engine)
    values = form_of(client, alex, language="cy")
    assert save(client, values | {"csrf_token": "forged"}).status_code == 403
    assert save(client, {k: v for k, v in values.items() if k != "csrf_token"}
                ).status_code == 403
    assert stored(engine, alex) is None


def test_no_one_changes_a_victim_they_do_not_act_for(case, client, engine):
    alex = as_alex(client, engine)
    sam = victim_pk(engine, "V2")
    response = save(client, form_of(client, alex, language="cy") | {"victim": str(sam)})
    assert response.status_code == 303 and response.headers["location"] == "/preferences"
    assert stored(engine, sam) is None and stored(engine, alex) is None
    assert f'name="victim" value="{sam}"' not in client.get("/preferences").text


def test_a_representative_may_ask_for_discretion_but_only_the_victim_ends_it(case, client,
                                                                             engine, app):
    from fastapi.testclient import TestClient

    sam = victim_pk(engine, "V2")
    jo = TestClient(app)
    sign_in(jo, engine, REF, "2011-02-03", JO_EMAIL, role="representative", channel="email")
    saved_ok(save(jo, form_of(jo, sam, discreet="1", language="cy")))
    assert stored(engine, sam).discreet is True
    [action] = rows(engine, PortalAction, action="preferences.changed")
    assert (action.acting_role, action.victim_pk) == ("representative", sam)
    refused = save(jo, form_of(jo, sam, discreet=None))
    assert refused.status_code == 400
    assert "Only the victim can turn off discreet messages" in refused.text
    assert stored(engine, sam).discreet is True
    # Sam, the victim, can.
    sign_in(client, engine, REF, "2011-02-03", "+447700900456")
    saved_ok(save(client, form_of(client, sam, discreet=None)))
    assert stored(engine, sam).discreet is False
    roles = [a.acting_role for a in rows(engine, PortalAction, action="preferences.changed")]
    assert roles == ["representative", "victim"]


def test_every_signed_in_page_links_to_the_preferences(case, client, engine):
    signed_out = client.get("/sign-in").text
    as_alex(client, engine)
    nav = re.compile(r'<a class="govuk-service-navigation__link" href="/preferences"')
    assert nav.search(client.get("/cases").text)
    assert not nav.search(signed_out)
    current = client.get("/preferences").text
    item = current[current.index('href="/preferences"') - 300:current.index('href="/preferences"')]
    assert "govuk-service-navigation__item--active" in item
