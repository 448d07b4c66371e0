"""Local agency endpoints for outbound webhooks: they verify every delivery with the
standardwebhooks library, the way a real agency would, and answer as told.

- `Receiver(secret)`: accepts (204) every correctly signed delivery, refuses (401) the rest.
- `Receiver(secret, fail_first=3)`: a flaky receiver: answers 503 to the first three correctly
  signed deliveries, then accepts.
- `Receiver(secret, status=410)`: an endpoint that has gone.
Each keeps every delivery it saw (`received`) and the distinct webhook-ids it accepted.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    webhook_id: str
    body: dict[str, Any]
    verified: bool
    answered: int


@dataclass
class Receiver:
    secret: str
    fail_first: int = 0
    status: int = 204
    received: list[Delivery] = field(default_factory=list)
    accepted_ids: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/tmc-webhooks"

    def answer(self, headers: dict[str, str], raw: str) -> int:
        try:
            body = Webhook(self.secret).verify(raw, headers)
            verified = True
        except WebhookVerificationError:
            body, verified = json.loads(raw), False
        webhook_id = headers.get("webhook-id", "")
        if not verified:
            code = 401
        elif self.fail_first > 0:
            self.fail_first -= 1
            code = 503
        else:
            code = self.status
        self.received.append(Delivery(webhook_id, body, verified, code))
        if 200 <= code < 300 and webhook_id not in self.accepted_ids:
            self.accepted_ids.append(webhook_id)  # idempotent on the webhook-id
        return code

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length).decode()
                code = receiver.answer({k.lower(): v for k, v in self.headers.items()}, raw)
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
