"""Passwordless sign-in: codes go only to recorded addresses, last 10 minutes, are single-use,
stored as hashes, allow 5 tries, and are throttled; sessions are server-side and revocable."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.db import make_sessionmaker, utcnow
from app.portal.models import PortalAction, PortalSession, SignInChallenge
from tests.portal.helpers import (
    ALEX,
    SAM,
    case_ids,
    codes_sent,
    csrf_of,
    latest_code,
    open_case,
    request_code,
    sign_in,
    submit_code,
)

REF = "01/10001/26"


def test_code_goes_to_the_recorded_mobile_and_signs_in(client, police, engine):
    open_case(police, REF, [ALEX])
    page = sign_in(client, engine, REF, "1990-05-17", "+447700900123")
    assert page.status_code == 200
    assert "Burglary" in page.text
    assert len(case_ids(page.text)) == 1


def test_code_message_names_neither_case_nor_offence(client, police, engine):
    open_case(police, REF, [ALEX])
    request_code(client, REF, "1990-05-17", channel="email")
    with make_sessionmaker(engine)() as db:
        from app.notifications import dev_outbox

        [message] = dev_outbox.messages(db, "alex.t@example.com")
    assert message.channel == "email"
    for detail in (REF, "Burglary", "burglary", "Testperson", "Alex"):
        assert detail not in message.body and detail not in (message.subject or "")


def test_wrong_details_look_the_same_and_send_nothing(client, police, engine):
    open_case(police, REF, [ALEX])
    wrong_dob = request_code(client, REF, "1990-05-18")
    unknown_ref = request_code(client, "99/99999/26", "1990-05-17")
    assert wrong_dob.status_code == unknown_ref.status_code == 303
    assert wrong_dob.headers["location"] == unknown_ref.headers["location"] == "/sign-in/code"
    assert codes_sent(engine) == 0
    assert submit_code(client, "123456").status_code == 400


def test_code_is_stored_only_as_a_hash(client, police, engine):
    open_case(police, REF, [ALEX])
    request_code(client, REF, "1990-05-17")
    code = latest_code(engine, "+447700900123")
    with make_sessionmaker(engine)() as db:
        [challenge] = db.scalars(select(SignInChallenge)).all()
    assert code not in challenge.code_hash and len(challenge.code_hash) == 64


def test_code_is_single_use(client, police, engine, app):
    from fastapi.testclient import TestClient

    open_case(police, REF, [ALEX])
    request_code(client, REF, "1990-05-17")
    code = latest_code(engine, "+447700900123")
    assert submit_code(client, code).status_code == 303
    # Replaying the code from the same browser (now signed in) or another one fails.
    other = TestClient(app)
    request_code(other, "00/00000/00", "2000-01-01")  # an attempt of its own, no match
    assert submit_code(other, code).status_code == 400


def test_five_tries_then_the_code_is_dead(client, police, engine):
    open_case(police, REF, [ALEX])
    request_code(client, REF, "1990-05-17")
    code = latest_code(engine, "+447700900123")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert submit_code(client, wrong).status_code == 400
    last = submit_code(client, code)
    assert last.status_code == 400 and "expired or has been tried too many times" in last.text


def test_code_expires_after_ten_minutes(client, police, engine):
    open_case(police, REF, [ALEX])
    request_code(client, REF, "1990-05-17")
    code = latest_code(engine, "+447700900123")
    with make_sessionmaker(engine)() as db:
        for challenge in db.scalars(select(SignInChallenge)):
            assert timedelta(minutes=9) < challenge.expires_at - utcnow() <= timedelta(minutes=10)
            challenge.expires_at = utcnow() - timedelta(seconds=1)
        db.commit()
    assert submit_code(client, code).status_code == 400


def test_code_requests_are_throttled_per_crime_reference(client, police, engine, app):
    from fastapi.testclient import TestClient

    open_case(police, REF, [ALEX])
    statuses = []
    for number in range(7):
        # A fresh client each time: the per-reference limit holds across browsers.
        browser = TestClient(app, client=(f"192.0.2.{number}", 5000))
        statuses.append(request_code(browser, REF, "1990-05-17").status_code)
    assert statuses[:5] == [303] * 5
    assert statuses[5:] == [429, 429]
    assert codes_sent(engine) == 5


def test_code_requests_are_throttled_per_client(client, police, engine):
    for number in range(21):
        open_case(police, f"02/{number:05d}/26", [ALEX]) if number < 1 else None
    statuses = [request_code(client, f"03/{n:05d}/26", "1990-05-17").status_code
                for n in range(22)]
    assert statuses[:20] == [303] * 20 and statuses[20:] == [429, 429]


def test_representative_gets_the_code_at_their_own_recorded_address(client, police, engine):
    open_case(police, REF, [ALEX, SAM])
    page = sign_in(client, engine, REF, "2011-02-03", "jo.e@example.com", role="representative",
                   channel="email")
    assert "You act for" in page.text and "Sam" in page.text
    assert codes_sent(engine, "sam.e@example.com") == 0


def test_victim_without_representative_cannot_sign_in_as_one(client, police, engine):
    open_case(police, REF, [ALEX])
    request_code(client, REF, "1990-05-17", role="representative")
    assert codes_sent(engine) == 0


def test_session_cookie_flags_and_stored_hash(client, police, engine):
    open_case(police, REF, [ALEX])
    request_code(client, REF, "1990-05-17")
    response = submit_code(client, latest_code(engine, "+447700900123"))
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith("tmc_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    with make_sessionmaker(engine)() as db:
        tokens = db.scalars(select(PortalSession.token_hash)).all()
    assert token not in tokens
    assert len(tokens) >= 2  # the pre-sign-in session was replaced, never promoted


def test_secure_cookie_outside_development_and_test(settings):
    from app.portal.routes import session_cookie_name

    production = settings.model_copy(update={"env": "production"})
    assert production.secure_cookies and session_cookie_name(production).startswith("__Host-")
    assert not settings.secure_cookies


def test_idle_timeout_ends_the_session(client, police, engine):
    open_case(police, REF, [ALEX])
    sign_in(client, engine, REF, "1990-05-17", "+447700900123")
    with make_sessionmaker(engine)() as db:
        for row in db.scalars(select(PortalSession)):
            row.last_seen_at = utcnow() - timedelta(minutes=31)
        db.commit()
    response = client.get("/cases", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"


def test_sign_out_everywhere_revokes_other_devices(client, police, engine, app):
    from fastapi.testclient import TestClient

    open_case(police, REF, [ALEX])
    phone = TestClient(app)
    sign_in(phone, engine, REF, "1990-05-17", "+447700900123")
    laptop_page = sign_in(client, engine, REF, "1990-05-17", "+447700900123")
    assert phone.get("/cases", follow_redirects=False).status_code == 200
    response = client.post("/sign-out-everywhere", data={"csrf_token": csrf_of(laptop_page.text)},
                           follow_redirects=False)
    assert response.status_code == 303
    assert phone.get("/cases", follow_redirects=False).status_code == 303
    assert client.get("/cases", follow_redirects=False).status_code == 303


def test_sign_out_ends_only_this_session(client, police, engine, app):
    from fastapi.testclient import TestClient

    open_case(police, REF, [ALEX])
    phone = TestClient(app)
    sign_in(phone, engine, REF, "1990-05-17", "+447700900123")
    page = sign_in(client, engine, REF, "1990-05-17", "+447700900123")
    client.post("/sign-out", data={"csrf_token": csrf_of(page.text)})
    assert client.get("/cases", follow_redirects=False).status_code == 303
    assert phone.get("/cases", follow_redirects=False).status_code == 200


def test_new_device_sends_an_alert_known_device_does_not(client, police, engine, app):
    from fastapi.testclient import TestClient

    open_case(police, REF, [ALEX])
    sign_in(client, engine, REF, "1990-05-17", "+447700900123")  # first ever: no alert
    sign_in(client, engine, REF, "1990-05-17", "+447700900123")  # same device cookie
    assert alerts(engine) == []
    sign_in(TestClient(app), engine, REF, "1990-05-17", "+447700900123")
    [alert] = alerts(engine)
    assert "Burglary" not in alert and REF not in alert


def alerts(engine) -> list[str]:
    from app.notifications import dev_outbox

    with make_sessionmaker(engine)() as db:
        return [m.body for m in dev_outbox.messages(db, "+447700900123") if "new device" in m.body]


def test_sign_in_is_recorded_with_who_acted(client, police, engine):
    open_case(police, REF, [ALEX, SAM])
    page = sign_in(client, engine, REF, "2011-02-03", "+447700900789", role="representative")
    client.get(f"/cases/{case_ids(page.text)[0]}")
    with make_sessionmaker(engine)() as db:
        actions = db.scalars(select(PortalAction).order_by(PortalAction.id)).all()
    viewed = [a for a in actions if a.action == "viewed_case"]
    assert viewed and viewed[0].acting_role == "representative"
    assert viewed[0].representative_name == "Jo Exampleton"
    signed = [a for a in actions if a.action == "signed_in"]
    assert signed and signed[0].detail["role"] == "representative"


def test_a_case_view_is_recorded_once_per_session(client, police, engine):
    open_case(police, REF, [ALEX])
    page = sign_in(client, engine, REF, "1990-05-17", "+447700900123")
    case_id = case_ids(page.text)[0]
    for _ in range(3):
        assert client.get(f"/cases/{case_id}").status_code == 200
    assert len(_views(engine)) == 1
    sign_in(client, engine, REF, "1990-05-17", "+447700900123")  # a new session
    client.get(f"/cases/{case_id}")
    views = _views(engine)
    assert len(views) == 2 and views[0].session_pk != views[1].session_pk
    assert all(v.acting_role == "victim" and v.case_pk for v in views)


def _views(engine) -> list[PortalAction]:
    with make_sessionmaker(engine)() as db:
        return list(db.scalars(select(PortalAction).where(PortalAction.action == "viewed_case")
                               .order_by(PortalAction.id)))


def test_forms_without_the_csrf_token_are_refused(client, police, engine):
    open_case(police, REF, [ALEX])
    client.get("/sign-in")
    response = client.post("/sign-in", data={"crime_reference": REF, "dob-day": "17",
                                             "dob-month": "5", "dob-year": "1990",
                                             "role": "victim", "channel": "sms"})
    assert response.status_code == 403
    assert codes_sent(engine) == 0


def test_csrf_token_is_bound_to_the_session(client, police, engine, app):
    from fastapi.testclient import TestClient

    open_case(police, REF, [ALEX])
    token_of_another = csrf_of(TestClient(app).get("/sign-in").text)
    client.get("/sign-in")
    response = client.post("/sign-in", data={"csrf_token": token_of_another,
                                             "crime_reference": REF, "dob-day": "17",
                                             "dob-month": "5", "dob-year": "1990",
                                             "role": "victim", "channel": "sms"})
    assert response.status_code == 403


def test_invalid_form_shows_errors_and_sends_nothing(client, police, engine):
    open_case(police, REF, [ALEX])
    page = client.get("/sign-in")
    response = client.post("/sign-in", data={"csrf_token": csrf_of(page.text),
                                             "crime_reference": "", "dob-day": "31",
                                             "dob-month": "2", "dob-year": "1990"})
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert "Enter your crime reference number" in response.text
    assert "Date of birth must be a real date" in response.text
    assert codes_sent(engine) == 0
