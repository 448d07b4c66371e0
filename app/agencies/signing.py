"""Standard Webhooks secrets and signatures (standardwebhooks library)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET_PREFIX = "whsec_"


def new_secret(n_bytes: int = 32) -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(n_bytes)).decode()


class SignatureError(Exception):
    pass


def verify(body: str, headers: Mapping[str, str], active_secrets: Iterable[str]) -> None:
    """Passes if any listed signature matches any active secret; else raises SignatureError."""
    reason = "no active signing secret for this agency"
    for secret in active_secrets:
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
            return
        except WebhookVerificationError as exc:
            reason = str(exc)
        except (ValueError, TypeError):  # malformed signature list or base64
            reason = "malformed webhook-signature header"
    raise SignatureError(reason)


def sign(secret: str, webhook_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    """Headers for an outbound (or test) delivery."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, timestamp, body),
    }
