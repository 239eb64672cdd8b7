"""Addresses that bounced or complained. Bounce and complaint feedback fills the table, and senders only read it."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from renewals.data.models import SuppressionModel


def suppression_key(address: str) -> str:
    """Return the table key of an address: trimmed and lowercased, as the writers store it."""
    return address.strip().lower()


def is_suppressed(address: str) -> bool:
    """Return True when the address is in the suppressions table."""
    try:
        SuppressionModel.get(suppression_key(address), consistent_read=True)
    except DoesNotExist:
        return False
    return True
