"""PynamoDB models, one table per kind of item so each function's policy names only the tables it uses.

Table names come from Settings through `bind_tables`; the key schemas here mirror template.yaml, which a test
checks. Attribute names on the wire are camelCase to match the template and other readers of the tables.
"""

from __future__ import annotations

import os

from pynamodb.attributes import BinaryAttribute, BooleanAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from renewals.data.attributes import ExpiryAttribute, UTCTimeAttribute
from renewals.settings import Settings

STATUS_NEEDS_RENEWAL = "needs_renewal"
STATUS_RENEWED = "renewed"

CHANNEL_DASHBOARD = "dashboard"
CHANNEL_MAGIC_LINK = "magic_link"

PURPOSE_RENEW_CONNECTION = "renew_connection"


class OwnerIndex(GlobalSecondaryIndex["AccountModel"]):
    """Accounts by the seller who owns them."""

    class Meta:
        index_name = "OwnerIndex"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True, attr_name="ownerId")


class AccountantIndex(GlobalSecondaryIndex["AccountModel"]):
    """Accounts by the accountant who manages them for a client."""

    class Meta:
        index_name = "AccountantIndex"
        projection = AllProjection()

    accountant_id = UnicodeAttribute(hash_key=True, attr_name="accountantId")


class ReminderDueIndex(GlobalSecondaryIndex["AccountModel"]):
    """Sparse index of accounts with a scheduled reminder: only pending accounts carry its two attributes.

    The partition key is a shard number derived from the account id, so due accounts spread over a fixed number
    of partitions instead of one hot partition. The sweep queries each shard for `reminderDueAt <= now`.
    """

    class Meta:
        index_name = "ReminderDueIndex"
        projection = AllProjection()

    due_shard = NumberAttribute(hash_key=True, attr_name="dueShard")
    reminder_due_at = UnicodeAttribute(range_key=True, attr_name="reminderDueAt")


class AccountModel(Model):
    """A Walmart seller account connected to the app, and its renewal progress."""

    class Meta:
        table_name = "accounts"

    account_id = UnicodeAttribute(hash_key=True, attr_name="accountId")
    account_name = UnicodeAttribute(attr_name="accountName")
    owner_id = UnicodeAttribute(null=True, attr_name="ownerId")
    accountant_id = UnicodeAttribute(null=True, attr_name="accountantId")
    accountant_name = UnicodeAttribute(null=True, attr_name="accountantName")
    accountant_email = UnicodeAttribute(null=True, attr_name="accountantEmail")
    walmart_seller_id = UnicodeAttribute(null=True, attr_name="walmartSellerId")
    contact_name = UnicodeAttribute(null=True, attr_name="contactName")
    contact_email = UnicodeAttribute(null=True, attr_name="contactEmail")
    client_name = UnicodeAttribute(null=True, attr_name="clientName")
    client_email = UnicodeAttribute(null=True, attr_name="clientEmail")

    status = UnicodeAttribute(default=STATUS_NEEDS_RENEWAL, attr_name="renewalStatus")
    renewed_at = UTCTimeAttribute(null=True, attr_name="renewedAt")
    renewal_channel = UnicodeAttribute(null=True, attr_name="renewalChannel")
    renewed_by = UnicodeAttribute(null=True, attr_name="renewedBy")

    reminders_sent = NumberAttribute(default=0, attr_name="remindersSent")
    last_reminder_at = UTCTimeAttribute(null=True, attr_name="lastReminderAt")
    last_manual_reminder_at = UTCTimeAttribute(null=True, attr_name="lastManualReminderAt")
    reminder_slot = NumberAttribute(null=True, attr_name="reminderSlot")
    due_shard = NumberAttribute(null=True, attr_name="dueShard")
    reminder_due_at = UnicodeAttribute(null=True, attr_name="reminderDueAt")

    link_issued_at = UTCTimeAttribute(null=True, attr_name="linkIssuedAt")
    link_opened_at = UTCTimeAttribute(null=True, attr_name="linkOpenedAt")
    link_continued_at = UTCTimeAttribute(null=True, attr_name="linkContinuedAt")
    email_bounced = BooleanAttribute(null=True, attr_name="emailBounced")

    created_at = UTCTimeAttribute(null=True, attr_name="createdAt")
    version = VersionAttribute(attr_name="version")

    by_owner = OwnerIndex()
    by_accountant = AccountantIndex()
    reminder_due = ReminderDueIndex()


class CredentialModel(Model):
    """Walmart OAuth tokens of one account, each encrypted with KMS under the account id as encryption context."""

    class Meta:
        table_name = "credentials"

    account_id = UnicodeAttribute(hash_key=True, attr_name="accountId")
    seller_id = UnicodeAttribute(attr_name="sellerId")
    encrypted_access_token = BinaryAttribute(legacy_encoding=False, attr_name="encryptedAccessToken")
    encrypted_refresh_token = BinaryAttribute(legacy_encoding=False, attr_name="encryptedRefreshToken")
    key_id = UnicodeAttribute(attr_name="keyId")
    issued_at = UTCTimeAttribute(attr_name="issuedAt")
    access_token_expires_at = UTCTimeAttribute(attr_name="accessTokenExpiresAt")
    refresh_token_expires_at = UTCTimeAttribute(attr_name="refreshTokenExpiresAt")


