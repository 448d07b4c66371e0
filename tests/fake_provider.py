"""What the local provider stand-ins (tests/fake_twilio.py, tests/fake_notify.py) share: an HTTP
server that answers like a real provider would under load, and threads that post its delivery
receipts back to the app."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ProviderHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY the second waits for the
    # client's delayed ACK (up to 40 ms a request), which would make the fake the bottleneck.
    disable_nagle_algorithm = True

    def reply_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    # The default listen backlog of 5 drops connection attempts when many senders connect at
    # once; their SYN retries then wait 1, 3, 7 s: a stall the real provider would not have.
    request_queue_size = 256
    daemon_threads = True


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], outbox: queue.Queue,
            send_callbacks: Callable[[], None], senders: int) -> Iterator[str]:
    """Serves `handler` on a free port with `senders` threads running `send_callbacks` (each
    stops when it takes None from `outbox`); yields the base URL."""
    server = _Server(("127.0.0.1", 0), handler)
    threads = [threading.Thread(target=server.serve_forever, daemon=True)]
    threads += [threading.Thread(target=send_callbacks, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        for _ in range(senders):
            outbox.put(None)
        server.shutdown()
        server.server_close()
