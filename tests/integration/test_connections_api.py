"""Integration tests of the renewals API routes for the pop-up, the connection list and the renewal start."""

from __future__ import annotations

import json
from datetime import timedelta
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

from renewals.clock import clock, from_iso
from renewals.data.models import STATUS_RENEWED, StartTicketModel
from renewals.tokens import hash_token
from tests.conftest import AwsStack, FakeLambdaContext, load_event
from tests.integration.oauth_helpers import ACCOUNT_ID, USER_ID, api_event, invoke, query_of, seed_account

ACCOUNTANT_ID = "user-accountant-1"
STRANGER_ID = "user-stranger-1"


def call(api: ModuleType, context: FakeLambdaContext, method: str, path: str, user_id: str, **params: str):
    event = api_event(method, path, user_id, path_parameters=params or None)
    response = invoke(api, event, context)
    body = json.loads(response["body"]) if response.get("body") else None
    return response, body


def start(api: ModuleType, context: FakeLambdaContext, account_id: str, user_id: str) -> tuple[dict[str, Any], Any]:
    path = f"/api/renewals/connections/{account_id}/start"
    return call(api, context, "POST", path, user_id, accountId=account_id)


def test_start_returns_url_on_public_base(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a seller with one pending account
    seed_account()

    # When the seller requests the renewal start
    response, body = start(api, lambda_context, ACCOUNT_ID, USER_ID)

    # Then the URL points at OAuth start on the configured base and carries a single-use ticket
    url = urlsplit(body["url"])
    assert response["statusCode"] == 200
    assert f"{url.scheme}://{url.netloc}" == "https://renew.example.test"
    assert url.path == "/oauth/start"
    assert list(query_of(body["url"])) == ["ticket"]
    assert response["headers"]["Cache-Control"] == "no-store"


def test_start_stores_ticket_hashed(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a seller with one pending account
    seed_account()

    # When the seller starts the renewal
    _, body = start(api, lambda_context, ACCOUNT_ID, USER_ID)

    # Then only the ticket's hash is stored, for this user and account, expiring within the configured lifetime
    ticket = query_of(body["url"])["ticket"]
    stored = StartTicketModel.get(hash_token(ticket))
    # The expiry is stored in whole epoch seconds, the unit of DynamoDB TTL attributes.
    lifetime = stored.expires_at - stored.created_at
    ttl = timedelta(seconds=aws.settings.start_ticket_ttl_seconds)
    assert stored.account_id == ACCOUNT_ID
    assert stored.user_id == USER_ID
    assert stored.used_at is None
    assert ttl - timedelta(seconds=1) < lifetime <= ttl
    assert [item.ticket_hash for item in StartTicketModel.scan()] == [hash_token(ticket)]


def test_start_sample_event(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given the account and user of the sample event
    event = load_event("renewals_api_start.json")
    seed_account(
        account_id=event["pathParameters"]["accountId"],
        owner_id=event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"],
    )

    # When the sample event arrives
    response = invoke(api, event, lambda_context)

    # Then the start URL comes back
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["url"].startswith("https://renew.example.test/oauth/start?ticket=")


@pytest.mark.parametrize("account_id", [ACCOUNT_ID, "acct-unknown"])
def test_start_foreign_or_unknown_is_404(
    aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext, account_id: str
) -> None:
    # Given an account owned by someone else
    seed_account()

    # When a stranger requests its renewal start, or that of an account that does not exist
    response, body = start(api, lambda_context, account_id, STRANGER_ID)

    # Then both return not found, and no ticket is stored
    assert response["statusCode"] == 404
    assert body["error"]["code"] == "not_found"
    assert list(StartTicketModel.scan()) == []


@pytest.mark.parametrize("account_id", ["%C3%A9%00", "x" * 3000, "-acct-1", "acct 1"])
def test_start_malformed_id_not_echoed(
    aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext, account_id: str
) -> None:
    # When an account id that no account can have is requested
    response, body = start(api, lambda_context, account_id, USER_ID)

    # Then it is not found, and the message does not repeat the id
    assert response["statusCode"] == 404
    assert body["error"]["message"] == "account was not found"


def test_start_renewed_account_is_409(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given an account that is already renewed
    seed_account(status=STATUS_RENEWED)

    # When its owner requests a renewal start
    response, body = start(api, lambda_context, ACCOUNT_ID, USER_ID)

    # Then the API returns conflict with a message, and no ticket is stored
    assert response["statusCode"] == 409
    assert body["error"]["code"] == "already_renewed"
    assert "already renewed" in body["error"]["message"]
    assert list(StartTicketModel.scan()) == []


def test_start_by_accountant_of_client(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a client account managed by an accountant
    seed_account(owner_id=None, accountant_id=ACCOUNTANT_ID)

    # When the accountant starts its renewal
    response, body = start(api, lambda_context, ACCOUNT_ID, ACCOUNTANT_ID)

    # Then the ticket names the accountant as its user
    assert response["statusCode"] == 200
    assert StartTicketModel.get(hash_token(query_of(body["url"])["ticket"])).user_id == ACCOUNTANT_ID


def test_api_without_user_is_401(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given an event without verified JWT claims
    event = api_event("GET", "/api/renewals/connections", USER_ID)
    del event["requestContext"]["authorizer"]

    # When it reaches the API
    response = invoke(api, event, lambda_context)

    # Then the API returns unauthorized
    assert response["statusCode"] == 401


def seed_mixed_accounts() -> None:
    """Seed two accounts of USER_ID, two client accounts of ACCOUNTANT_ID and one account of a stranger."""
    seed_account("acct-b", name="Beta Goods")
    seed_account("acct-a", name="Alpha Supplies", status=STATUS_RENEWED, renewed_at=clock.now())
    seed_account(
        "acct-c1",
        name="Client Shop",
        owner_id="user-client-1",
        accountant_id=ACCOUNTANT_ID,
        client_name="Jane Client",
        client_email="jane.client@example.com",
        reminders_sent=2,
        last_reminder_at=clock.now() - timedelta(days=3),
        link_opened_at=clock.now() - timedelta(days=1),
        email_bounced=False,
    )
    seed_account(
        "acct-c2",
        name="Another Client",
        owner_id="user-client-2",
        accountant_id=ACCOUNTANT_ID,
        client_name="Adam Buyer",
        client_email="adam@example.org",
        email_bounced=True,
    )
    seed_account("acct-s", name="Stranger Store", owner_id=STRANGER_ID)


def test_list_owner_accounts(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a seller with two accounts, one of them renewed, among other users' accounts
    seed_mixed_accounts()

    # When the seller lists connections
    response, body = call(api, lambda_context, "GET", "/api/renewals/connections", USER_ID)

    # Then only the seller's accounts appear, sorted by name, with status and no client object
    connections = body["connections"]
    assert response["statusCode"] == 200
    assert [item["accountId"] for item in connections] == ["acct-a", "acct-b"]
    assert connections[0]["status"] == "renewed"
    assert from_iso(connections[0]["renewedAt"])
    assert connections[1]["status"] == "needs_renewal"
    assert connections[1]["renewedAt"] is None
    assert connections[1]["walmartSellerId"] == "10001234"
    assert connections[1]["role"] == "owner"
    assert all("client" not in item for item in connections)


def test_list_accountant_clients(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given an accountant managing two client accounts
    seed_mixed_accounts()

    # When the accountant lists connections
    _, body = call(api, lambda_context, "GET", "/api/renewals/connections", ACCOUNTANT_ID)

    # Then each client account carries the client's masked email and reminder progress
    connections = body["connections"]
    assert [item["accountId"] for item in connections] == ["acct-c2", "acct-c1"]
    adam, jane = connections[0]["client"], connections[1]["client"]
    assert connections[0]["role"] == "accountant"
    assert jane["name"] == "Jane Client"
    assert jane["email"] == "j***@example.com"
    assert jane["remindersSent"] == 2
    assert from_iso(jane["lastReminderAt"])
    assert jane["linkOpened"] is True
    assert from_iso(jane["linkOpenedAt"])
    assert jane["emailBounced"] is False
    assert adam["email"] == "a***@example.org"
    assert adam["remindersSent"] == 0
    assert adam["lastReminderAt"] is None
    assert adam["linkOpened"] is False
    assert adam["emailBounced"] is True


def test_list_sample_event(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given the user of the sample event owns one account
    event = load_event("renewals_api_connections.json")
    seed_account(owner_id=event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"])

    # When the sample event arrives
    response = invoke(api, event, lambda_context)

    # Then the account is listed
    assert response["statusCode"] == 200
    assert [item["accountId"] for item in json.loads(response["body"])["connections"]] == [ACCOUNT_ID]


def test_list_owner_and_accountant_once(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given an account whose owner is also its accountant, and a client account of the same user
    seed_account("acct-own", owner_id=ACCOUNTANT_ID, accountant_id=ACCOUNTANT_ID)
    seed_account("acct-client", owner_id="user-client-1", accountant_id=ACCOUNTANT_ID, client_name="Jane")

    # When the user lists connections
    _, body = call(api, lambda_context, "GET", "/api/renewals/connections", ACCOUNTANT_ID)

    # Then each account appears once: the own one first as owner, then the client one
    assert [(item["accountId"], item["role"]) for item in body["connections"]] == [
        ("acct-own", "owner"),
        ("acct-client", "accountant"),
    ]


def summary(api: ModuleType, context: FakeLambdaContext, user_id: str) -> dict[str, Any]:
    response, body = call(api, context, "GET", "/api/renewals/summary", user_id)
    assert response["statusCode"] == 200
    return body


def test_summary_single_account(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a seller with exactly one pending account
    seed_account(name="Acme Outdoor")

    # When the pop-up requests the summary
    body = summary(api, lambda_context, USER_ID)

    # Then it shows the single variant that renews that account directly
    assert body["show"] is True
    assert body["variant"] == "single"
    assert body["title"] == "ACTION REQUIRED \u2013 Renew your Acme Outdoor Walmart account connection"
    assert body["action"] == "renew"
    assert body["accountId"] == ACCOUNT_ID
    assert body["counts"] == {"pending": 1, "renewed": 0, "total": 1}
    assert body["showAgainAt"] is None


def test_summary_multiple_accounts(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a seller with two pending accounts and one renewed
    seed_account("acct-1", name="One")
    seed_account("acct-2", name="Two")
    seed_account("acct-3", name="Three", status=STATUS_RENEWED)

    # When the pop-up requests the summary
    body = summary(api, lambda_context, USER_ID)

    # Then it shows the multiple variant with a review button
    assert body["show"] is True
    assert body["variant"] == "multiple"
    assert body["title"] == "ACTION REQUIRED \u2013 Renew your Walmart account connections"
    assert body["action"] == "review"
    assert body["accountId"] is None
    assert body["counts"] == {"pending": 2, "renewed": 1, "total": 3}


def test_summary_accountant_wins(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a user who owns one pending account and manages one pending client account
    seed_account("acct-own", owner_id=ACCOUNTANT_ID)
    seed_account("acct-client", owner_id="user-client-1", accountant_id=ACCOUNTANT_ID)

    # When the pop-up requests the summary
    body = summary(api, lambda_context, ACCOUNTANT_ID)

    # Then the accountant variant shows, counting both accounts
    assert body["variant"] == "accountant"
    assert body["title"] == "ACTION REQUIRED \u2013 Renew your client Walmart account connections"
    assert body["action"] == "review"
    assert body["counts"] == {"pending": 2, "renewed": 0, "total": 2}


def test_summary_nothing_pending(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a seller whose only account is renewed
    seed_account(status=STATUS_RENEWED)

    # When the pop-up requests the summary
    body = summary(api, lambda_context, USER_ID)

    # Then the pop-up stays hidden
    assert body["show"] is False
    assert body["variant"] is None
    assert body["counts"] == {"pending": 0, "renewed": 1, "total": 1}


def test_summary_foreign_accounts_hidden(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given only accounts of other users
    seed_mixed_accounts()

    # When a user with no accounts requests the summary
    body = summary(api, lambda_context, "user-nobody")

    # Then nothing counts and nothing shows
    assert body["show"] is False
    assert body["counts"] == {"pending": 0, "renewed": 0, "total": 0}


def test_dismiss_hides_for_a_day(
    aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext, shifted_clock: None
) -> None:
    # Given a seller with a pending account who dismisses the pop-up
    seed_account()
    response, _ = call(api, lambda_context, "POST", "/api/renewals/summary/dismiss", USER_ID)
    dismissed_at = clock.now()

    # When the pop-up requests the summary just after, and again 25 hours later
    hidden = summary(api, lambda_context, USER_ID)
    clock.set_offset(timedelta(hours=25))
    again = summary(api, lambda_context, USER_ID)

    # Then it is hidden until 24 hours after the dismissal, and shows again after that
    show_again_at = from_iso(hidden["showAgainAt"])
    assert response["statusCode"] == 204
    assert hidden["show"] is False
    assert hidden["variant"] == "single"
    assert timedelta(hours=23, minutes=59) < show_again_at - dismissed_at <= timedelta(hours=24)
    assert again["show"] is True
    assert again["showAgainAt"] is None


def test_dismiss_is_per_user(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given two sellers with pending accounts, and the first one dismisses the pop-up
    seed_account("acct-1", owner_id=USER_ID)
    seed_account("acct-2", owner_id="user-seller-2")
    call(api, lambda_context, "POST", "/api/renewals/summary/dismiss", USER_ID)

    # When the second seller requests the summary
    body = summary(api, lambda_context, "user-seller-2")

    # Then the pop-up still shows for the second seller
    assert body["show"] is True