class OAuthStateModel(Model):
    """One OAuth authorization attempt, keyed by the hash of its `state` value; single use."""

    class Meta:
        table_name = "oauth-states"

    state_hash = UnicodeAttribute(hash_key=True, attr_name="stateHash")
    account_id = UnicodeAttribute(attr_name="accountId")
    channel = UnicodeAttribute(attr_name="channel")
    initiator_id = UnicodeAttribute(attr_name="initiatorId")
    binding_hash = UnicodeAttribute(attr_name="bindingHash")
    magic_link_hash = UnicodeAttribute(null=True, attr_name="magicLinkHash")
    created_at = UTCTimeAttribute(attr_name="createdAt")
    expires_at = ExpiryAttribute(attr_name="expiresAt")
    consumed_at = UTCTimeAttribute(null=True, attr_name="consumedAt")
    outcome = UnicodeAttribute(null=True, attr_name="outcome")


class StartTicketModel(Model):
    """A single-use ticket that carries a signed-in user from the dashboard to the OAuth start function."""

    class Meta:
        table_name = "start-tickets"

    ticket_hash = UnicodeAttribute(hash_key=True, attr_name="ticketHash")
    account_id = UnicodeAttribute(attr_name="accountId")
    user_id = UnicodeAttribute(attr_name="userId")
    created_at = UTCTimeAttribute(attr_name="createdAt")
    expires_at = ExpiryAttribute(attr_name="expiresAt")
    used_at = UTCTimeAttribute(null=True, attr_name="usedAt")


class MagicLinkAccountIndex(GlobalSecondaryIndex["MagicLinkModel"]):
    """Magic links by account, for revoking every live link of one account."""

    class Meta:
        index_name = "AccountIndex"
        projection = KeysOnlyProjection()

    account_id = UnicodeAttribute(hash_key=True, attr_name="accountId")


class MagicLinkModel(Model):
    """A magic link for one account and one purpose, keyed by the hash of its token."""

    class Meta:
        table_name = "magic-links"

    token_hash = UnicodeAttribute(hash_key=True, attr_name="tokenHash")
    account_id = UnicodeAttribute(attr_name="accountId")
    purpose = UnicodeAttribute(default=PURPOSE_RENEW_CONNECTION, attr_name="purpose")
    issued_by = UnicodeAttribute(attr_name="issuedBy")
    created_at = UTCTimeAttribute(attr_name="createdAt")
    expires_at = ExpiryAttribute(attr_name="expiresAt")
    revoked_at = UTCTimeAttribute(null=True, attr_name="revokedAt")
    open_count = NumberAttribute(default=0, attr_name="openCount")
    first_opened_at = UTCTimeAttribute(null=True, attr_name="firstOpenedAt")
    continued_at = UTCTimeAttribute(null=True, attr_name="continuedAt")

    by_account = MagicLinkAccountIndex()


class DismissalModel(Model):
    """When a user last dismissed the renewal pop-up."""

    class Meta:
        table_name = "dismissals"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    dismissed_at = UTCTimeAttribute(attr_name="dismissedAt")
    expires_at = ExpiryAttribute(attr_name="expiresAt")


class ReminderOutboxModel(Model):
    """One reminder email for one account: claimed before sending, then marked with its outcome.

    The sort key names the reminder (`slot#03` for scheduled slot 3, `manual#<time>` for a manual one), so a
    conditional put on it allows exactly one email per slot whatever the timing.
    """

    class Meta:
        table_name = "reminder-outbox"

    account_id = UnicodeAttribute(hash_key=True, attr_name="accountId")
    reminder_key = UnicodeAttribute(range_key=True, attr_name="reminderKey")
    kind = UnicodeAttribute(attr_name="kind")
    status = UnicodeAttribute(attr_name="sendStatus")
    recipient_hint = UnicodeAttribute(null=True, attr_name="recipientHint")
    claimed_at = UTCTimeAttribute(attr_name="claimedAt")
    sent_at = UTCTimeAttribute(null=True, attr_name="sentAt")
    message_id = UnicodeAttribute(null=True, attr_name="messageId")
    failure = UnicodeAttribute(null=True, attr_name="failure")


class SuppressionModel(Model):
    """An email address that bounced or complained, keyed by the lowercased address; it is never emailed again."""

    class Meta:
        table_name = "suppressions"

    email = UnicodeAttribute(hash_key=True, attr_name="email")
    reason = UnicodeAttribute(attr_name="reason")
    created_at = UTCTimeAttribute(attr_name="createdAt")


ALL_MODELS: dict[str, type[Model]] = {
    "accounts_table": AccountModel,
    "credentials_table": CredentialModel,
    "oauth_states_table": OAuthStateModel,
    "start_tickets_table": StartTicketModel,
    "magic_links_table": MagicLinkModel,
    "dismissals_table": DismissalModel,
    "reminder_outbox_table": ReminderOutboxModel,
    "suppressions_table": SuppressionModel,
}


def bind_tables(settings: Settings) -> None:
    """Point every model at its table from Settings and at the current region and endpoint.

    PynamoDB caches one connection per model, so the cache is dropped when a name or the region changes.
    """
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    for setting_name, model in ALL_MODELS.items():
        table_name = getattr(settings, setting_name)
        if model.Meta.table_name == table_name and getattr(model.Meta, "region", None) == region:
            continue
        model.Meta.table_name = table_name
        model.Meta.region = region
        model._connection = None
