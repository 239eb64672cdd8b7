"""Reads and targeted updates of account items.

Updates name only the attributes they own, so attributes written by other systems survive. Each update runs
under the item's version (optimistic locking) and retries on a conflicting concurrent write.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pynamodb.constants import ALL_NEW, ATTRIBUTES
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from renewals.data.models import STATUS_NEEDS_RENEWAL, STATUS_RENEWED, AccountModel

MAX_VERSION_RETRIES = 5


class AccountNotFound(LookupError):
    """Raised when an update targets an account that does not exist."""


class ConditionNotMet(RuntimeError):
    """Raised when an update's business condition (not its version check) is false."""


class VersionConflict(RuntimeError):
    """Raised when concurrent writers kept changing the account through every retry."""


def _is_conditional_failure(error: PutError | UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def get_account(account_id: str) -> AccountModel | None:
    """Return the account, read strongly consistent, or None when it does not exist."""
    try:
        return AccountModel.get(account_id, consistent_read=True)
    except DoesNotExist:
        return None


def accounts_owned_by(user_id: str) -> list[AccountModel]:
    """Return the accounts whose owner is `user_id`, sorted by name."""
    accounts = list(AccountModel.by_owner.query(user_id))
    return sorted(accounts, key=lambda account: (account.account_name.lower(), account.account_id))


def accounts_managed_by(user_id: str) -> list[AccountModel]:
    """Return the client accounts managed by the accountant `user_id`, sorted by client then account name."""
    accounts = list(AccountModel.by_accountant.query(user_id))
    return sorted(accounts, key=lambda account: ((account.client_name or "").lower(), account.account_name.lower()))


def create_account(account: AccountModel) -> bool:
    """Store a new account; return False without writing when the account id already exists."""
    try:
        account.save(condition=AccountModel.account_id.does_not_exist())
    except PutError as error:
        if _is_conditional_failure(error):
            return False
        raise
    return True


def update_account(
    account_id: str,
    build_actions: Callable[[AccountModel], list[Action]],
    condition: Callable[[AccountModel], Condition | None] = lambda account: None,
) -> AccountModel:
    """Apply the actions that `build_actions` returns for the current item, under its version.

    `condition` adds a business rule checked by DynamoDB in the same write; when it fails, ConditionNotMet is
    raised. An empty action list writes nothing and returns the current item.
    """
    for _ in range(MAX_VERSION_RETRIES):
        account = get_account(account_id)
        if account is None:
            raise AccountNotFound(account_id)
        actions = build_actions(account)
        if not actions:
            return account
        try:
            account.update(actions=actions, condition=condition(account))
        except UpdateError as error:
            if not _is_conditional_failure(error):
                raise
            current = get_account(account_id)
            if current is not None and current.version == account.version:
                raise ConditionNotMet(account_id) from None
            continue
        return account
    raise VersionConflict(account_id)


def write_account(account_id: str, actions: list[Action]) -> AccountModel:
    """Apply actions that do not depend on the item's current values in one UpdateItem, without a version check.

    Such a write cannot lose a race, so a renewal is never refused because a client opened a magic link at the same
    moment. It still increments the version, so a concurrent `update_account` that read the old item retries.
    """
    try:
        response = AccountModel._get_connection().update_item(
            account_id,
            actions=[*actions, AccountModel.version.add(1)],
            condition=AccountModel.account_id.exists(),
            return_values=ALL_NEW,
        )
    except UpdateError as error:
        if _is_conditional_failure(error):
            raise AccountNotFound(account_id) from None
        raise
    return AccountModel.from_raw_data(response[ATTRIBUTES])


def mark_renewed(account_id: str, at: datetime, channel: str, initiator_id: str, seller_id: str) -> AccountModel:
    """Record a completed renewal and take the account out of the reminder index.

    An account without a recorded Walmart seller id records the verified one, in the same write.
    """
    return write_account(
        account_id,
        [
            AccountModel.status.set(STATUS_RENEWED),
            AccountModel.renewed_at.set(at),
            AccountModel.renewal_channel.set(channel),
            AccountModel.renewed_by.set(initiator_id),
            # `|` is if_not_exists, so a recorded seller id is kept.
            AccountModel.walmart_seller_id.set(AccountModel.walmart_seller_id | seller_id),
            AccountModel.due_shard.remove(),
            AccountModel.reminder_due_at.remove(),
        ],
    )


def record_link_progress(
    account_id: str,
    issued_at: datetime | None = None,
    opened_at: datetime | None = None,
    continued_at: datetime | None = None,
) -> AccountModel:
    """Record that a magic link was issued for the account, or that its page was opened or continued to Walmart."""
    changes = []
    if issued_at is not None:
        changes.append(AccountModel.link_issued_at.set(issued_at))
    if opened_at is not None:
        changes.append(AccountModel.link_opened_at.set(opened_at))
    if continued_at is not None:
        changes.append(AccountModel.link_continued_at.set(continued_at))
    if not changes:
        raise ValueError("record_link_progress needs at least one of issued_at, opened_at and continued_at")
    return write_account(account_id, changes)


def is_pending(account: AccountModel) -> bool:
    return account.status == STATUS_NEEDS_RENEWAL
