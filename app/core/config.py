"""Settings from the environment (prefix TMC_) or a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-secret-key-change-me"
DEFAULT_SQLITE_PATH = Path("var") / "tmc.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TMC_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    redis_url: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    # Encrypts agency signing secrets at rest and signs sessions. Must be set in production.
    secret_key: str = DEV_SECRET_KEY

    sms_backend: Literal["outbox", "twilio", "notify"] = "outbox"
    email_backend: Literal["outbox", "smtp", "notify"] = "outbox"
    twilio_api_base_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    notify_api_key: str | None = None
    # Notifications (app/notifications): provider details and delivery tuning.
    notify_base_url: str = "https://api.notifications.service.gov.uk"
    notify_sms_template_id: str | None = None  # a Notify template whose content is ((body))
    notify_email_template_id: str | None = None  # subject ((subject)), content ((body))
    notify_callback_token: str | None = None  # bearer token Notify sends on delivery receipts
    email_from: str = "Track My Crime <notifications@localhost>"
    provider_timeout_seconds: float = Field(default=10.0, gt=0)
    # A worker's claim on a notification lasts this long; the sweep retries rows whose claim
    # expired (the worker died). Must exceed a batch's worst send time.
    notification_lease_seconds: float = Field(default=120.0, gt=0)
    notification_batch_size: int = Field(default=10, ge=1)
    # Further messages to one address within this window are held and sent as one digest.
    notification_digest_seconds: int = Field(default=300, ge=0)
    sms_hourly_limit: int = Field(default=100, ge=1)  # texts per number per hour
    sms_identical_hourly_limit: int = Field(default=20, ge=1)  # identical texts per hour
    # `tmc serve` on SQLite runs the worker in-process unless this is off (--no-worker).
    in_process_worker: bool = True

    # Victim portal (sign-in, sessions, live timeline).
    portal_session_idle_minutes: int = Field(default=30, ge=1)
    portal_session_max_hours: int = Field(default=12, ge=1)
    portal_code_minutes: int = Field(default=10, ge=1)
    portal_code_tries: int = Field(default=5, ge=1)
    portal_poll_seconds: int = Field(default=15, ge=1)
    # Optional OpenID Connect sign-in (e.g. GOV.UK One Login); off unless all three are set.
    oidc_server_metadata_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scope: str = "openid email"
    oidc_name: str = "GOV.UK One Login"

    # Staff console (/staff): OpenID Connect sign-in (Entra ID, Keycloak, ...), off unless the
    # three staff_oidc_* are set. Roles come from `staff_oidc_roles_claim` (a list or a string),
    # mapped through `staff_oidc_role_map` (provider value -> officer | supervisor | hub |
    # oversight | admin; JSON in the environment); values already naming a role need no entry.
    # Without staff OIDC, a dev sign-in serves development and tests; production refuses it.
    staff_oidc_server_metadata_url: str | None = None
    staff_oidc_client_id: str | None = None
    staff_oidc_client_secret: str | None = None
    staff_oidc_scope: str = "openid email profile"
    staff_oidc_roles_claim: str = "roles"
    staff_oidc_role_map: dict[str, str] = Field(default_factory=dict)
    staff_oidc_name: str = "your organisation's account"
    staff_session_idle_minutes: int = Field(default=60, ge=1)
    staff_session_max_hours: int = Field(default=12, ge=1)

    webhook_max_body_bytes: int = 256 * 1024
    # Every other request (portal and staff forms): a Victim Personal Statement is the longest.
    form_max_body_bytes: int = 128 * 1024
    max_header_bytes: int = 32 * 1024
    # A request's body must all arrive within this many seconds of its headers, or it is
    # answered 408 and nothing is done with it (app/core/request_limits.py; docs/security.md).
    request_body_timeout_seconds: float = Field(default=10.0, gt=0)
    db_pool_size: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
            problems.append("TMC_SECRET_KEY must be set to a random value of 32+ characters")
        if self.sms_backend == "outbox" or self.email_backend == "outbox":
            problems.append("the dev outbox cannot be used in production")
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_server_metadata_url and self.oidc_client_id
                    and self.oidc_client_secret)

    @property
    def staff_oidc_enabled(self) -> bool:
        return bool(self.staff_oidc_server_metadata_url and self.staff_oidc_client_id
                    and self.staff_oidc_client_secret)

    @property
    def staff_dev_sign_in(self) -> bool:
        """The dev staff sign-in: never in production, never beside a real provider."""
        return self.env != "production" and not self.staff_oidc_enabled

    @property
    def secure_cookies(self) -> bool:
        return self.env not in ("development", "test")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
