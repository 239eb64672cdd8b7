"""Encrypted Walmart credentials, one item per account."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from renewals.data.models import CredentialModel


def put_credentials(credentials: CredentialModel) -> None:
    """Store the account's credentials, replacing earlier ones: a renewal makes the old grant worthless."""
    credentials.save()


def get_credentials(account_id: str) -> CredentialModel | None:
    try:
        return CredentialModel.get(account_id, consistent_read=True)
    except DoesNotExist:
        return None
