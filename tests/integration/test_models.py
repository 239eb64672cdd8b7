import threading
from datetime import UTC, datetime, timedelta

import pytest

from local_stack.template import table_specs
from renewals.clock import NaiveDatetimeError
from renewals.data import accounts, credentials, flows, magic_links
from renewals.data.models import (
    ALL_MODELS,
    CHANNEL_DASHBOARD,
    STATUS_RENEWED,
    AccountModel,
    CredentialModel,
    DismissalModel,
    MagicLinkModel,
    OAuthStateModel,
    ReminderOutboxModel,
    StartTicketModel,
    SuppressionModel,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _account(account_id: str = "acct-1", **overrides) -> AccountModel:
    values = {
        "account_name": "Main Street Goods",
        "owner_id": "seller-1",
        "walmart_seller_id": "10001",
        "contact_email": "owner@example.com",
        "created_at": NOW,
    }
    values.update(overrides)
    return AccountModel(account_id, **values)


def _round_trip(item):
    item.save()
    key = item._get_keys()
    hash_key = key[item._hash_key_attribute().attr_name]
    range_attribute = item._range_key_attribute()
    if range_attribute is None:
        return type(item).get(hash_key, consistent_read=True)
    return type(item).get(hash_key, key[range_attribute.attr_name], consistent_read=True)


def _assert_same_attributes(original, loaded):
    for name in original.get_attributes():
        assert getattr(loaded, name) == getattr(original, name), name


SAMPLES = {
    "account": lambda: _account(
        accountant_id="acc-9",
        accountant_name="Avery Books",
        accountant_email="avery@books.example",
        client_name="Client Co",
        client_email="client@example.com",
        reminders_sent=2,
        last_reminder_at=NOW,
        reminder_slot=2,
        due_shard=3,
        reminder_due_at="2026-12-05T00:00:00.000000Z",
        email_bounced=False,
    ),
    "credentials": lambda: CredentialModel(
        "acct-1",
        seller_id="10001",
        encrypted_access_token=b"\x00\x01cipher",
        encrypted_refresh_token=b"\x02\x03cipher",
        key_id="key-1",
        issued_at=NOW,
        access_token_expires_at=NOW + timedelta(minutes=15),
        refresh_token_expires_at=NOW + timedelta(days=365),
    ),
    "oauth state": lambda: OAuthStateModel(
        "state-hash",
        account_id="acct-1",
        channel=CHANNEL_DASHBOARD,
        initiator_id="seller-1",
        binding_hash="binding-hash",
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=10),
    ),
    "start ticket": lambda: StartTicketModel(
        "ticket-hash", account_id="acct-1", user_id="seller-1", created_at=NOW, expires_at=NOW + timedelta(minutes=2)
    ),
    "magic link": lambda: MagicLinkModel(
        "token-hash", account_id="acct-1", issued_by="acc-9", created_at=NOW, expires_at=NOW + timedelta(days=7)
    ),
    "dismissal": lambda: DismissalModel("seller-1", dismissed_at=NOW, expires_at=NOW + timedelta(hours=24)),
    "outbox": lambda: ReminderOutboxModel(
        "acct-1", "slot#00", kind="scheduled", status="sent", claimed_at=NOW, sent_at=NOW, message_id="m-1"
    ),
    "suppression": lambda: SuppressionModel("bounce@example.com", reason="bounce", created_at=NOW),
}


@pytest.mark.parametrize("kind", SAMPLES)
def test_model_round_trips(aws, kind):
    # Given an item with every attribute set
    original = SAMPLES[kind]()

    # When it is saved and read back
    loaded = _round_trip(original)

    # Then every attribute reads back equal
    _assert_same_attributes(original, loaded)


