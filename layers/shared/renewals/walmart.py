"""Walmart Marketplace OAuth client: the authorize URL, the token endpoint and the partner profile.

Walmart's protocol differs from RFC 6749 in three places, which this module handles:
- the authorize URL takes camelCase parameters (`responseType`, `clientId`, `redirectUri`, `clientType`);
- every API call carries `WM_*` headers, and the token request names the seller in `WM_PARTNER.ID`;
- API calls send the access token in `WM_SEC.ACCESS_TOKEN`, not in an `Authorization: Bearer` header.

Token requests go through requests-oauthlib's OAuth2Session. Its compliance hooks check the HTTP status and the
JSON body before oauthlib parses it, because oauthlib alone would read a 500 page or a non-JSON body as a token
response with a missing token.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from oauthlib.oauth2 import OAuth2Error, is_secure_transport
from requests_oauthlib import OAuth2Session

from renewals.observability import logger

TOKEN_PATH = "/v3/token"  # noqa: S105 - a URL path, not a password
PARTNER_PROFILE_PATH = "/v3/settings/partnerprofile"
AUTHORIZE_PARAMETERS = ("responseType", "clientId", "redirectUri", "clientType", "nonce", "state")

# requests-oauthlib 2.0.0 logs the token request body (which contains the authorization code) and the token
# response at DEBUG level. Raising these loggers to INFO keeps both out of the logs even when a function runs
# with LOG_LEVEL=DEBUG.
for _library_logger in ("requests_oauthlib", "oauthlib"):
    logging.getLogger(_library_logger).setLevel(max(logging.getLogger(_library_logger).level, logging.INFO))

# Error codes from Walmart go into exception messages and logs, so only short identifier-like codes are kept.
_ERROR_CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class WalmartError(Exception):
    """Base class of every failure of a Walmart call. Messages carry no token, code or secret."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code
        self.correlation_id = correlation_id


class WalmartDeclined(WalmartError):
    """Walmart returned an OAuth `access_denied` error: the seller or Walmart did not grant access."""


class WalmartInvalidGrant(WalmartError):
    """Walmart rejected the authorization code or refresh token as invalid, expired or already used."""


class WalmartUnavailable(WalmartError):
    """Walmart did not respond in time, the connection failed, or Walmart returned a 5xx, 408 or 429 status."""


class WalmartMalformedResponse(WalmartError):
    """Walmart returned a body that is not JSON or lacks a required field of the right type."""


class WalmartRejected(WalmartError):
    """Walmart rejected the request for another reason, such as invalid client credentials or a missing header."""


@dataclass(frozen=True)
class WalmartConfig:
    """Endpoints and client credentials of one Walmart app registration."""

    authorize_url: str
    api_base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    # Walmart compares this string character by character with the one sent to the authorize URL.
    redirect_uri: str
    client_type: str = "seller"
    # Value of the WM_SVC.NAME header.
    service_name: str = "Walmart Marketplace"
    # Value of the WM_MARKET header.
    market: str = "us"
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        for name in ("authorize_url", "api_base_url", "client_id", "client_secret", "redirect_uri"):
            if not getattr(self, name):
                raise ValueError(
                    f"WalmartConfig.{name} is empty. Set it to the value from the Walmart app registration."
                )
        if self.timeout_seconds <= 0:
            raise ValueError(f"WalmartConfig.timeout_seconds must be positive, got {self.timeout_seconds}")


@dataclass(frozen=True)
class WalmartTokens:
    """Tokens from Walmart's token endpoint. `expires_in` is the access token's lifetime in seconds."""

    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    scope: str | None = None

    def __repr__(self) -> str:
        return (
            f"WalmartTokens(access_token='***', refresh_token='***', token_type={self.token_type!r}, "
            f"expires_in={self.expires_in}, scope={self.scope!r})"
        )


@dataclass(frozen=True)
class PartnerProfile:
    """Seller identity from Walmart's partner profile. `display_name` is None when Walmart sends no name."""

    partner_id: str
    display_name: str | None


