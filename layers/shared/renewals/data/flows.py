"""Start tickets, OAuth states and pop-up dismissals: short-lived items with an expiry checked on every read.

DynamoDB's TTL deletes expired items up to days late, so an expired item that is still present is treated
exactly like an absent one.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from renewals.data.models import DismissalModel, OAuthStateModel, StartTicketModel


class AlreadyUsed(RuntimeError):
    """Raised when a single-use item was consumed by an earlier or concurrent request."""


def _conditional_failure(error: PutError | UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def _unexpired(item, now: datetime):
    if item is None or item.expires_at <= now:
        return None
    return item


def put_start_ticket(ticket: StartTicketModel) -> None:
    ticket.save(condition=StartTicketModel.ticket_hash.does_not_exist())


def get_start_ticket(ticket_hash: str, now: datetime) -> StartTicketModel | None:
    """Return the ticket when it exists and has not expired, used or not."""
    try:
        return _unexpired(StartTicketModel.get(ticket_hash, consistent_read=True), now)
    except DoesNotExist:
        return None


def use_start_ticket(ticket: StartTicketModel, now: datetime) -> None:
    """Mark the ticket used in one conditional write; raise AlreadyUsed when another request got there first."""
    try:
        ticket.update(
            actions=[StartTicketModel.used_at.set(now)],
            condition=StartTicketModel.used_at.does_not_exist(),
        )
    except UpdateError as error:
        if _conditional_failure(error):
            raise AlreadyUsed("start ticket") from None
        raise


def put_oauth_state(state: OAuthStateModel) -> None:
    state.save(condition=OAuthStateModel.state_hash.does_not_exist())


def get_oauth_state(state_hash: str, now: datetime) -> OAuthStateModel | None:
    """Return the state when it exists and has not expired, consumed or not."""
    try:
        return _unexpired(OAuthStateModel.get(state_hash, consistent_read=True), now)
    except DoesNotExist:
        return None


def consume_oauth_state(state: OAuthStateModel, now: datetime) -> None:
    """Mark the state consumed in one conditional write, so concurrent deliveries of one callback exchange the
    code once. Every delivery but the first gets AlreadyUsed."""
    try:
        state.update(
            actions=[OAuthStateModel.consumed_at.set(now)],
            condition=OAuthStateModel.consumed_at.does_not_exist(),
        )
    except UpdateError as error:
        if _conditional_failure(error):
            raise AlreadyUsed("oauth state") from None
        raise


def set_oauth_state_outcome(state: OAuthStateModel, outcome: str) -> None:
    """Record how the consumed state ended (such as `renewed`), for a later replay of the same callback."""
    state.update(actions=[OAuthStateModel.outcome.set(outcome)])


def get_dismissal(user_id: str, now: datetime) -> DismissalModel | None:
    """Return the user's pop-up dismissal while it still hides the pop-up."""
    try:
        return _unexpired(DismissalModel.get(user_id, consistent_read=True), now)
    except DoesNotExist:
        return None


def put_dismissal(user_id: str, dismissed_at: datetime, show_again_at: datetime) -> DismissalModel:
    dismissal = DismissalModel(user_id, dismissed_at=dismissed_at, expires_at=show_again_at)
    dismissal.save()
    return dismissal
