"""Reads of consumed OAuth states, for handling a callback that arrives again."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from renewals.data.models import OAuthStateModel


def get_consumed_oauth_state(state_hash: str) -> OAuthStateModel | None:
    """Return the state once a callback has consumed it, whether or not it has expired since.

    Expiry limits how long a state can lead to a code exchange, and a consumed state leads to none. Its `outcome`
    records how the first callback ended (None while that callback is still running), so a reload of a success
    page keeps showing success until DynamoDB's TTL deletes the item.
    """
    try:
        state = OAuthStateModel.get(state_hash, consistent_read=True)
    except DoesNotExist:
        return None
    return state if state.consumed_at is not None else None
