"""With a real SMS backend, sign-in codes go out through the twilio SDK at once (not the outbox):
after what they are for is committed and after the response, over one connection."""

from __future__ import annotations

import re
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.db import make_sessionmaker
from app.main import create_app
from app.portal.models import PortalSession, SignInChallenge
from tests.agency_client import Registry, victim
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, fake_twilio, wait_for
from tests.live_server import serve
from tests.portal.helpers import codes_sent, open_case, request_code, submit_code

REF = "01/70001/26"


@pytest.fixture
def fake():
    with fake_twilio() as server:
        yield server


@pytest.fixture
def app(settings, fake):
    application = create_app(settings.model_copy(update={
        "sms_backend": "twilio", "twilio_api_base_url": fake.base_url,
        "twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN,
        "twilio_from_number": FROM_NUMBER}))
    yield application
    application.state.engine.dispose()


def test_sign_in_code_is_texted_through_twilio_and_works(app, session, settings, fake, engine):
    with TestClient(app) as client:
        police = Registry(session, settings, client).add("met-police", "police", "Met")
        open_case(police, REF, [victim("V1")])
        assert request_code(client, REF, "1990-05-17").status_code == 303
        texts = [r for r in fake.received if r.to == "+447700900123"]
        assert len(texts) == 1
        assert codes_sent(engine) == 0  # nothing went to the dev outbox
        code = re.search(r"\b(\d{6})\b", texts[0].body).group(1)
        done = submit_code(client, code)
        assert done.status_code == 303 and done.headers["location"] == "/cases"


def test_codes_and_alerts_go_out_after_what_they_are_for_is_committed(app, session, settings,
                                                                       fake, engine):
    """A provider may take its whole timeout to answer: a transaction left open meanwhile held a
    pooled connection (on SQLite, the write lock) that long. And a code that arrives is always
    one the service kept."""
    committed: dict[str, tuple[int, int]] = {}  # per text: (codes, signed-in sessions) then

    def look(message) -> None:  # type: ignore[no-untyped-def]
        with make_sessionmaker(engine)() as db:
            codes = db.scalar(select(func.count()).select_from(SignInChallenge))
            sessions = db.scalar(select(func.count()).select_from(PortalSession)
                                 .where(PortalSession.signed_in_at.is_not(None)))
        committed[message.body] = (codes or 0, sessions or 0)

    fake.on_message = look
    with TestClient(app) as client:
        police = Registry(session, settings, client).add("met-police", "police", "Met")
        open_case(police, REF, [victim("V1")])
        for browser in (client, TestClient(app)):  # the second is a new device: an alert
            request_code(browser, REF, "1990-05-17")
            code = re.search(r"\b(\d{6})\b", fake.received[-1].body).group(1)
            assert submit_code(browser, code).status_code == 303
    first_code, second_code, alert = (r.body for r in fake.received)
    assert committed[first_code][0] == 1 and committed[second_code][0] == 2
    assert "new device" in alert and committed[alert][1] == 2


def test_codes_share_one_connection_to_twilio(app, session, settings, fake):
    """Each code used to build its own Twilio client, and so open a new connection (a TLS
    handshake with the real Twilio) while the person waited for the page."""
    with TestClient(app) as client:
        police = Registry(session, settings, client).add("met-police", "police", "Met")
        open_case(police, REF, [victim("V1")])
        for _ in range(3):
            assert request_code(client, REF, "1990-05-17").status_code == 303
    assert len(fake.received) == 3
    assert fake.connections == 1


def test_the_sign_in_form_answers_before_the_text_goes(app, session, settings, fake):
    """How long the form takes to answer must not tell anyone whether the details matched (a
    text to send, or none), and nobody should wait on a slow provider: on a real server, with
    the provider taking 3 s, matching details are answered as quickly as wrong ones, and the
    code still arrives."""
    with TestClient(app) as client:
        police = Registry(session, settings, client).add("met-police", "police", "Met")
        open_case(police, REF, [victim("V1")])
    fake.on_message = lambda _message: time.sleep(3)
    with serve(app.state.settings) as (base, _settings):
        answered = {}
        for born in ("1990-05-17", "1990-05-18"):  # right, then wrong
            with httpx.Client(base_url=base, timeout=30) as browser:
                started = time.monotonic()
                assert request_code(browser, REF, born).status_code == 303
                answered[born] = time.monotonic() - started
        assert wait_for(lambda: len(fake.received) == 1, timeout=10)
    assert answered["1990-05-17"] < 1.5 and answered["1990-05-18"] < 1.5


def test_a_slow_provider_holds_only_a_few_threads(app, session, settings, fake, monkeypatch):
    """While the provider is down each send waits up to its timeout; sends beyond the bound
    wait their turn instead of taking the threads every page needs, and all go out."""
    from app.portal import routes

    monkeypatch.setattr(routes, "SIGN_IN_SENDERS", 2)
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def slow(_message) -> None:  # type: ignore[no-untyped-def]
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(1)
        with lock:
            in_flight[0] -= 1

    with TestClient(app) as client:
        police = Registry(session, settings, client).add("met-police", "police", "Met")
        open_case(police, REF, [victim("V1")])
    fake.on_message = slow
    with serve(app.state.settings) as (base, _settings):
        for _ in range(5):  # the most codes one crime reference may ask for at a time
            with httpx.Client(base_url=base, timeout=30) as browser:
                assert request_code(browser, REF, "1990-05-17").status_code == 303
        with httpx.Client(base_url=base, timeout=30) as browser:
            started = time.monotonic()
            assert browser.get("/sign-in").status_code == 200
            assert time.monotonic() - started < 1
        assert wait_for(lambda: len(fake.received) == 5, timeout=20)
    assert most[0] == 2
