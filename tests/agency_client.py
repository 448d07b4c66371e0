"""An agency as the contract sees it: it signs with the standardwebhooks library and POSTs."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from app.agencies import service
from app.core.config import Settings

_ids = itertools.count(1)


def at(day: str, hhmm: str = "09:00") -> str:
    """An RFC 3339 UTC timestamp for a test journey."""
    return f"{day}T{hhmm}:00Z"


def recent(minutes_ago: float = 0) -> str:
    """An RFC 3339 UTC timestamp that many minutes before now: for a journey whose deadlines
    must still be running, or an event that must come after something the test just did."""
    moment = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class AgencyClient:
    agency_id: str
    kind: str
    secret: str
    client: Any
    sent: list[str] = field(default_factory=list)

    def envelope(self, event_type: str, crime_reference: str, data: dict[str, Any],
                 occurred_at: str | None = None) -> dict[str, Any]:
        return {"type": event_type, "occurred_at": occurred_at or at("2026-11-20"),
                "crime_reference": crime_reference, "data": data}

    def signed_headers(self, body: str, webhook_id: str | None = None,
                       timestamp: datetime | None = None, secret: str | None = None
                       ) -> dict[str, str]:
        webhook_id = webhook_id or f"{self.agency_id}-evt-{next(_ids)}"
        timestamp = timestamp or datetime.now(UTC)
        signature = Webhook(secret or self.secret).sign(webhook_id, timestamp, body)
        return {"webhook-id": webhook_id, "webhook-timestamp": str(int(timestamp.timestamp())),
                "webhook-signature": signature, "content-type": "application/json"}

    def post_raw(self, body: str | bytes, headers: dict[str, str]):
        return self.client.post(f"/webhooks/agencies/{self.agency_id}/events", content=body,
                                headers=headers)

    def send(self, event_type: str, crime_reference: str, data: dict[str, Any],
             occurred_at: str | None = None, webhook_id: str | None = None):
        body = json.dumps(self.envelope(event_type, crime_reference, data, occurred_at))
        headers = self.signed_headers(body, webhook_id)
        self.sent.append(headers["webhook-id"])
        return self.post_raw(body, headers)

    def send_ok(self, *args: Any, **kwargs: Any) -> Any:
        response = self.send(*args, **kwargs)
        assert response.status_code == 202, response.text
        return response


@dataclass
class Registry:
    session: Session
    settings: Settings
    client: Any

    def add(self, agency_id: str, kind: str, name: str) -> AgencyClient:
        _agency, secret = service.add_agency(self.session, self.settings.secret_key, agency_id,
                                             kind, name)
        return AgencyClient(agency_id, kind, secret, self.client)


def victim(ref: str = "V1", **overrides: Any) -> dict[str, Any]:
    base = {"victim_ref": ref, "given_name": "Alex", "family_name": "Testperson",
            "date_of_birth": "1990-05-17", "email": f"{ref.lower()}@example.com",
            "mobile": "07700 900123"}
    return base | overrides


def opened(offence_group: str = "burglary", victims: list[dict[str, Any]] | None = None,
           **overrides: Any) -> dict[str, Any]:
    return {"crime_type": "Burglary", "offence_group": offence_group, "borough": "Hackney",
            "reported_at": "2026-11-19T18:30:00Z", "victims": victims or [victim()]} | overrides


def later(timestamp: str, minutes: int) -> str:
    value = datetime.fromisoformat(timestamp.replace("Z", "+00:00")) + timedelta(minutes=minutes)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
