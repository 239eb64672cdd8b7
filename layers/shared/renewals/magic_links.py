"""Magic links: a URL that lets a client renew one account's Walmart connection without signing in to the app.

A link carries a 256-bit random token. Only the token's SHA-256 hash is stored and looked up, so a lookup by
hash is a key read whose timing reveals nothing about stored tokens. A link works until it expires, is
revoked, or its account is renewed. Several links of one account may be live at once, because a link copied by
an accountant must keep working after a reminder email carries a newer one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from renewals.authorization import AuthorizationStart, begin_authorization
from renewals.data.accounts import AccountNotFound, get_account, is_pending, record_link_progress
from renewals.data.magic_links import (
    get_magic_link,
    put_magic_link,
    record_link_continued,
    record_link_opened,
    revoke_links_of_account,
)
from renewals.data.models import CHANNEL_MAGIC_LINK, PURPOSE_RENEW_CONNECTION, AccountModel, MagicLinkModel
from renewals.observability import logger
from renewals.settings import Settings
from renewals.tokens import hash_token, new_token

LINK_PATH_PREFIX = "/r/"
MAGIC_LINK_INITIATOR = "magic-link"
# Tokens from tokens.new_token are 43 URL-safe base64 characters. Anything else cannot be a token, so it is
# rejected without a table read.
_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


class LinkStatus(StrEnum):
    """State of a magic link as seen by the person who presents its token."""

    LIVE = "live"
    RENEWED = "renewed"
    UNUSABLE = "unusable"


@dataclass(frozen=True)
class IssuedLink:
    """A new magic link. `token` and `url` are secrets: they are kept out of repr and must never be logged."""

    token: str = field(repr=False)
    url: str = field(repr=False)
    token_hash: str
    account_id: str
    expires_at: datetime


@dataclass(frozen=True)
class LinkResolution:
    """The outcome of presenting a token. `link` and `account` are set for live and renewed links."""

    status: LinkStatus
    link: MagicLinkModel | None = None
    account: AccountModel | None = None

    @property
    def is_live(self) -> bool:
        return self.status is LinkStatus.LIVE


@dataclass(frozen=True)
class LinkContinuation:
    """The outcome of the page's Continue button. `authorization` is set only when the OAuth flow began."""

    resolution: LinkResolution
    authorization: AuthorizationStart | None = None


UNUSABLE = LinkResolution(LinkStatus.UNUSABLE)


def link_url(settings: Settings, token: str) -> str:
    """Return the public URL of a link's page, built on the configured base URL."""
    return settings.public_url(LINK_PATH_PREFIX + token)


def issue(account_id: str, issued_by: str, now: datetime, settings: Settings) -> IssuedLink:
    """Create a magic link for one account that expires after `settings.magic_link_ttl_days`.

    The caller checks that `issued_by` may act for the account and that the account still needs renewal.
    """
    token = new_token()
    token_hash = hash_token(token)
    expires_at = now + timedelta(days=settings.magic_link_ttl_days)
    put_magic_link(
        MagicLinkModel(
            token_hash,
            account_id=account_id,
            purpose=PURPOSE_RENEW_CONNECTION,
            issued_by=issued_by,
            created_at=now,
            expires_at=expires_at,
        )
    )
    _record_account_progress(account_id, issued_at=now)
    logger.info("magic link issued", account_id=account_id, issued_by=issued_by, link_id=token_hash[:12])
    return IssuedLink(
        token=token, url=link_url(settings, token), token_hash=token_hash, account_id=account_id, expires_at=expires_at
    )


def resolve(token: str, now: datetime) -> LinkResolution:
    """Return whether the token is a live link, a link of an already renewed account, or unusable.

    Unknown, expired and revoked links are all unusable, so the result does not distinguish them. Expiry is
    checked here because DynamoDB's TTL deletes expired items up to days late.
    """
    if not _TOKEN_PATTERN.match(token):
        return UNUSABLE
    link = get_magic_link(hash_token(token))
    if link is None or link.purpose != PURPOSE_RENEW_CONNECTION:
        return UNUSABLE
    if link.revoked_at is not None or link.expires_at <= now:
        return UNUSABLE
    account = get_account(link.account_id)
    if account is None:
        return UNUSABLE
    if not is_pending(account):
        return LinkResolution(LinkStatus.RENEWED, link, account)
    return LinkResolution(LinkStatus.LIVE, link, account)


def open_link(token: str, now: datetime) -> LinkResolution:
    """Resolve a token for its page and, for a live link, record that the page was opened.

    This records a view and changes nothing else, because email security scanners fetch links before people
    click them.
    """
    resolution = resolve(token, now)
    if resolution.link is not None and resolution.is_live:
        record_link_opened(resolution.link, now)
        _record_account_progress(resolution.link.account_id, opened_at=now)
    logger.info("magic link page shown", link_status=str(resolution.status), account_id=_account_id(resolution))
    return resolution


def continue_link(token: str, now: datetime, settings: Settings) -> LinkContinuation:
    """Start Walmart's OAuth flow for a live link's account, bound to the link, and record the step."""
    resolution = resolve(token, now)
    if resolution.link is None or not resolution.is_live:
        logger.info("magic link not continued", link_status=str(resolution.status), account_id=_account_id(resolution))
        return LinkContinuation(resolution)

    link = resolution.link
    authorization = begin_authorization(
        settings,
        now,
        link.account_id,
        CHANNEL_MAGIC_LINK,
        initiator_id=MAGIC_LINK_INITIATOR,
        magic_link_hash=link.token_hash,
    )
    record_link_continued(link, now)
    _record_account_progress(link.account_id, continued_at=now)
    logger.info("magic link continued to walmart", account_id=link.account_id, link_id=link.token_hash[:12])
    return LinkContinuation(resolution, authorization)


def revoke_all(account_id: str, now: datetime) -> int:
    """Revoke every live link of the account and return how many were live."""
    revoked = revoke_links_of_account(account_id, now)
    logger.info("magic links revoked", account_id=account_id, revoked_count=revoked)
    return revoked


def _record_account_progress(
    account_id: str,
    issued_at: datetime | None = None,
    opened_at: datetime | None = None,
    continued_at: datetime | None = None,
) -> None:
    # Progress on the account only informs the accountant, so an account deleted meanwhile must not fail the request.
    try:
        record_link_progress(account_id, issued_at=issued_at, opened_at=opened_at, continued_at=continued_at)
    except AccountNotFound as error:
        logger.warning("link progress not recorded", account_id=account_id, error_type=type(error).__name__)


def _account_id(resolution: LinkResolution) -> str | None:
    return resolution.link.account_id if resolution.link is not None else None