def test_tables_built_from_template(aws):
    # Given the tables the fixture created from template.yaml
    client = aws.client("dynamodb")

    for spec in table_specs():
        # When each is described
        description = client.describe_table(TableName=spec.logical_id)["Table"]

        # Then its key schema and indexes are the template's
        assert description["KeySchema"] == spec.create_arguments["KeySchema"]
        expected_indexes = {index["IndexName"] for index in spec.create_arguments.get("GlobalSecondaryIndexes", [])}
        actual_indexes = {index["IndexName"] for index in description.get("GlobalSecondaryIndexes", [])}
        assert actual_indexes == expected_indexes


def test_models_match_template_keys(aws):
    # Every model's keys, indexes and projections must be the ones its table declares in template.yaml.
    specs = {spec.logical_id: spec for spec in table_specs()}
    for model in ALL_MODELS.values():
        spec = specs[model.Meta.table_name]
        declared = {
            definition["AttributeName"]: definition["AttributeType"]
            for definition in spec.create_arguments["AttributeDefinitions"]
        }
        schema = model._get_schema()
        model_definitions = {
            definition["AttributeName"]: definition["AttributeType"] for definition in schema["attribute_definitions"]
        }
        assert model_definitions == declared, model.__name__
        assert schema["key_schema"] == [
            {"KeyType": key["KeyType"], "AttributeName": key["AttributeName"]}
            for key in spec.create_arguments["KeySchema"]
        ], model.__name__
        template_indexes = {
            index["IndexName"]: (index["KeySchema"], index["Projection"]["ProjectionType"])
            for index in spec.create_arguments.get("GlobalSecondaryIndexes", [])
        }
        model_indexes = {
            index["index_name"]: (index["key_schema"], index["projection"]["ProjectionType"])
            for index in schema.get("global_secondary_indexes", [])
        }
        assert model_indexes == template_indexes, model.__name__


def test_expired_ticket_treated_as_absent(aws):
    # Given a ticket that expired a second ago but that DynamoDB has not deleted yet
    flows.put_start_ticket(
        StartTicketModel(
            "old-ticket", account_id="acct-1", user_id="seller-1", created_at=NOW, expires_at=NOW + timedelta(seconds=1)
        )
    )

    # When it is read after its expiry
    found = flows.get_start_ticket("old-ticket", NOW + timedelta(seconds=2))

    # Then it counts as absent, while it is still found before expiry
    assert found is None
    assert flows.get_start_ticket("old-ticket", NOW) is not None


def test_expired_state_treated_as_absent(aws):
    flows.put_oauth_state(SAMPLES["oauth state"]())

    assert flows.get_oauth_state("state-hash", NOW + timedelta(minutes=10)) is None
    assert flows.get_oauth_state("state-hash", NOW + timedelta(minutes=9)) is not None


def test_expired_dismissal_treated_as_absent(aws):
    flows.put_dismissal("seller-1", NOW, NOW + timedelta(hours=24))

    assert flows.get_dismissal("seller-1", NOW + timedelta(hours=24, seconds=1)) is None
    assert flows.get_dismissal("seller-1", NOW + timedelta(hours=23)) is not None


def test_oauth_state_consumed_once(aws):
    state = SAMPLES["oauth state"]()
    flows.put_oauth_state(state)

    flows.consume_oauth_state(flows.get_oauth_state("state-hash", NOW), NOW)

    with pytest.raises(flows.AlreadyUsed):
        flows.consume_oauth_state(flows.get_oauth_state("state-hash", NOW), NOW)


def test_start_ticket_used_once(aws):
    flows.put_start_ticket(SAMPLES["start ticket"]())
    ticket = flows.get_start_ticket("ticket-hash", NOW)

    flows.use_start_ticket(ticket, NOW)

    with pytest.raises(flows.AlreadyUsed):
        flows.use_start_ticket(flows.get_start_ticket("ticket-hash", NOW), NOW)


def test_naive_datetime_rejected_on_save(aws):
    # Given an account whose renewal time has no timezone
    account = _account(renewed_at=datetime(2026, 12, 4, 12, 0))

    # When / Then saving is rejected before anything is written
    with pytest.raises(NaiveDatetimeError):
        account.save()
    assert accounts.get_account("acct-1") is None


