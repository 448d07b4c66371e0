"""A local server that speaks Twilio's Messages API, for the real twilio SDK to talk to.

POST /2010-04-01/Accounts/{sid}/Messages.json (form-encoded, HTTP Basic with sid:token) answers
201 with JSON (sid, status "queued", ...). If asked, it then posts status callbacks to the
message's StatusCallback URL, signed like Twilio (RequestValidator's algorithm).
"""

from __future__ import annotations

import base64
import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

import requests
from twilio.request_validator import RequestValidator

from app.core.config import Settings
from tests.fake_provider import ProviderHandler, serving

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
FROM_NUMBER = "+447700900999"


@dataclass
class Received:
    sid: str
    to: str
    body: str
    status_callback: str | None
    at: float  # time.time() when the request arrived


@dataclass
class FakeTwilio:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    # Statuses posted back to StatusCallback after each message, in this order.
    callbacks: list[str] = field(default_factory=list)
    # HTTP statuses to answer the next requests with instead of 201 (then back to normal).
    fail_next: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    # Called with each accepted message while its sender waits for the answer.
    on_message: Callable[[Received], None] | None = None
    connections: int = 0  # TCP connections accepted (keep-alive serves many requests on one)
    callback_results: list[int] = field(default_factory=list)
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _outbox: queue.Queue = field(default_factory=queue.Queue)

    def sign(self, url: str, params: dict[str, str]) -> str:
        return RequestValidator(self.auth_token).compute_signature(url, params)

    def post_callback(self, url: str, params: dict[str, str]) -> int:
        headers = {"X-Twilio-Signature": self.sign(url, params)}
        response = requests.post(url, data=params, headers=headers, timeout=30)
        return response.status_code

    def handle(self, path: str, auth: str | None, form: dict[str, str]) -> tuple[int, dict]:
        expected = "Basic " + base64.b64encode(
            f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if auth != expected:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return 404, {"code": 20404, "message": "not found", "status": 404}
        with self._lock:
            if self.fail_next:
                status = self.fail_next.pop(0)
                code = 21211 if status == 400 else 20500
                return status, {"code": code, "message": "failure requested", "status": status}
            sid = f"SM{next(self._ids):032x}"
            received = Received(sid, form.get("To", ""), form.get("Body", ""),
                                form.get("StatusCallback"), time.time())
            self.received.append(received)
        if self.on_message is not None:
            self.on_message(received)
        if form.get("StatusCallback") and self.callbacks:
            self._outbox.put((form["StatusCallback"], sid, form.get("To", "")))
        return 201, {"sid": sid, "status": "queued", "to": form.get("To"),
                     "from": form.get("From"), "body": form.get("Body"),
                     "account_sid": self.account_sid, "num_segments": "1",
                     "direction": "outbound-api", "api_version": "2010-04-01",
                     "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"}

    def _send_callbacks(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                return
            url, sid, to = item
            for status in self.callbacks:
                params = {"MessageSid": sid, "MessageStatus": status, "To": to,
                          "AccountSid": self.account_sid, "From": FROM_NUMBER}
                for _try in range(50):  # the app may be restarting: retry like Twilio would
                    try:
                        code = self.post_callback(url, params)
                        self.callback_results.append(code)
                        break
                    except requests.RequestException:
                        time.sleep(0.2)

    def by_to(self) -> dict[str, list[Received]]:
        out: dict[str, list[Received]] = {}
        for item in list(self.received):
            out.setdefault(item.to, []).append(item)
        return out


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(ProviderHandler):

        def setup(self) -> None:  # once per connection
            super().setup()
            with fake._lock:
                fake.connections += 1

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length)
            if len(raw) < length:  # the sender died mid-request: like Twilio, accept nothing
                self.close_connection = True
                return
            form = dict(parse_qsl(raw.decode()))
            status, payload = fake.handle(self.path, self.headers.get("authorization"), form)
            self.reply_json(status, payload)

    return Handler


@contextmanager
def fake_twilio(callbacks: list[str] | None = None, senders: int = 4) -> Iterator[FakeTwilio]:
    fake = FakeTwilio(callbacks=list(callbacks or []))
    with serving(_handler(fake), fake._outbox, fake._send_callbacks, senders) as base_url:
        fake.base_url = base_url
        yield fake


def settings_for(settings: Settings, fake: FakeTwilio, **more: Any) -> Settings:
    """`settings` with texts sent through this fake (and any `more` settings)."""
    return settings.model_copy(update={
        "sms_backend": "twilio", "twilio_api_base_url": fake.base_url,
        "twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN,
        "twilio_from_number": FROM_NUMBER, **more})


def wait_for(condition, timeout: float = 60.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
