"""OAuth callback: check the state, exchange the code, verify the seller, store the tokens and mark the account renewed.

Checks run in this order: repeated parameters, a declined consent, then the state (present, unexpired, not
consumed, bound to this browser by its cookie). The state is consumed in one conditional write before the code is
exchanged, so concurrent deliveries of one callback exchange the code once. A delivery that finds the state
already consumed reports how the first delivery ended.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import parse_qsl

from aws_lambda_powertools.metrics import MetricUnit

from renewals.authorization import walmart_client
from renewals.data.accounts import get_account, mark_renewed
from renewals.data.aws import CredentialsUnavailable, encrypt_for_account, publish_renewed
from renewals.data.credentials import put_credentials
from renewals.data.flows import AlreadyUsed, consume_oauth_state, get_oauth_state, set_oauth_state_outcome
from renewals.data.models import AccountModel, CredentialModel, OAuthStateModel
from renewals.data.oauth_outcomes import get_consumed_oauth_state
from renewals.notifications import send_renewal_notices
from renewals.observability import logger, metrics
from renewals.settings import Settings
from renewals.tokens import hash_token, token_matches
from renewals.walmart import (
    WalmartDeclined,
    WalmartError,
    WalmartInvalidGrant,
    WalmartMalformedResponse,
    WalmartTokens,
    WalmartUnavailable,
)
from renewals.web import binding_cookie_name

# Walmart documents a 365-day refresh token lifetime and does not return it in the token response.
REFRESH_TOKEN_LIFETIME = timedelta(days=365)
# Parameters that must appear at most once, read from the raw query because API Gateway joins repeats with commas.
SINGLE_PARAMETERS = ("state", "code", "sellerId")
# A delivery that loses the race to consume the state waits this long for the winner's outcome.
REPLAY_WAIT_SECONDS = 8.0
REPLAY_POLL_SECONDS = 0.25
# Error codes from the callback go into logs, so only short identifier-like values are kept.
ERROR_CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class Outcome(StrEnum):
    """Result of one callback delivery. The value is also stored on the consumed state for repeated deliveries."""

    RENEWED = "renewed"
    DECLINED = "declined"
    MISSING_CODE = "missing_code"
    INVALID_CALLBACK = "invalid_callback"
    STATE_UNUSABLE = "state_unusable"
    OTHER_BROWSER = "other_browser"
    IN_PROGRESS = "in_progress"
    SELLER_MISMATCH = "seller_mismatch"
    GRANT_REJECTED = "grant_rejected"
    WALMART_UNAVAILABLE = "walmart_unavailable"
    FAILED = "failed"


# One business metric per outcome that ends a renewal attempt. RenewalFailed counts every other failure.
OUTCOME_METRICS = {
    Outcome.RENEWED: "RenewalCompleted",
    Outcome.DECLINED: "RenewalDeclined",
    Outcome.SELLER_MISMATCH: "SellerMismatch",
}
FAILURE_METRIC = "RenewalFailed"


@dataclass(frozen=True)
class CallbackRequest:
    """Walmart's callback parameters and the browser's cookies. Empty parameters are read as absent."""

    state: str | None
    code: str | None
    seller_id: str | None
    error: str | None
    repeated: frozenset[str] = frozenset()
    cookies: dict[str, list[str]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"CallbackRequest(seller_id={self.seller_id!r}, error={self.error!r}, repeated={set(self.repeated)})"


@dataclass(frozen=True)
class CallbackResult:
    """The outcome of one callback delivery and what the response needs to show it.

    `replayed` is True when an earlier delivery of the same callback decided the outcome. `clear_cookie` names
    the binding cookie to drop once the flow is over.
    """

    outcome: Outcome
    account_id: str | None = None
    account_name: str | None = None
    channel: str | None = None
    replayed: bool = False
    clear_cookie: str | None = None


def parse_callback(raw_query: str, cookies: Iterable[str]) -> CallbackRequest:
    """Read the callback's query from the raw query string, which keeps repeated parameters apart."""
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        values.setdefault(name, []).append(value)
    jar: dict[str, list[str]] = {}
    for cookie in cookies:
        name, separator, value = cookie.partition("=")
        if separator:
            jar.setdefault(name.strip(), []).append(value.strip())

    def first(name: str) -> str | None:
        found = values.get(name)
        return found[0] if found and found[0] else None

    return CallbackRequest(
        state=first("state"),
        code=first("code"),
        seller_id=first("sellerId"),
        error=first("error"),
        repeated=frozenset(name for name in SINGLE_PARAMETERS if len(values.get(name, [])) > 1),
        cookies=jar,
    )