class WalmartClient:
    """Client for one Walmart app registration.

    Each call opens its own OAuth2Session, so one client can serve many sellers and threads without sharing
    token state. `session_factory` is called with `client_id` and `redirect_uri` keywords and defaults to
    OAuth2Session itself.
    """

    def __init__(self, config: WalmartConfig, session_factory: Callable[..., OAuth2Session] | None = None) -> None:
        # oauthlib refuses plain http unless OAUTHLIB_INSECURE_TRANSPORT is set, which only the local stand-in
        # needs. Checking here reports the misconfiguration at cold start instead of on the first callback.
        if not is_secure_transport(config.api_base_url):
            raise ValueError(
                f"WalmartConfig.api_base_url {config.api_base_url!r} must use https. "
                "Set OAUTHLIB_INSECURE_TRANSPORT=1 only for a local stand-in on 127.0.0.1."
            )
        self._config = config
        self._session_factory = session_factory or OAuth2Session
        self._token_url = config.api_base_url.rstrip("/") + TOKEN_PATH
        self._profile_url = config.api_base_url.rstrip("/") + PARTNER_PROFILE_PATH

    def authorize_url(self, state: str, nonce: str) -> str:
        """Build the URL of Walmart's consent page, keeping any query already on the configured authorize URL."""
        parts = urlsplit(self._config.authorize_url)
        existing = parse_qsl(parts.query, keep_blank_values=True)
        other_parameters = [(name, value) for name, value in existing if name not in AUTHORIZE_PARAMETERS]
        walmart_parameters = [
            ("responseType", "code"),
            ("clientId", self._config.client_id),
            ("redirectUri", self._config.redirect_uri),
            ("clientType", self._config.client_type),
            ("nonce", nonce),
            ("state", state),
        ]
        return urlunsplit(parts._replace(query=urlencode(other_parameters + walmart_parameters)))

    def exchange_code(self, code: str, seller_id: str) -> WalmartTokens:
        """Exchange an authorization code from Walmart's callback for tokens of the seller `seller_id`.

        Raises WalmartInvalidGrant when Walmart rejects the code as expired, already used or issued for another
        redirect URI or seller, and another WalmartError subclass for every other failure.
        """
        correlation_id = str(uuid.uuid4())

        def fetch(session: OAuth2Session) -> Mapping[str, Any]:
            session.register_compliance_hook(
                "access_token_response", _token_response_checker(correlation_id, require_refresh_token=True)
            )
            return session.fetch_token(
                self._token_url,
                code=code,
                auth=(self._config.client_id, self._config.client_secret),
                include_client_id=False,
                headers=self._token_headers(correlation_id, seller_id),
                timeout=self._config.timeout_seconds,
            )

        token = self._call_token_endpoint(fetch, "token request", correlation_id)
        return WalmartTokens(
            access_token=token["access_token"],
            refresh_token=token["refresh_token"],
            token_type=token.get("token_type", "Bearer"),
            expires_in=token["expires_in"],
            scope=_scope_text(token.get("scope")),
        )

    def refresh_access_token(self, refresh_token: str, seller_id: str) -> WalmartTokens:
        """Request a new access token. Walmart returns no new refresh token, so the result keeps the given one."""
        correlation_id = str(uuid.uuid4())

        def refresh(session: OAuth2Session) -> Mapping[str, Any]:
            session.register_compliance_hook(
                "refresh_token_response", _token_response_checker(correlation_id, require_refresh_token=False)
            )
            return session.refresh_token(
                self._token_url,
                refresh_token=refresh_token,
                auth=(self._config.client_id, self._config.client_secret),
                headers=self._token_headers(correlation_id, seller_id),
                timeout=self._config.timeout_seconds,
            )

        token = self._call_token_endpoint(refresh, "token refresh", correlation_id)
        return WalmartTokens(
            access_token=token["access_token"],
            refresh_token=refresh_token,
            token_type=token.get("token_type", "Bearer"),
            expires_in=token["expires_in"],
            scope=_scope_text(token.get("scope")),
        )

    def partner_profile(self, access_token: str, seller_id: str) -> PartnerProfile:
        """Fetch the seller id and display name that the access token belongs to."""
        correlation_id = str(uuid.uuid4())
        headers = self._wm_headers(correlation_id, seller_id)
        headers["WM_SEC.ACCESS_TOKEN"] = access_token
        try:
            with self._new_session() as session:
                # The session has no token and withhold_token is set, so OAuth2Session adds no Authorization header.
                response = session.request(
                    "GET",
                    self._profile_url,
                    headers=headers,
                    timeout=self._config.timeout_seconds,
                    withhold_token=True,
                )
        except requests.RequestException as error:
            raise _unavailable("partner profile request", correlation_id, error) from error

        logger.info(
            "walmart partner profile response",
            correlation_id=correlation_id,
            status_code=response.status_code,
            seller_id=seller_id,
        )
        _raise_for_status(response, "partner profile request", correlation_id)
        return _parse_partner_profile(_json_object(response, "partner profile", correlation_id), correlation_id)

    def _call_token_endpoint(
        self, send: Callable[[OAuth2Session], Mapping[str, Any]], action: str, correlation_id: str
    ) -> Mapping[str, Any]:
        """Run one token request on a new session, mapping requests and oauthlib exceptions to WalmartError."""
        try:
            with self._new_session() as session:
                return send(session)
        except requests.RequestException as error:
            raise _unavailable(action, correlation_id, error) from error
        except OAuth2Error as error:
            raise _from_oauthlib_error(error, correlation_id) from None
        except ValueError:
            # oauthlib raises ValueError for an expires_in that it cannot read as an integer. The response hook
            # rejects such a body first, so this branch and the OAuth2Error one are fallbacks.
            raise WalmartMalformedResponse(
                f"Walmart token response is invalid (correlation id {correlation_id})", correlation_id=correlation_id
            ) from None

    def _new_session(self) -> OAuth2Session:
        return self._session_factory(client_id=self._config.client_id, redirect_uri=self._config.redirect_uri)

    def _wm_headers(self, correlation_id: str, seller_id: str) -> dict[str, str]:
        return {
            "WM_QOS.CORRELATION_ID": correlation_id,
            "WM_SVC.NAME": self._config.service_name,
            "WM_PARTNER.ID": seller_id,
            "WM_MARKET": self._config.market,
            "Accept": "application/json",
        }

    def _token_headers(self, correlation_id: str, seller_id: str) -> dict[str, str]:
        headers = self._wm_headers(correlation_id, seller_id)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return headers


