"""Tests of the demo data, written to moto with the data layer, and of the stand-in Walmart's logins."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from local_stack.seed import ACCOUNTS, STRANGER_LOGIN, USERS, seed, walmart_logins
from renewals.clock import to_iso
from renewals.data.accounts import accounts_managed_by, accounts_owned_by, get_account
from renewals.data.due_index import due_shard
from renewals.data.models import STATUS_NEEDS_RENEWAL, SuppressionModel
from renewals.data.suppressions import is_suppressed, suppression_key
from tests.conftest import AwsStack

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
LAYER_PATH = Path(__file__).resolve().parents[2] / "layers" / "shared"


def test_seed_writes_every_account(aws: AwsStack) -> None:
    # Given empty tables, when the demo data is seeded
    result = seed(aws.settings, NOW)

    # Then every account exists, pending, with its first reminder due now in a valid shard
    assert result.accounts_created == len(ACCOUNTS)
    for demo in ACCOUNTS:
        account = get_account(demo.account_id)
        assert account is not None, demo.account_id
        assert account.status == STATUS_NEEDS_RENEWAL
        assert account.reminder_slot == 0
        assert account.reminder_due_at == to_iso(NOW)
        assert account.due_shard == due_shard(demo.account_id, aws.settings.reminder_due_shards)


def test_seed_is_idempotent(aws: AwsStack) -> None:
    # Given seeded tables
    seed(aws.settings, NOW)

    # When the demo data is seeded again
    again = seed(aws.settings, NOW)

    # Then nothing new is written
    assert again.accounts_created == 0
    assert again.accounts_existing == len(ACCOUNTS)
    assert again.suppressions_created == 0


def test_seed_has_each_kind_of_user(aws: AwsStack) -> None:
    # Given seeded tables
    seed(aws.settings, NOW)

    # When the accounts of each user are read
    owned = {user.user_id: accounts_owned_by(user.user_id) for user in USERS if user.role == "seller"}
    managed = [accounts_managed_by(user.user_id) for user in USERS if user.role == "accountant"]

    # Then there is a seller with one account, a seller with three, and an accountant with five clients or more
    assert sorted(len(accounts) for accounts in owned.values()) == [1, 3]
    assert len(managed) == 1
    assert len(managed[0]) >= 5
    assert all(account.client_name and account.client_email for account in managed[0])
    assert all(account.accountant_name and account.accountant_email for account in managed[0])


def test_seed_suppresses_bounced_client(aws: AwsStack) -> None:
    # Given seeded tables
    seed(aws.settings, NOW)

    # When the bounced client's account and suppression are read
    bounced = [demo for demo in ACCOUNTS if demo.client is not None and demo.client.bounced]
    account = get_account(bounced[0].account_id)
    suppression = SuppressionModel.get(suppression_key(bounced[0].client.email))

    # Then exactly one client bounced, its account is flagged and its address suppressed
    assert len(bounced) == 1
    assert account is not None
    assert account.email_bounced is True
    assert suppression.reason == "bounce"
    assert is_suppressed(bounced[0].client.email)


def test_seed_has_name_needing_escape() -> None:
    # Given the demo accounts, when their names are checked
    names = [demo.account_name for demo in ACCOUNTS]

    # Then one has characters that HTML must escape
    assert any("&" in name and "<" in name for name in names)


def test_logins_cover_every_seller() -> None:
    # Given the stand-in Walmart's logins
    logins = walmart_logins()

    # When they are grouped by seller and role
    by_role = {(login.seller_id, login.role) for login in logins}

    # Then each seeded seller has an admin and a non-admin login, and one admin belongs to an unknown seller
    for demo in ACCOUNTS:
        assert (demo.walmart_seller_id, "admin") in by_role
        assert (demo.walmart_seller_id, "user") in by_role
    assert STRANGER_LOGIN in logins
    assert STRANGER_LOGIN.seller_id not in {demo.walmart_seller_id for demo in ACCOUNTS}
    assert len({login.login for login in logins}) == len(logins)


def test_due_shard_same_across_processes() -> None:
    # Given two interpreters with different string hash seeds
    code = "from renewals.data.due_index import due_shard; print(due_shard('acct-avery-outdoor', 8))"
    shards = set()
    for seed_value in ("1", "2"):
        environment = {**os.environ, "PYTHONHASHSEED": seed_value, "PYTHONPATH": str(LAYER_PATH)}

        # When each computes the shard of one account
        result = subprocess.run(  # noqa: S603 - a fixed command line with this interpreter
            [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True, timeout=30
        )
        shards.add(int(result.stdout))

    # Then both agree, and the value matches this process
    assert shards == {due_shard("acct-avery-outdoor", 8)}


def test_due_shard_spreads_accounts() -> None:
    # Given many account ids, when their shards are computed
    shards = [due_shard(f"acct-{number}", 8) for number in range(1000)]

    # Then every shard is used and none is outside the range
    assert set(shards) == set(range(8))
