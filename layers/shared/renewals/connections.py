"""The signed-in user's view of their Walmart connections: pop-up summary, connection list and renewal start.

A user sees the accounts they own and the client accounts they manage as accountant. An account whose owner is
also its accountant is listed once, as the user's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from renewals.access import visible_account
from renewals.clock import to_iso
from renewals.data.accounts import accounts_managed_by, accounts_owned_by, is_pending
from renewals.data.flows import get_dismissal, put_dismissal, put_start_ticket
from renewals.data.models import STATUS_NEEDS_RENEWAL, STATUS_RENEWED, AccountModel, StartTicketModel
from renewals.errors import AlreadyRenewed
from renewals.observability import logger, mask_email
from renewals.settings import Settings
from renewals.tokens import hash_token, new_token

ROLE_OWNER = "owner"
ROLE_ACCOUNTANT = "accountant"

VARIANT_SINGLE = "single"
VARIANT_MULTIPLE = "multiple"
VARIANT_ACCOUNTANT = "accountant"

ACTION_RENEW = "renew"
ACTION_REVIEW = "review"

# The pop-up titles use an en dash (U+2013) after "ACTION REQUIRED".
TITLE_SINGLE = "ACTION REQUIRED \u2013 Renew your {account_name} Walmart account connection"
TITLE_MULTIPLE = "ACTION REQUIRED \u2013 Renew your Walmart account connections"
TITLE_ACCOUNTANT = "ACTION REQUIRED \u2013 Renew your client Walmart account connections"


@dataclass(frozen=True)
class VisibleAccount:
    """An account the user may see, with the role through which they see it."""

    account: AccountModel
    role: str


def visible_accounts(user_id: str) -> list[VisibleAccount]:
    """Return the user's own accounts, then the client accounts they manage, each account once.

    Both lists come sorted from the data layer (own accounts by name, client accounts by client then account
    name), so the order is stable between calls.
    """
    owned = [VisibleAccount(account, ROLE_OWNER) for account in accounts_owned_by(user_id)]
    owned_ids = {item.account.account_id for item in owned}
    managed = [
        VisibleAccount(account, ROLE_ACCOUNTANT)
        for account in accounts_managed_by(user_id)
        if account.account_id not in owned_ids
    ]
    return owned + managed


def issue_start_url(user_id: str, account_id: str, now: datetime, settings: Settings) -> str:
    """Store a single-use start ticket for the account and return the OAuth start URL that carries it.

    Raises NotFound when the user neither owns nor manages the account, and AlreadyRenewed when the account
    needs no renewal.
    """
    account = visible_account(account_id, user_id)
    if not is_pending(account):
        raise AlreadyRenewed(f"the Walmart connection of account {account_id} is already renewed; nothing to do")

    ticket = new_token()
    put_start_ticket(
        StartTicketModel(
            hash_token(ticket),
            account_id=account_id,
            user_id=user_id,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.start_ticket_ttl_seconds),
        )
    )
    logger.info("start ticket issued", account_id=account_id, user_id=user_id)
    return settings.public_url("/oauth/start?" + urlencode({"ticket": ticket}))


def list_connections(user_id: str, settings: Settings) -> list[dict[str, Any]]:
    """Return the connection list of the "Review connections" page, own accounts first.

    Accounts managed by an accountant carry a `client` object with the client's masked email and reminder progress.
    """
    return [_connection(item) for item in visible_accounts(user_id)]


def _status(account: AccountModel) -> str:
    return STATUS_RENEWED if account.status == STATUS_RENEWED else STATUS_NEEDS_RENEWAL


def _iso_or_none(value: datetime | None) -> str | None:
    return to_iso(value) if value is not None else None


def _connection(item: VisibleAccount) -> dict[str, Any]:
    account = item.account
    connection: dict[str, Any] = {
        "accountId": account.account_id,
        "accountName": account.account_name,
        "walmartSellerId": account.walmart_seller_id,
        "status": _status(account),
        "renewedAt": _iso_or_none(account.renewed_at),
        "role": item.role,
    }
    if account.accountant_id:
        email = account.client_email or account.contact_email
        connection["client"] = {
            "name": account.client_name or account.contact_name,
            "email": mask_email(email) if email else None,
            "remindersSent": int(account.reminders_sent or 0),
            "lastReminderAt": _iso_or_none(account.last_reminder_at),
            "linkIssuedAt": _iso_or_none(account.link_issued_at),
            "linkOpened": account.link_opened_at is not None,
            "linkOpenedAt": _iso_or_none(account.link_opened_at),
            "linkContinuedAt": _iso_or_none(account.link_continued_at),
            "emailBounced": bool(account.email_bounced),
        }
    return connection


def summary(user_id: str, now: datetime, settings: Settings) -> dict[str, Any]:
    """Return the pop-up state: whether it shows, its variant, title and button, counts and when it shows again.

    The accountant variant wins whenever a managed client account is pending, even if the user also has
    pending accounts of their own, because its Review Connections button leads to a list with both. A dismissal
    hides the pop-up until it expires, and `showAgainAt` names that time while something is still pending.
    """
    accounts = visible_accounts(user_id)
    pending = [item for item in accounts if is_pending(item.account)]
    pending_clients = [item for item in pending if item.role == ROLE_ACCOUNTANT]
    counts = {"pending": len(pending), "renewed": len(accounts) - len(pending), "total": len(accounts)}

    variant = title = action = account_id = None
    if pending_clients:
        variant, title, action = VARIANT_ACCOUNTANT, TITLE_ACCOUNTANT, ACTION_REVIEW
    elif len(pending) == 1:
        only = pending[0].account
        variant, action, account_id = VARIANT_SINGLE, ACTION_RENEW, only.account_id
        title = TITLE_SINGLE.format(account_name=only.account_name)
    elif pending:
        variant, title, action = VARIANT_MULTIPLE, TITLE_MULTIPLE, ACTION_REVIEW

    dismissal = get_dismissal(user_id, now) if pending else None
    return {
        "show": bool(pending) and dismissal is None,
        "variant": variant,
        "title": title,
        "action": action,
        "accountId": account_id,
        "counts": counts,
        "showAgainAt": to_iso(dismissal.expires_at) if dismissal is not None else None,
    }


def dismiss(user_id: str, now: datetime, settings: Settings) -> None:
    """Hide the user's pop-up for `popup_dismiss_hours` from now."""
    put_dismissal(user_id, now, now + timedelta(hours=settings.popup_dismiss_hours))
    logger.info("pop-up dismissed", user_id=user_id, hours=settings.popup_dismiss_hours)