def _token_response_checker(
    correlation_id: str, *, require_refresh_token: bool
) -> Callable[[requests.Response], requests.Response]:
    """Build a compliance hook that raises a WalmartError unless the response is a usable token response."""

    def check(response: requests.Response) -> requests.Response:
        logger.info("walmart token response", correlation_id=correlation_id, status_code=response.status_code)
        _raise_for_status(response, "token request", correlation_id)
        payload = _json_object(response, "token", correlation_id)
        if "error" in payload:
            raise _error_for_code(_error_code(payload), response.status_code, "token request", correlation_id)
        _check_token_fields(payload, correlation_id, require_refresh_token=require_refresh_token)
        return response

    return check


def _check_token_fields(payload: Mapping[str, Any], correlation_id: str, *, require_refresh_token: bool) -> None:
    required = ["access_token", "expires_in"] + (["refresh_token"] if require_refresh_token else [])
    missing = [name for name in required if name not in payload]
    if missing:
        raise WalmartMalformedResponse(
            f"Walmart token response is missing {', '.join(missing)} (correlation id {correlation_id})",
            correlation_id=correlation_id,
        )

    wrong_types = []
    for name in ("access_token", "refresh_token", "token_type"):
        if name in payload and (not isinstance(payload[name], str) or not payload[name]):
            wrong_types.append(name)
    expires_in = payload["expires_in"]
    # bool is a subclass of int, so a JSON `true` needs its own check.
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        wrong_types.append("expires_in")
    scope = payload.get("scope")
    if scope is not None and not isinstance(scope, str | list):
        wrong_types.append("scope")
    if wrong_types:
        raise WalmartMalformedResponse(
            f"Walmart token response has invalid {', '.join(wrong_types)} (correlation id {correlation_id})",
            correlation_id=correlation_id,
        )