def complete_renewal(callback: CallbackRequest, now: datetime, settings: Settings) -> CallbackResult:
    """Finish the renewal that Walmart's callback reports, and return how it ended.

    Every problem a user can act on is an Outcome, and only an unexpected error before the state is consumed
    propagates. Emits one business metric per attempt that this delivery decided.
    """
    result = _complete(callback, now, settings)
    logger.info(
        "oauth callback finished",
        outcome=result.outcome.value,
        replayed=result.replayed,
        account_id=result.account_id,
        channel=result.channel,
    )
    if not result.replayed and result.outcome is not Outcome.IN_PROGRESS:
        metric = OUTCOME_METRICS.get(result.outcome, FAILURE_METRIC)
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    return result


def _complete(callback: CallbackRequest, now: datetime, settings: Settings) -> CallbackResult:
    if callback.repeated:
        logger.info("oauth callback rejected", reason="repeated parameters", names=sorted(callback.repeated))
        return CallbackResult(Outcome.INVALID_CALLBACK)
    if callback.error:
        return _declined(callback, now, settings)
    if not callback.code:
        # Walmart does not document how a declined consent returns, so a missing code may be one too.
        return _declined(callback, now, settings, Outcome.MISSING_CODE)
    if not callback.state:
        logger.info("oauth callback rejected", reason="no state parameter")
        return CallbackResult(Outcome.STATE_UNUSABLE)

    state_hash = hash_token(callback.state)
    cookie_name = binding_cookie_name(settings, state_hash)
    state = get_oauth_state(state_hash, now)
    if state is None:
        # Absent and expired states look the same, except that an expired one which already renewed its account
        # still shows success on a reload.
        return _replay(state_hash, cookie_name, wait=False)
    if state.consumed_at is not None:
        return _replay(state_hash, cookie_name, wait=True)
    if not _bound_to_browser(callback, cookie_name, state):
        logger.info(
            "oauth callback rejected", reason="binding cookie missing or different", account_id=state.account_id
        )
        return CallbackResult(Outcome.OTHER_BROWSER, account_id=state.account_id, channel=state.channel)

    try:
        consume_oauth_state(state, now)
    except AlreadyUsed:
        return _replay(state_hash, cookie_name, wait=True)

    try:
        result = _renew(state, callback, now, settings, cookie_name)
    except Exception:  # noqa: BLE001 - the state is consumed, so every failure must still record an outcome
        logger.exception("renewal failed", account_id=state.account_id)
        result = CallbackResult(
            Outcome.FAILED, account_id=state.account_id, channel=state.channel, clear_cookie=cookie_name
        )
    set_oauth_state_outcome(state, result.outcome.value)
    return result


def _bound_to_browser(callback: CallbackRequest, cookie_name: str, state: OAuthStateModel) -> bool:
    # Each value is compared in constant time, and a stale cookie of the same name does not hide the right one.
    candidates = callback.cookies.get(cookie_name, [])
    return any(token_matches(candidate, state.binding_hash) for candidate in candidates)


