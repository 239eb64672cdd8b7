"""Magic-link items, keyed by the hash of the token; an index by account serves revoking every live link."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError

from renewals.data.models import MagicLinkModel


def _conditional_failure(error: UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def put_magic_link(link: MagicLinkModel) -> None:
    link.save(condition=MagicLinkModel.token_hash.does_not_exist())


def get_magic_link(token_hash: str) -> MagicLinkModel | None:
    """Return the link item, expired or revoked ones included: callers decide what each state means."""
    try:
        return MagicLinkModel.get(token_hash, consistent_read=True)
    except DoesNotExist:
        return None


def record_link_opened(link: MagicLinkModel, at: datetime) -> None:
    """Count one view of the link's page and keep the time of the first view.

    The condition stops the update from recreating an item that DynamoDB's TTL deleted after it was read.
    """
    try:
        link.update(
            actions=[
                MagicLinkModel.open_count.add(1),
                MagicLinkModel.first_opened_at.set(MagicLinkModel.first_opened_at | at),
            ],
            condition=MagicLinkModel.token_hash.exists(),
        )
    except UpdateError as error:
        if not _conditional_failure(error):
            raise


def record_link_continued(link: MagicLinkModel, at: datetime) -> None:
    """Record the latest time the client continued from the link's page to Walmart."""
    try:
        link.update(actions=[MagicLinkModel.continued_at.set(at)], condition=MagicLinkModel.token_hash.exists())
    except UpdateError as error:
        if not _conditional_failure(error):
            raise


def revoke_links_of_account(account_id: str, at: datetime) -> int:
    """Revoke every live link of the account and return how many were revoked.

    A link that a concurrent request revoked first is skipped and not counted.
    """
    revoked = 0
    for key in MagicLinkModel.by_account.query(account_id):
        link = get_magic_link(key.token_hash)
        if link is None or link.revoked_at is not None or link.expires_at <= at:
            continue
        try:
            link.update(
                actions=[MagicLinkModel.revoked_at.set(at)],
                condition=MagicLinkModel.token_hash.exists() & MagicLinkModel.revoked_at.does_not_exist(),
            )
        except UpdateError as error:
            if not _conditional_failure(error):
                raise
            continue
        revoked += 1
    return revoked
