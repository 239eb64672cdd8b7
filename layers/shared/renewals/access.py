"""Caller identity and account visibility: an account is visible to its owner and, when managed, its accountant."""

from __future__ import annotations

import re
from typing import Any

from renewals.data.accounts import get_account
from renewals.data.models import AccountModel
from renewals.errors import NotFound, Unauthorized


def caller_id(event: dict[str, Any]) -> str:
    """Return the user id (`sub` claim) that the HttpApi JWT authorizer verified for this request."""
    claims = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {}).get("claims", {})
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthorized("the request carries no verified user; sign in to the app again")
    return subject


# Account ids are short identifiers; anything else cannot exist, so it is not looked up or echoed back.
ACCOUNT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def _not_found(account_id: str) -> NotFound:
    if not ACCOUNT_ID_PATTERN.match(account_id):
        return NotFound("account was not found")
    return NotFound(f"account {account_id} was not found")


def _get_account(account_id: str) -> AccountModel | None:
    return get_account(account_id) if ACCOUNT_ID_PATTERN.match(account_id) else None


def visible_account(account_id: str, user_id: str) -> AccountModel:
    """Return the account when `user_id` owns or manages it; anything else is not found, never forbidden."""
    account = _get_account(account_id)
    if account is None or user_id not in (account.owner_id, account.accountant_id):
        raise _not_found(account_id)
    return account


def managed_account(account_id: str, user_id: str) -> AccountModel:
    """Return the account when `user_id` is its accountant; owners and strangers get not found."""
    account = _get_account(account_id)
    if account is None or account.accountant_id != user_id:
        raise _not_found(account_id)
    return account