def _declined(
    callback: CallbackRequest, now: datetime, settings: Settings, outcome: Outcome = Outcome.DECLINED
) -> CallbackResult:
    """Report a declined consent (or, with `outcome`, a callback without a code), consuming its state when it is
    valid and bound to this browser.

    A consumed state cannot start another code exchange, so the same callback URL cannot be reused later.
    """
    error_code = callback.error if callback.error and ERROR_CODE_PATTERN.match(callback.error) else None

    def not_consumed(reason: str) -> None:
        logger.info(
            "renewal declined", outcome=outcome.value, error_code=error_code, state_consumed=False, reason=reason
        )

    if not callback.state:
        not_consumed("no state parameter")
        return CallbackResult(outcome)

    state_hash = hash_token(callback.state)
    cookie_name = binding_cookie_name(settings, state_hash)
    state = get_oauth_state(state_hash, now)
    if state is None:
        not_consumed("state unknown or expired")
        return CallbackResult(outcome)
    if state.consumed_at is not None:
        return CallbackResult(outcome, account_id=state.account_id, channel=state.channel, replayed=True)
    if not _bound_to_browser(callback, cookie_name, state):
        not_consumed("binding cookie missing or different")
        return CallbackResult(outcome, account_id=state.account_id, channel=state.channel)

    try:
        consume_oauth_state(state, now)
    except AlreadyUsed:
        return CallbackResult(outcome, account_id=state.account_id, channel=state.channel, replayed=True)
    set_oauth_state_outcome(state, outcome.value)
    logger.info(
        "renewal declined",
        outcome=outcome.value,
        error_code=error_code,
        state_consumed=True,
        account_id=state.account_id,
    )
    return CallbackResult(outcome, account_id=state.account_id, channel=state.channel, clear_cookie=cookie_name)


def _replay(state_hash: str, cookie_name: str, *, wait: bool) -> CallbackResult:
    """Return the outcome that an earlier delivery of the same callback recorded on the consumed state.

    With `wait`, a state still being processed is read again until its outcome is stored or the wait runs out.
    """
    deadline = time.monotonic() + (REPLAY_WAIT_SECONDS if wait else 0.0)
    while True:
        state = get_consumed_oauth_state(state_hash)
        if state is None:
            logger.info("oauth callback rejected", reason="state unknown or expired")
            return CallbackResult(Outcome.STATE_UNUSABLE, clear_cookie=cookie_name)
        if state.outcome == Outcome.RENEWED:
            account = get_account(state.account_id)
            return CallbackResult(
                Outcome.RENEWED,
                account_id=state.account_id,
                account_name=account.account_name if account is not None else None,
                channel=state.channel,
                replayed=True,
                clear_cookie=cookie_name,
            )
        if state.outcome is not None:
            logger.info("oauth callback rejected", reason="state already used", account_id=state.account_id)
            return CallbackResult(
                Outcome.STATE_UNUSABLE,
                account_id=state.account_id,
                channel=state.channel,
                replayed=True,
                clear_cookie=cookie_name,
            )
        if time.monotonic() >= deadline:
            return CallbackResult(
                Outcome.IN_PROGRESS if wait else Outcome.STATE_UNUSABLE,
                account_id=state.account_id,
                channel=state.channel,
                replayed=True,
            )
        time.sleep(REPLAY_POLL_SECONDS)


