"""Start of Walmart's OAuth flow, shared by the dashboard route and magic links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aws_lambda_powertools.shared.cookies import Cookie

from renewals.data.aws import walmart_client_credentials
from renewals.data.flows import put_oauth_state
from renewals.data.models import OAuthStateModel
from renewals.settings import Settings
from renewals.tokens import hash_token, new_token
from renewals.walmart import WalmartClient, WalmartConfig
from renewals.web import binding_cookie


def walmart_client(settings: Settings) -> WalmartClient:
    """Build the Walmart client from Settings and the client credentials in Secrets Manager (cached)."""
    credentials = walmart_client_credentials(settings.walmart_credentials_secret)
    config = WalmartConfig(
        authorize_url=settings.walmart_authorize_url,
        api_base_url=settings.walmart_api_base_url,
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        redirect_uri=settings.walmart_redirect_uri,
        client_type=settings.walmart_client_type,
        service_name=settings.walmart_service_name,
        market=settings.walmart_market,
        timeout_seconds=settings.walmart_timeout_seconds,
    )
    return WalmartClient(config)


@dataclass(frozen=True)
class AuthorizationStart:
    """Walmart authorize URL for the browser, and the cookie that binds the flow to that browser."""

    authorize_url: str
    binding_cookie: Cookie
    state_hash: str


def begin_authorization(
    settings: Settings,
    now: datetime,
    account_id: str,
    channel: str,
    initiator_id: str,
    magic_link_hash: str | None = None,
) -> AuthorizationStart:
    """Create a single-use OAuth state for the account and return Walmart's authorize URL for it.

    The state and the browser-binding secret are 256-bit random values stored only as hashes. The callback
    accepts the state only from a browser that sends the binding cookie.
    """
    state = new_token()
    binding_secret = new_token()
    state_hash = hash_token(state)
    lifetime = timedelta(seconds=settings.oauth_state_ttl_seconds)
    put_oauth_state(
        OAuthStateModel(
            state_hash,
            account_id=account_id,
            channel=channel,
            initiator_id=initiator_id,
            binding_hash=hash_token(binding_secret),
            magic_link_hash=magic_link_hash,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    url = walmart_client(settings).authorize_url(state=state, nonce=new_token())
    cookie = binding_cookie(settings, state_hash, binding_secret, settings.oauth_state_ttl_seconds)
    return AuthorizationStart(authorize_url=url, binding_cookie=cookie, state_hash=state_hash)
