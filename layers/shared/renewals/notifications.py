"""Sending the renewal emails: the request with a fresh magic link, and the notices after a renewal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from renewals import emails, magic_links
from renewals.data.email_sender import send_raw_email
from renewals.data.models import AccountModel
from renewals.data.suppressions import is_suppressed
from renewals.magic_links import IssuedLink
from renewals.observability import logger, mask_email, metrics
from renewals.settings import Settings

NOTICE_CONFIRMATION = "renewal_confirmation"
NOTICE_CLIENT_RENEWED = "client_renewed"

SENT = "sent"
SKIPPED_NO_ADDRESS = "skipped_no_address"
SKIPPED_SUPPRESSED = "skipped_suppressed"
FAILED = "failed"


@dataclass(frozen=True)
class SentRequest:
    """A renewal request that SES accepted, and the magic link it carries."""

    message_id: str
    link: IssuedLink = field(repr=False)


@dataclass(frozen=True)
class NoticeOutcome:
    """Result of one notice: sent, skipped or failed. `recipient` is masked, such as `j***@example.com`."""

    notice: str
    outcome: str
    recipient: str | None = None


def contact_address(account: AccountModel) -> str | None:
    """Return the address for renewal emails: the client's for a managed account, else the main contact's."""
    address = account.client_email if account.accountant_id else account.contact_email
    return address.strip() if address and address.strip() else None


def contact_name(account: AccountModel) -> str | None:
    return account.client_name if account.accountant_id else account.contact_name


def send_renewal_request(
    account: AccountModel, recipient: str, issued_by: str, now: datetime, settings: Settings
) -> SentRequest:
    """Email `recipient` a request to renew the account's connection, with a new magic link.

    The caller checks suppression and rate limits. Raises EmailSendError (or a subclass) when SES does not
    accept the message. The magic link is created first and stays live even then, but no one received it.
    """
    link = magic_links.issue(account.account_id, issued_by, now, settings)
    rendered = emails.renewal_request(
        account_name=account.account_name,
        recipient_name=contact_name(account),
        link_url=link.url,
        link_expires_at=link.expires_at,
        accountant_name=account.accountant_name if account.accountant_id else None,
    )
    message = emails.build_message(rendered, settings.email_sender, recipient)
    message_id = send_raw_email(settings.email_sender, recipient, message)
    logger.info("renewal request sent", account_id=account.account_id, recipient=mask_email(recipient))
    return SentRequest(message_id=message_id, link=link)


def send_renewal_notices(account: AccountModel, renewed_at: datetime, settings: Settings) -> list[NoticeOutcome]:
    """Email the renewal confirmation to the account's contact and, for a managed account, a note to the accountant.

    Suppressed and missing addresses are skipped. No failure propagates, because the renewal is already stored
    and published. Each error is logged and reported in the returned outcomes.
    """
    outcomes = [
        _send_notice(
            NOTICE_CONFIRMATION,
            account,
            contact_address(account),
            lambda: emails.renewal_confirmation(account.account_name, contact_name(account), renewed_at),
            settings,
        )
    ]
    if account.accountant_id:
        outcomes.append(
            _send_notice(
                NOTICE_CLIENT_RENEWED,
                account,
                account.accountant_email,
                lambda: emails.client_renewed_note(
                    account.account_name, account.client_name, account.accountant_name, renewed_at, settings.app_url
                ),
                settings,
            )
        )
    return outcomes


def _send_notice(
    notice: str,
    account: AccountModel,
    address: str | None,
    render: Callable[[], emails.RenderedEmail],
    settings: Settings,
) -> NoticeOutcome:
    if not address or not address.strip():
        logger.info("renewal notice skipped", notice=notice, account_id=account.account_id, reason="no address")
        return NoticeOutcome(notice, SKIPPED_NO_ADDRESS)
    address = address.strip()
    masked = mask_email(address)
    try:
        if is_suppressed(address):
            logger.info("renewal notice skipped", notice=notice, account_id=account.account_id, reason="suppressed")
            return NoticeOutcome(notice, SKIPPED_SUPPRESSED, masked)
        message = emails.build_message(render(), settings.email_sender, address)
        send_raw_email(settings.email_sender, address, message)
    except Exception as error:  # noqa: BLE001 - a notice must never fail the renewal that triggered it
        logger.warning(
            "renewal notice failed",
            notice=notice,
            account_id=account.account_id,
            recipient=masked,
            error_type=type(error).__name__,
            error_message=str(error),
        )
        metrics.add_metric(name="RenewalNoticeFailed", unit="Count", value=1)
        return NoticeOutcome(notice, FAILED, masked)
    logger.info("renewal notice sent", notice=notice, account_id=account.account_id, recipient=masked)
    return NoticeOutcome(notice, SENT, masked)