def _renew(
    state: OAuthStateModel, callback: CallbackRequest, now: datetime, settings: Settings, cookie_name: str
) -> CallbackResult:
    """Exchange the code of a consumed state, verify the seller and record the renewal."""

    def ended(outcome: Outcome, account: AccountModel | None = None) -> CallbackResult:
        return CallbackResult(
            outcome,
            account_id=state.account_id,
            account_name=account.account_name if account is not None else None,
            channel=state.channel,
            clear_cookie=cookie_name,
        )

    account = get_account(state.account_id)
    if account is None:
        logger.error("renewal failed", reason="account not found", account_id=state.account_id)
        return ended(Outcome.FAILED)
    seller_id = callback.seller_id
    if not seller_id:
        logger.warning("oauth callback rejected", reason="no sellerId parameter", account_id=account.account_id)
        return ended(Outcome.INVALID_CALLBACK, account)
    # An account imported without a seller id takes the one that Walmart's callback and profile agree on.
    expected_seller_id = account.walmart_seller_id or seller_id
    if seller_id != expected_seller_id:
        # Rejected before the exchange, so no tokens are issued for the wrong seller.
        logger.warning("seller mismatch", source="callback", account_id=account.account_id, seller_id=seller_id)
        return ended(Outcome.SELLER_MISMATCH, account)

    problem, tokens = _exchange_and_verify(callback.code or "", seller_id, settings, account)
    if problem is not None or tokens is None:
        # Tokens of a failed verification go out of scope here unused and unstored.
        return ended(problem or Outcome.FAILED, account)

    renewed = _record_renewal(account, state, seller_id, tokens, now, settings)
    # Only the delivery that renewed the account gets here, so a replayed callback sends no second notice.
    send_renewal_notices(renewed, now, settings)
    return ended(Outcome.RENEWED, renewed)


def _exchange_and_verify(
    code: str, seller_id: str, settings: Settings, account: AccountModel
) -> tuple[Outcome | None, WalmartTokens | None]:
    """Exchange the code and check the partner profile's seller. Return a problem outcome, or the tokens."""
    try:
        client = walmart_client(settings)
        tokens = client.exchange_code(code, seller_id=seller_id)
        profile = client.partner_profile(tokens.access_token, seller_id)
    except WalmartDeclined as error:
        logger.info("renewal declined", source="token endpoint", error_code=error.error_code)
        return Outcome.DECLINED, None
    except WalmartInvalidGrant as error:
        logger.warning("walmart rejected the code", error_code=error.error_code, correlation_id=error.correlation_id)
        return Outcome.GRANT_REJECTED, None
    except (WalmartUnavailable, WalmartMalformedResponse) as error:
        logger.warning("walmart unavailable", error=str(error), correlation_id=error.correlation_id)
        return Outcome.WALMART_UNAVAILABLE, None
    except (WalmartError, CredentialsUnavailable) as error:
        logger.error("walmart request failed", error=str(error), account_id=account.account_id)
        return Outcome.FAILED, None

    if profile.partner_id != seller_id:
        logger.warning(
            "seller mismatch", source="partner profile", account_id=account.account_id, seller_id=profile.partner_id
        )
        return Outcome.SELLER_MISMATCH, None
    return None, tokens


def _record_renewal(
    account: AccountModel,
    state: OAuthStateModel,
    seller_id: str,
    tokens: WalmartTokens,
    now: datetime,
    settings: Settings,
) -> AccountModel:
    """Store the encrypted tokens, mark the account renewed, publish the renewed event and return the account."""
    key_id = settings.token_key_id
    put_credentials(
        CredentialModel(
            account.account_id,
            seller_id=seller_id,
            encrypted_access_token=encrypt_for_account(key_id, account.account_id, tokens.access_token),
            encrypted_refresh_token=encrypt_for_account(key_id, account.account_id, tokens.refresh_token),
            key_id=key_id,
            issued_at=now,
            access_token_expires_at=now + timedelta(seconds=tokens.expires_in),
            refresh_token_expires_at=now + REFRESH_TOKEN_LIFETIME,
        )
    )
    renewed = mark_renewed(account.account_id, now, state.channel, state.initiator_id, seller_id)
    try:
        publish_renewed(settings.event_bus_name, account.account_id, seller_id, now, state.channel)
    except Exception:  # noqa: BLE001 - the renewal is stored, so the user still sees success
        # NOTE: nothing retries a lost event. The log line names the account, so an operator can publish it again.
        logger.exception("renewed event not published", account_id=account.account_id)
    return renewed
