"""How one outbound webhook goes over the wire: the retry schedule and the HTTP POST (the
signature is app.agencies.signing.sign). No database here."""

from __future__ import annotations

import http.client
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

# Standard Webhooks retry schedule (contract s.6): the first try at once, then these waits
# after each failure; a failure of the last try exhausts the delivery.
RETRY_SCHEDULE = (timedelta(0), timedelta(seconds=5), timedelta(minutes=5),
                  timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5),
                  timedelta(hours=10), timedelta(hours=14), timedelta(hours=20),
                  timedelta(hours=24))
MAX_ATTEMPTS = len(RETRY_SCHEDULE)
JITTER = 0.1  # each wait is stretched or shrunk by up to 10%, so retries do not stampede
TIMEOUT_SECONDS = 15.0
MAX_ERROR = 300


def retry_delay(failed_attempts: int, rng: random.Random | None = None) -> timedelta | None:
    """The wait before the next try after `failed_attempts` tries failed; None when the
    schedule is used up."""
    if failed_attempts >= MAX_ATTEMPTS:
        return None
    base = RETRY_SCHEDULE[failed_attempts]
    return base * (rng or random).uniform(1 - JITTER, 1 + JITTER)


@dataclass(frozen=True)
class Response:
    status_code: int | None  # None when no HTTP answer came (timeout, refused, DNS ...)
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed try: the signed body must reach the registered URL itself."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: str, headers: dict[str, str],
         timeout: float = TIMEOUT_SECONDS) -> Response:
    """POSTs once; never raises for network or HTTP failures (they are outcomes)."""
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked below
        url, data=body.encode(), method="POST",
        headers={**headers, "content-type": "application/json",
                 "user-agent": "TrackMyCrime-Webhooks/1"})
    started = time.monotonic()
    status, error = None, None
    if not url.startswith(("https://", "http://")):
        return Response(None, "endpoint_url is not an http(s) URL", 0)
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            answer.read(4096)
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        error = f"HTTP {exc.code}"
        exc.close()
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        error = f"{type(exc).__name__}: {reason}"[:MAX_ERROR]
    elapsed = int((time.monotonic() - started) * 1000)
    return Response(status, error, elapsed)
