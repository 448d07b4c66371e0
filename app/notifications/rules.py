"""Pure timing rules of delivery: quiet hours, retry backoff, and the limits carriers tolerate."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from app.core.i18n import LONDON

# Retries: exponential backoff with full jitter, for about 4 hours from the first try (GOV.UK
# Notify retries for about 4 hours too), then technical-failure and the victim's other channel.
RETRY_WINDOW = timedelta(hours=4)
RETRY_BASE_SECONDS = 10.0
RETRY_CAP_SECONDS = 20 * 60.0
# A message handed to a provider that never reports back is a temporary failure after this.
RECEIPT_TIMEOUT = timedelta(hours=72)
# Safety alerts unacknowledged for this long get a person to phone the victim (safety-ack).
SAFETY_ACK_WITHIN = timedelta(hours=2)


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """The wait before try number attempts+1: between half and all of min(cap, base*2^(n-1))."""
    ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


def _parse(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def quiet_until(now: datetime, quiet_from: str | None, quiet_to: str | None) -> datetime | None:
    """The end of the victim's quiet hours (Europe/London) if `now` falls inside them."""
    if not quiet_from or not quiet_to or quiet_from == quiet_to:
        return None
    local = now.astimezone(LONDON)
    start, end = _parse(quiet_from), _parse(quiet_to)
    clock = local.time().replace(second=0, microsecond=0)
    if start < end:  # e.g. 13:00-15:00
        inside = start <= clock < end
        end_day = local.date()
    else:  # across midnight, e.g. 21:00-08:00
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    naive_end = datetime.combine(end_day, end)
    return naive_end.replace(tzinfo=LONDON).astimezone(now.tzinfo)
