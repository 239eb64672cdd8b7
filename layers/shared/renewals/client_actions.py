"""Accountant actions on a client account: copy a magic link, revoke its links, send a reminder now.

Only the accountant who manages an account may act on it. Everyone else gets "not found", never "forbidden",
so account ids of other tenants cannot be probed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from renewals import magic_links, notifications
from renewals.access import managed_account
from renewals.data.accounts import AccountNotFound, ConditionNotMet, get_account, is_pending
from renewals.data.email_sender import EmailRejected, EmailSendError
from renewals.data.models import AccountModel
from renewals.data.reminders import (
    OUTBOX_KIND_MANUAL,
    ManualReminderClaim,
    claim_manual_reminder,
    finish_outbox_entry,
    manual_reminder_key,
    record_reminder_sent,
    release_manual_reminder,
    start_outbox_entry,
)
from renewals.data.suppressions import is_suppressed
from renewals.errors import AlreadyRenewed, DomainError, EmailSuppressed, NotFound, ServiceUnavailable, TooManyRequests
from renewals.magic_links import IssuedLink
from renewals.observability import logger, mask_email, metrics
from renewals.settings import Settings

# A manual reminder moves the next scheduled one to at least this long after it, so a client never gets two
# reminder emails within 24 hours.
SCHEDULED_REMINDER_GAP = timedelta(hours=24)


class ClientEmailMissing(DomainError):
    """The client account has no email address to send a reminder to."""

    status_code = 422
    code = "client_email_missing"


class ReminderRejected(DomainError):
    """SES rejected the reminder email, so sending it again unchanged will not help."""

    status_code = 502
    code = "email_rejected"


@dataclass(frozen=True)
class ManualReminder:
    """A manual reminder that SES accepted. `masked_recipient` looks like `j***@example.com`."""

    sent_at: datetime
    masked_recipient: str
    message_id: str


def issue_client_link(user_id: str, account_id: str, now: datetime, settings: Settings) -> IssuedLink:
    """Create a magic link for a client account that the accountant `user_id` manages and that needs renewal."""
    _pending_client_account(account_id, user_id)
    link = magic_links.issue(account_id, user_id, now, settings)
    metrics.add_metric(name="MagicLinkIssued", unit="Count", value=1)
    return link


def revoke_client_links(user_id: str, account_id: str, now: datetime, settings: Settings) -> int:
    """Revoke every live magic link of a client account that `user_id` manages, and return how many were live.

    Revoking also works on a renewed account and when no link is live.
    """
    managed_account(account_id, user_id)
    return magic_links.revoke_all(account_id, now)


def send_manual_reminder(user_id: str, account_id: str, now: datetime, settings: Settings) -> ManualReminder:
    """Email the client of a managed account a renewal reminder with a new magic link, now.

    At most one manual reminder per account goes out per `settings.manual_reminder_interval_seconds`. The
    account is claimed with a conditional write before the email is sent, so concurrent requests send one
    email. When SES does not accept the email, the claim is released so the accountant can try again.
    """
    account = _pending_client_account(account_id, user_id)
    recipient = _reminder_recipient(account)
    interval = timedelta(seconds=settings.manual_reminder_interval_seconds)
    _check_interval(account, now, interval)
    claim = _claim(account_id, now, interval)

    masked = mask_email(recipient)
    reminder_key = manual_reminder_key(now)
    try:
        start_outbox_entry(account_id, reminder_key, OUTBOX_KIND_MANUAL, now, masked)
        sent = notifications.send_renewal_request(claim.account, recipient, user_id, now, settings)
    except EmailRejected as error:
        _abandon(claim, reminder_key, error)
        raise ReminderRejected(
            f"the email service rejected the reminder to {masked}, so nothing was sent. Check the client's address, "
            "or copy a magic link and send it yourself."
        ) from None
    except EmailSendError as error:
        # Throttling and outages pass, so the accountant may simply try again.
        _abandon(claim, reminder_key, error)
        raise ServiceUnavailable(
            "the email service is busy or unavailable, so no reminder was sent. Try again in a few minutes."
        ) from None
    except Exception as error:
        _abandon(claim, reminder_key, error)
        raise

    finish_outbox_entry(account_id, reminder_key, sent_at=now, message_id=sent.message_id)
    _count_reminder(account_id, now)
    metrics.add_metric(name="ManualReminderSent", unit="Count", value=1)
    logger.info("manual reminder sent", account_id=account_id, accountant_id=user_id, recipient=masked)
    return ManualReminder(sent_at=now, masked_recipient=masked, message_id=sent.message_id)


def _pending_client_account(account_id: str, user_id: str) -> AccountModel:
    account = managed_account(account_id, user_id)
    if not is_pending(account):
        raise _already_renewed(account_id)
    return account


def _already_renewed(account_id: str) -> AlreadyRenewed:
    return AlreadyRenewed(
        f"the Walmart connection of account {account_id} is already renewed, so nothing more is needed"
    )


def _reminder_recipient(account: AccountModel) -> str:
    recipient = notifications.contact_address(account)
    if recipient is None:
        raise ClientEmailMissing(
            f"account {account.account_id} has no client email address, so no reminder can be sent. Add the address, "
            "or copy a magic link and send it to the client yourself."
        )
    if is_suppressed(recipient):
        raise EmailSuppressed(
            f"email to the client's address {mask_email(recipient)} bounced or was marked as spam, so no reminder "
            "was sent. Ask the client for another address, or copy a magic link and send it another way."
        )
    return recipient


def _check_interval(account: AccountModel, now: datetime, interval: timedelta) -> None:
    last = account.last_manual_reminder_at
    if last is not None and now - last < interval:
        raise _too_soon(account.account_id, last + interval - now, interval)


def _claim(account_id: str, now: datetime, interval: timedelta) -> ManualReminderClaim:
    try:
        return claim_manual_reminder(account_id, now, interval, quiet_until=now + SCHEDULED_REMINDER_GAP)
    except AccountNotFound:
        raise NotFound(f"account {account_id} was not found") from None
    except ConditionNotMet:
        pass

    # The condition failed: the account was renewed, or another request claimed a reminder since it was read.
    current = get_account(account_id)
    if current is None:
        raise NotFound(f"account {account_id} was not found")
    if not is_pending(current):
        raise _already_renewed(account_id)
    last = current.last_manual_reminder_at
    remaining = last + interval - now if last is not None else timedelta(0)
    raise _too_soon(account_id, remaining, interval)


def _too_soon(account_id: str, remaining: timedelta, interval: timedelta) -> TooManyRequests:
    retry_after = max(1, math.ceil(remaining.total_seconds()))
    return TooManyRequests(
        f"a reminder for account {account_id} was sent less than {_duration_text(interval)} ago. "
        f"Try again in {_duration_text(timedelta(seconds=retry_after))}.",
        retry_after_seconds=retry_after,
    )


def _duration_text(duration: timedelta) -> str:
    seconds = math.ceil(duration.total_seconds())
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = seconds // 3600
        return "1 hour" if hours == 1 else f"{hours} hours"
    if seconds >= 60:
        minutes = math.ceil(seconds / 60)
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def _abandon(claim: ManualReminderClaim, reminder_key: str, error: Exception) -> None:
    """Record a failed send in the outbox and release the claim."""
    failure = getattr(error, "error_code", None) or type(error).__name__
    logger.warning("manual reminder not sent", account_id=claim.account.account_id, failure=failure)
    metrics.add_metric(name="ManualReminderFailed", unit="Count", value=1)
    try:
        finish_outbox_entry(claim.account.account_id, reminder_key, failure=failure)
    finally:
        release_manual_reminder(claim)


def _count_reminder(account_id: str, at: datetime) -> None:
    # The email is out, so a failure to count it is logged instead of failing the request.
    try:
        record_reminder_sent(account_id, at)
    except AccountNotFound as error:
        logger.error("reminder count not updated", account_id=account_id, error_type=type(error).__name__)
