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

    webhook_tolerance_seconds: int = 300
    webhook_max_body_bytes: int = 256 * 1024
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
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