def _parse_partner_profile(payload: Mapping[str, Any], correlation_id: str) -> PartnerProfile:
    partner = payload.get("partner")
    if not isinstance(partner, Mapping):
        partner = {}

    partner_id = partner.get("partnerId")
    if isinstance(partner_id, int) and not isinstance(partner_id, bool):
        partner_id = str(partner_id)
    if not isinstance(partner_id, str) or not partner_id:
        raise WalmartMalformedResponse(
            f"Walmart partner profile has no partner.partnerId (correlation id {correlation_id})",
            correlation_id=correlation_id,
        )

    # NOTE: Which field of the partner profile carries the seller's display name is not confirmed, so the first
    # non-empty string among these candidates is used.
    display_name = None
    for source, name in (
        (partner, "partnerDisplayName"),
        (partner, "partnerName"),
        (partner, "displayName"),
        (payload, "partnerDisplayName"),
        (payload, "partnerName"),
        (payload, "sellerName"),
    ):
        value = source.get(name)
        if isinstance(value, str) and value.strip():
            display_name = value.strip()
            break
    return PartnerProfile(partner_id=partner_id, display_name=display_name)


def _raise_for_status(response: requests.Response, action: str, correlation_id: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if status >= 500 or status in (408, 429):
        raise WalmartUnavailable(
            f"Walmart {action} failed with HTTP {status} (correlation id {correlation_id}). Try again later.",
            status_code=status,
            correlation_id=correlation_id,
        )
    try:
        payload = response.json()
    except ValueError:
        payload = None
    raise _error_for_code(_error_code(payload), status, action, correlation_id)


def _error_for_code(error_code: str | None, status: int, action: str, correlation_id: str) -> WalmartError:
    """Map an error code from Walmart to the matching WalmartError subclass."""
    detail = f"Walmart {action} failed with HTTP {status}"
    if error_code:
        detail += f" and error {error_code}"
    detail += f" (correlation id {correlation_id})"
    keywords = {"status_code": status, "error_code": error_code, "correlation_id": correlation_id}

    normalized = (error_code or "").lower()
    if "invalid_grant" in normalized:
        return WalmartInvalidGrant(detail, **keywords)
    if "access_denied" in normalized:
        return WalmartDeclined(detail, **keywords)
    if 200 <= status < 300:
        return WalmartMalformedResponse(detail, **keywords)
    return WalmartRejected(detail, **keywords)


def _error_code(payload: object) -> str | None:
    """Return the error code of an RFC 6749 error body or of Walmart's `{"errors": [{"code": ...}]}` shape."""
    if not isinstance(payload, Mapping):
        return None
    candidate: object = payload.get("error")
    if isinstance(candidate, list | tuple) or candidate is None:
        entries = candidate if candidate is not None else payload.get("errors")
        candidate = None
        if isinstance(entries, list | tuple) and entries and isinstance(entries[0], Mapping):
            candidate = entries[0].get("code") or entries[0].get("error")
    if isinstance(candidate, str) and _ERROR_CODE_PATTERN.match(candidate):
        return candidate
    return None


def _json_object(response: requests.Response, response_name: str, correlation_id: str) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise WalmartMalformedResponse(
            f"Walmart {response_name} response is not a JSON object (HTTP {response.status_code}, "
            f"correlation id {correlation_id})",
            status_code=response.status_code,
            correlation_id=correlation_id,
        )
    return payload


def _from_oauthlib_error(error: OAuth2Error, correlation_id: str) -> WalmartError:
    # Only the error code is kept, because oauthlib's description comes from the response and could echo the code.
    error_code = error.error if isinstance(error.error, str) and _ERROR_CODE_PATTERN.match(error.error) else None
    status = error.status_code if isinstance(error.status_code, int) else 400
    mapped = _error_for_code(error_code, status, "token request", correlation_id)
    if type(mapped) is WalmartRejected:
        # oauthlib raises only after the response hook has accepted the status, so the body is at fault.
        return WalmartMalformedResponse(str(mapped), error_code=error_code, correlation_id=correlation_id)
    return mapped


def _unavailable(action: str, correlation_id: str, error: requests.RequestException) -> WalmartUnavailable:
    reason = "timed out" if isinstance(error, requests.Timeout) else f"failed ({type(error).__name__})"
    logger.warning("walmart request failed", correlation_id=correlation_id, error_type=type(error).__name__)
    return WalmartUnavailable(
        f"Walmart {action} {reason} (correlation id {correlation_id}). Try again later.",
        correlation_id=correlation_id,
    )


def _scope_text(scope: object) -> str | None:
    if isinstance(scope, str):
        return scope or None
    if isinstance(scope, list | tuple):
        return " ".join(str(item) for item in scope) or None
    return None