def test_naive_expiry_rejected(aws):
    with pytest.raises(NaiveDatetimeError):
        StartTicketModel("t", account_id="a", user_id="u", created_at=NOW, expires_at=datetime(2026, 12, 4))


def test_relative_expiry_rejected(aws):
    # A timedelta expiry would be measured from the system time, not the project's clock.
    with pytest.raises(TypeError, match="timezone-aware datetime"):
        StartTicketModel("t", account_id="a", user_id="u", created_at=NOW, expires_at=timedelta(minutes=2))


RENEWAL_ATTRIBUTES = {
    "renewalStatus",
    "renewedAt",
    "renewalChannel",
    "renewedBy",
    "dueShard",
    "reminderDueAt",
    "version",
}


def test_renewal_update_keeps_unrelated_attributes(aws):
    # Given a pending account with reminder progress, extended by another system with its own attributes
    accounts.create_account(
        _account(
            reminders_sent=3,
            last_reminder_at=NOW,
            reminder_slot=3,
            due_shard=2,
            reminder_due_at="2026-12-05T00:00:00.000000Z",
            link_opened_at=NOW,
        )
    )
    table = aws.settings.accounts_table
    key = {"accountId": {"S": "acct-1"}}
    aws.client("dynamodb").update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET syncCursor = :cursor, settlementsImported = :count",
        ExpressionAttributeValues={":cursor": {"S": "cursor-42"}, ":count": {"N": "17"}},
    )
    before = aws.client("dynamodb").get_item(TableName=table, Key=key)["Item"]

    # When the account is marked renewed
    accounts.mark_renewed("acct-1", NOW, CHANNEL_DASHBOARD, "seller-1", "10001")

    # Then the renewal fields changed, and every other attribute is exactly as it was
    after = aws.client("dynamodb").get_item(TableName=table, Key=key)["Item"]
    assert after["renewalStatus"] == {"S": STATUS_RENEWED}
    assert after["renewalChannel"] == {"S": CHANNEL_DASHBOARD}
    unrelated_before = {name: value for name, value in before.items() if name not in RENEWAL_ATTRIBUTES}
    unrelated_after = {name: value for name, value in after.items() if name not in RENEWAL_ATTRIBUTES}
    assert unrelated_after == unrelated_before
    assert after["syncCursor"] == {"S": "cursor-42"}
    assert after["remindersSent"] == {"N": "3"}


def test_renewal_leaves_reminder_index(aws):
    # Given a pending account listed in the sparse reminder index
    accounts.create_account(_account(due_shard=1, reminder_due_at="2026-12-04T00:00:00.000000Z", reminder_slot=0))

    # When it is renewed
    accounts.mark_renewed("acct-1", NOW, CHANNEL_DASHBOARD, "seller-1", "10001")

    # Then it no longer carries the index attributes
    due = list(AccountModel.reminder_due.query(1, AccountModel.reminder_due_at <= "2027"))
    assert due == []


def test_renewal_records_missing_seller_id(aws):
    accounts.create_account(_account(walmart_seller_id=None))

    renewed = accounts.mark_renewed("acct-1", NOW, CHANNEL_DASHBOARD, "seller-1", "20002")

    assert renewed.walmart_seller_id == "20002"


def test_renewal_keeps_recorded_seller_id(aws):
    accounts.create_account(_account(walmart_seller_id="10001"))

    accounts.mark_renewed("acct-1", NOW, CHANNEL_DASHBOARD, "seller-1", "99999")

    assert accounts.get_account("acct-1").walmart_seller_id == "10001"


def test_update_retries_after_version_conflict(aws):
    # Given a concurrent writer that bumps the version between our read and our write, once
    accounts.create_account(_account())
    interfered = []

    def build_actions(account):
        if not interfered:
            interfered.append(True)
            other = accounts.get_account("acct-1")
            other.update(actions=[AccountModel.contact_name.set("Changed Elsewhere")])
        return [AccountModel.reminders_sent.add(1)]

    # When the update runs
    accounts.update_account("acct-1", build_actions)

    # Then it was applied once, on top of the other write
    stored = accounts.get_account("acct-1")
    assert stored.reminders_sent == 1
    assert stored.contact_name == "Changed Elsewhere"
    assert stored.version == 3


