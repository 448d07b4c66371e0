"""A local server that speaks GOV.UK Notify's v2 API, for the real `notifications-python-client`
to talk to.

POST /v2/notifications/sms and /v2/notifications/email with `Authorization: Bearer <JWT>`: the
token is checked the way Notify does (HS256, `iss` = the service id, signed with the API key's
secret, `iat` within 30 seconds). The body is validated like Notify (known template, a UK mobile
number or an email address, every placeholder of the template given) and the answer is 201 with
Notify's response shape, or Notify's error shape (`{"errors": [...], "status_code": N}`).

If asked, it then posts delivery receipts to the service's callback URL with the service's
bearer token, in Notify's callback shape.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
import requests

from tests.fake_provider import ProviderHandler, serving

SERVICE_ID = "6f2bd1a0-6d9d-4a4b-9c1e-0f0e6b6c1a11"
SECRET = "3e8c4a1b-2f5d-4e7a-8b9c-0d1e2f3a4b5c"
API_KEY = f"tmc_test-{SERVICE_ID}-{SECRET}"
SMS_TEMPLATE = "a1b2c3d4-0000-4000-8000-000000000001"
EMAIL_TEMPLATE = "a1b2c3d4-0000-4000-8000-000000000002"
CALLBACK_TOKEN = "notify-callback-token-0123456789abcdef"
# Each template's placeholders (the Notify templates we ask services to set up).
TEMPLATES = {SMS_TEMPLATE: ("sms", {"body"}), EMAIL_TEMPLATE: ("email", {"subject", "body"})}
UK_MOBILE = re.compile(r"^(?:\+44|0044|0)7\d{9}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
JWT_LEEWAY = 30


@dataclass
class Received:
    id: str
    kind: str  # sms | email
    to: str
    template_id: str
    personalisation: dict[str, Any]
    reference: str | None
    at: float


def _error(status: int, kind: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"errors": [{"error": kind, "message": message}], "status_code": status}


@dataclass
class FakeNotify:
    service_id: str = SERVICE_ID
    secret: str = SECRET
    # Delivery receipts posted to callback_url after each message, in this order.
    callbacks: list[str] = field(default_factory=list)
    callback_url: str = ""
    callback_token: str = CALLBACK_TOKEN
    # HTTP statuses to answer the next requests with instead of 201 (then back to normal).
    fail_next: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)  # statuses of refused requests
    callback_results: list[int] = field(default_factory=list)
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _outbox: queue.Queue = field(default_factory=queue.Queue)

    def _authorised(self, header: str | None) -> tuple[int, dict[str, Any]] | None:
        """None if the bearer token is valid; else Notify's 403."""
        if not header or not header.startswith("Bearer "):
            return _error(401, "AuthError",
                          "Unauthorized: authentication token must be provided")
        token = header.removeprefix("Bearer ")
        try:
            issuer = jwt.decode(token, options={"verify_signature": False})["iss"]
        except (jwt.DecodeError, KeyError):
            return _error(403, "AuthError", "Invalid token: signature, api token not found")
        if issuer != self.service_id:
            return _error(403, "AuthError", "Invalid token: service not found")
        try:
            claims = jwt.decode(token, key=self.secret, algorithms=["HS256"],
                                options={"require": ["iss", "iat"]})
        except jwt.InvalidTokenError:
            return _error(403, "AuthError", "Invalid token: signature, api token not found")
        if abs(time.time() - int(claims["iat"])) > JWT_LEEWAY:
            return _error(403, "AuthError", "Error: Your system clock must be accurate to "
                                            "within 30 seconds")
        return None

    def handle(self, path: str, auth: str | None, body: dict[str, Any]
               ) -> tuple[int, dict[str, Any]]:
        refused = self._authorised(auth)
        if refused is not None:
            return refused
        kind = {"/v2/notifications/sms": "sms", "/v2/notifications/email": "email"}.get(path)
        if kind is None:
            return _error(404, "BadRequestError", "Not Found")
        with self._lock:
            if self.fail_next:
                status = self.fail_next.pop(0)
                return _error(status, "RateLimitError" if status == 429 else "Failure",
                              "failure requested")
        problem = self._validate(kind, body)
        if problem is not None:
            return problem
        to = body["phone_number"] if kind == "sms" else body["email_address"]
        notification_id = str(uuid.uuid4())
        personalisation = body.get("personalisation") or {}
        with self._lock:
            self.received.append(Received(notification_id, kind, to, body["template_id"],
                                          personalisation, body.get("reference"), time.time()))
        if self.callbacks and self.callback_url:
            self._outbox.put((notification_id, body.get("reference"), to, kind))
        return 201, self._response(kind, notification_id, body, personalisation)

    def _validate(self, kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        template = TEMPLATES.get(str(body.get("template_id")))
        if template is None or template[0] != kind:
            return _error(400, "BadRequestError", "Template not found")
        if kind == "sms" and not UK_MOBILE.match(str(body.get("phone_number", ""))):
            return _error(400, "ValidationError", "phone_number Not a UK mobile number")
        if kind == "email" and not EMAIL.match(str(body.get("email_address", ""))):
            return _error(400, "ValidationError", "email_address Not a valid email address")
        missing = template[1] - set(body.get("personalisation") or {})
        if missing:
            return _error(400, "BadRequestError",
                          f"Missing personalisation: {', '.join(sorted(missing))}")
        return None

    def _response(self, kind: str, notification_id: str, body: dict[str, Any],
                  personalisation: dict[str, Any]) -> dict[str, Any]:
        content: dict[str, Any] = {"body": personalisation.get("body", "")}
        if kind == "sms":
            content["from_number"] = "GOVUK"
        else:
            content |= {"subject": personalisation.get("subject", ""),
                        "from_email": "track.my.crime@notifications.service.gov.uk",
                        "one_click_unsubscribe_url": None}
        return {"id": notification_id, "reference": body.get("reference"), "content": content,
                "uri": f"{self.base_url}/v2/notifications/{notification_id}",
                "template": {"id": body["template_id"], "version": 1,
                             "uri": f"{self.base_url}/services/{self.service_id}/templates/"
                                    f"{body['template_id']}"},
                "scheduled_for": None}

    def receipt(self, notification_id: str, reference: str | None, to: str, kind: str,
                status: str) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return {"id": notification_id, "reference": reference, "to": to, "status": status,
                "created_at": now, "completed_at": now, "sent_at": now,
                "notification_type": kind, "template_id": SMS_TEMPLATE if kind == "sms"
                else EMAIL_TEMPLATE, "template_version": 1}

    def post_receipt(self, payload: dict[str, Any], token: str | None = None) -> int:
        headers = {"Authorization": f"Bearer {token or self.callback_token}"}
        return requests.post(self.callback_url, json=payload, headers=headers,
                             timeout=30).status_code

    def _send_callbacks(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                return
            for status in self.callbacks:
                payload = self.receipt(*item, status=status)
                for _try in range(50):
                    try:
                        self.callback_results.append(self.post_receipt(payload))
                        break
                    except requests.RequestException:
                        time.sleep(0.2)


def _handler(fake: FakeNotify) -> type[BaseHTTPRequestHandler]:
    class Handler(ProviderHandler):

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                status, payload = _error(400, "BadRequestError", "Invalid JSON")
            else:
                status, payload = fake.handle(self.path, self.headers.get("authorization"),
                                              body)
            if status != 201:
                fake.refused.append(status)
            self.reply_json(status, payload)

    return Handler


@contextmanager
def fake_notify(callbacks: list[str] | None = None, callback_url: str = "",
                senders: int = 2) -> Iterator[FakeNotify]:
    fake = FakeNotify(callbacks=list(callbacks or []), callback_url=callback_url)
    with serving(_handler(fake), fake._outbox, fake._send_callbacks, senders) as base_url:
        fake.base_url = base_url
        yield fake
