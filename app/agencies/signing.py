"""Standard Webhooks secrets and signatures (standardwebhooks library)."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET_PREFIX = "whsec_"


def new_secret(n_bytes: int = 32) -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(n_bytes)).decode()


class SignatureError(Exception):
    pass


def _well_formed(signatures: str) -> str:
    """The `version,base64` entries of a signature list. The library gives up on the whole list
    at the first malformed entry; the contract says any listed signature may match."""
    kept = []
    for entry in signatures.split(" "):
        version, _, signature = entry.partition(",")
        try:
            if version and signature and "," not in signature:
                base64.b64decode(signature)
                kept.append(entry)
        except binascii.Error:
            continue
    return " ".join(kept)


def verify(body: str, headers: Mapping[str, str], active_secrets: Iterable[str]) -> None:
    """Passes if any listed signature matches any active secret; else raises SignatureError."""
    given = {name.lower(): value for name, value in headers.items()}
    if given.get("webhook-signature"):
        given["webhook-signature"] = _well_formed(given["webhook-signature"])
    reason = "no active signing secret for this agency"
    for secret in active_secrets:
        try:
            Webhook(secret).verify(body, given, json_parse=False)
            return
        except WebhookVerificationError as exc:
            reason = str(exc)
        except (ValueError, TypeError):  # malformed signature list or base64
            reason = "malformed webhook-signature header"
    raise SignatureError(reason)


def sign(secrets: Iterable[str], webhook_id: str, body: str,
         at: datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers for an outbound delivery, with one `v1,` signature per secret
    (newest first), so an agency that has or has not yet picked up a rotated secret can verify."""
    at = at or datetime.now(UTC)
    signatures = [Webhook(secret).sign(webhook_id, at, body) for secret in secrets]
    if not signatures:
        raise ValueError("the agency has no active signing secret")
    return {"webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": " ".join(signatures)}