def test_update_condition_failure_raised(aws):
    accounts.create_account(_account())

    with pytest.raises(accounts.ConditionNotMet):
        accounts.update_account(
            "acct-1",
            lambda account: [AccountModel.reminders_sent.add(1)],
            condition=lambda account: AccountModel.status == STATUS_RENEWED,
        )
    assert accounts.get_account("acct-1").reminders_sent == 0


def test_update_missing_account_raises(aws):
    with pytest.raises(accounts.AccountNotFound):
        accounts.mark_renewed("missing", NOW, CHANNEL_DASHBOARD, "seller-1", "1")


def test_create_account_is_idempotent(aws):
    assert accounts.create_account(_account()) is True
    assert accounts.create_account(_account(account_name="Other Name")) is False
    assert accounts.get_account("acct-1").account_name == "Main Street Goods"


def test_accounts_listed_by_owner_and_accountant(aws):
    accounts.create_account(_account("a-2", account_name="Zeta", owner_id="seller-1"))
    accounts.create_account(_account("a-1", account_name="alpha", owner_id="seller-1"))
    accounts.create_account(_account("a-3", owner_id="client-1", accountant_id="acc-9", client_name="Client"))

    owned = [account.account_id for account in accounts.accounts_owned_by("seller-1")]
    managed = [account.account_id for account in accounts.accounts_managed_by("acc-9")]

    assert owned == ["a-1", "a-2"]
    assert managed == ["a-3"]


def test_credentials_replaced_on_second_renewal(aws):
    first = SAMPLES["credentials"]()
    credentials.put_credentials(first)
    second = SAMPLES["credentials"]()
    second.encrypted_access_token = b"new"

    credentials.put_credentials(second)

    assert credentials.get_credentials("acct-1").encrypted_access_token == b"new"


def test_revoke_links_skips_dead_ones(aws):
    live = MagicLinkModel(
        "live", account_id="acct-1", issued_by="acc", created_at=NOW, expires_at=NOW + timedelta(days=1)
    )
    expired = MagicLinkModel("old", account_id="acct-1", issued_by="acc", created_at=NOW, expires_at=NOW)
    other = MagicLinkModel(
        "other", account_id="acct-2", issued_by="acc", created_at=NOW, expires_at=NOW + timedelta(days=1)
    )
    for link in (live, expired, other):
        magic_links.put_magic_link(link)

    revoked = magic_links.revoke_links_of_account("acct-1", NOW + timedelta(seconds=1))

    assert revoked == 1
    assert magic_links.get_magic_link("live").revoked_at is not None
    assert magic_links.get_magic_link("other").revoked_at is None


def test_renewal_not_blocked_by_link_opens(aws, atomic_dynamodb):
    # Given a pending account whose magic-link page many scanners open at once
    accounts.create_account(_account())
    opens = [
        threading.Thread(target=accounts.record_link_progress, args=("acct-1",), kwargs={"opened_at": NOW})
        for _ in range(20)
    ]

    # When the renewal is recorded in the middle of those writes
    for thread in opens[:10]:
        thread.start()
    accounts.mark_renewed("acct-1", NOW, CHANNEL_DASHBOARD, "seller-1", "10001")
    for thread in opens[10:]:
        thread.start()
    for thread in opens:
        thread.join(10)

    # Then the renewal is kept, and every write is counted in the version
    stored = accounts.get_account("acct-1")
    assert stored.status == STATUS_RENEWED
    assert stored.link_opened_at == NOW
    assert stored.version == 22


def test_link_progress_needs_a_time(aws):
    accounts.create_account(_account())

    with pytest.raises(ValueError, match="at least one"):
        accounts.record_link_progress("acct-1")
