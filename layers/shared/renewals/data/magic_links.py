"""Magic-link items, keyed by the hash of the token; an index by account serves revoking every live link."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from renewals.data.models import MagicLinkModel


def put_magic_link(link: MagicLinkModel) -> None:
    link.save(condition=MagicLinkModel.token_hash.does_not_exist())


def get_magic_link(token_hash: str) -> MagicLinkModel | None:
    """Return the link item, expired or revoked ones included: callers decide what each state means."""
    try:
        return MagicLinkModel.get(token_hash, consistent_read=True)
    except DoesNotExist:
        return None


def record_link_opened(link: MagicLinkModel, at: datetime) -> None:
    actions = [MagicLinkModel.open_count.add(1)]
    if link.first_opened_at is None:
        actions.append(MagicLinkModel.first_opened_at.set(at))
    link.update(actions=actions)


def record_link_continued(link: MagicLinkModel, at: datetime) -> None:
    link.update(actions=[MagicLinkModel.continued_at.set(at)])


def revoke_links_of_account(account_id: str, at: datetime) -> int:
    """Revoke every live link of the account and return how many were revoked."""
    revoked = 0
    for key in MagicLinkModel.by_account.query(account_id):
        link = get_magic_link(key.token_hash)
        if link is None or link.revoked_at is not None or link.expires_at <= at:
            continue
        link.update(
            actions=[MagicLinkModel.revoked_at.set(at)],
            condition=MagicLinkModel.revoked_at.does_not_exist(),
        )
        revoked += 1
    return revoked
