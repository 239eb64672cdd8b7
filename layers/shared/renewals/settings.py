"""Configuration of every function, read once from environment variables at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator


class SettingsError(RuntimeError):
    """Raised at cold start when an environment variable is missing or invalid; the message names each one."""


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an absolute http or https URL")
    return value


Seconds = Annotated[int, Field(gt=0)]
# URLs stay the exact configured strings: Walmart compares the redirect URI character by character.
HttpUrl = Annotated[str, AfterValidator(_check_http_url)]


class Settings(BaseModel):
    """Typed view of the environment. Field aliases are the environment variable names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=1)
    credentials_table: str = Field(alias="CREDENTIALS_TABLE", min_length=1)
    oauth_states_table: str = Field(alias="OAUTH_STATES_TABLE", min_length=1)
    start_tickets_table: str = Field(alias="START_TICKETS_TABLE", min_length=1)
    magic_links_table: str = Field(alias="MAGIC_LINKS_TABLE", min_length=1)
    dismissals_table: str = Field(alias="DISMISSALS_TABLE", min_length=1)
    reminder_outbox_table: str = Field(alias="REMINDER_OUTBOX_TABLE", min_length=1)
    suppressions_table: str = Field(alias="SUPPRESSIONS_TABLE", min_length=1)

    # Every link and redirect the service builds starts from these, never from the request's Host header.
    public_base_url: HttpUrl = Field(alias="PUBLIC_BASE_URL")
    app_url: HttpUrl = Field(alias="APP_URL")

    walmart_authorize_url: HttpUrl = Field(alias="WALMART_AUTHORIZE_URL")
    walmart_api_base_url: HttpUrl = Field(alias="WALMART_API_BASE_URL")
    walmart_redirect_uri: HttpUrl = Field(alias="WALMART_REDIRECT_URI")
    walmart_credentials_secret: str = Field(alias="WALMART_CREDENTIALS_SECRET", min_length=1)
    walmart_client_type: str = Field(alias="WALMART_CLIENT_TYPE", default="seller")
    walmart_service_name: str = Field(alias="WALMART_SERVICE_NAME", default="Walmart Marketplace")
    walmart_market: str = Field(alias="WALMART_MARKET", default="us")
    walmart_timeout_seconds: float = Field(alias="WALMART_TIMEOUT_SECONDS", default=10.0, gt=0)

    token_key_id: str = Field(alias="TOKEN_KEY_ID", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    email_sender: str = Field(alias="EMAIL_SENDER", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    start_ticket_ttl_seconds: Seconds = Field(alias="START_TICKET_TTL_SECONDS", default=120)
    oauth_state_ttl_seconds: Seconds = Field(alias="OAUTH_STATE_TTL_SECONDS", default=600)
    magic_link_ttl_days: Seconds = Field(alias="MAGIC_LINK_TTL_DAYS", default=7)
    popup_dismiss_hours: Seconds = Field(alias="POPUP_DISMISS_HOURS", default=24)
    manual_reminder_interval_seconds: Seconds = Field(alias="MANUAL_REMINDER_INTERVAL_SECONDS", default=3600)
    reminder_cadence_days: tuple[int, ...] = Field(alias="REMINDER_CADENCE_DAYS", default=(0, 3, 7, 14))
    reminder_repeat_days: Seconds = Field(alias="REMINDER_REPEAT_DAYS", default=7)
    reminder_max_emails: Seconds = Field(alias="REMINDER_MAX_EMAILS", default=8)
    reminder_due_shards: int = Field(alias="REMINDER_DUE_SHARDS", default=8, ge=1, le=256)

    @field_validator("reminder_cadence_days", mode="before")
    @classmethod
    def _parse_cadence(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not parts or not all(part.isdigit() for part in parts):
                raise ValueError("expected comma-separated whole days, such as 0,3,7,14")
            return tuple(int(part) for part in parts)
        return value

    @field_validator("reminder_cadence_days")
    @classmethod
    def _check_cadence_order(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if list(value) != sorted(set(value)):
            raise ValueError("days must be strictly increasing")
        return value

    @property
    def uses_https(self) -> bool:
        return urlsplit(self.public_base_url).scheme == "https"

    def public_url(self, path: str) -> str:
        """Return an absolute URL on the service's own public base for a path starting with '/'."""
        return self.public_base_url.rstrip("/") + path


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from `environ` (the process environment by default), raising SettingsError naming each
    missing or invalid variable."""
    source = os.environ if environ is None else environ
    try:
        return Settings.model_validate(dict(source))
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            name = ".".join(str(part) for part in detail["loc"])
            reason = "missing" if detail["type"] == "missing" else f"invalid: {detail['msg']}"
            problems.append(f"{name} is {reason}")
        raise SettingsError("environment variables not usable: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process's Settings, loaded on first use and cached for the life of the execution environment."""
    return load_settings()
