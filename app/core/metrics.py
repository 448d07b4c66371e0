"""Prometheus metrics. Labels never carry personal data or case references.

With several app processes, set PROMETHEUS_MULTIPROC_DIR so /metrics aggregates them all.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

EVENTS = Counter("tmc_events_received_total", "Agency events by type and outcome",
                 ["type", "outcome"])
REQUESTS = Histogram("tmc_http_request_seconds", "HTTP requests by route and status",
                     ["route", "method", "status"],
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


def render() -> tuple[bytes, str]:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
