"""Integration tests of the OAuth start function: start tickets in, Walmart's authorize redirect or a page out."""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

from renewals.clock import clock
from renewals.connections import issue_start_url
from renewals.data.accounts import mark_renewed
from renewals.data.models import CHANNEL_DASHBOARD, OAuthStateModel, StartTicketModel
from renewals.tokens import hash_token, new_token
from tests.conftest import AwsStack, FakeLambdaContext, load_event, load_handler
from tests.integration.oauth_helpers import (
    ACCOUNT_ID,
    USER_ID,
    header,
    invoke,
    location,
    query_of,
    seed_account,
    set_cookies,
    start_event,
)


@pytest.fixture
def handler(aws: AwsStack, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_handler("oauth_start")


def ticket_query(aws: AwsStack, account_id: str = ACCOUNT_ID, user_id: str = USER_ID) -> str:
    """Issue a start ticket the way the renewals API does and return the start URL's query."""
    return urlsplit(issue_start_url(user_id, account_id, clock.now(), aws.settings)).query


def assert_page_headers(response: dict[str, Any]) -> None:
    assert header(response, "Content-Type") == "text/html; charset=utf-8"
    assert header(response, "Cache-Control") == "no-store"
    assert "frame-ancestors 'none'" in (header(response, "Content-Security-Policy") or "")
    assert header(response, "X-Frame-Options") == "DENY"


def test_start_redirects_to_walmart(aws: AwsStack, handler: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a fresh start ticket for a pending account
    seed_account()
    query = ticket_query(aws)

    # When the browser opens the start URL
    response = invoke(handler, start_event(query), lambda_context)

    # Then it is redirected to Walmart's authorize URL with the camelCase parameters and a state
    target = location(response)
    parameters = query_of(target)
    assert response["statusCode"] == 302
    assert target.startswith("https://walmart.test/authorize?")
    assert parameters["responseType"] == "code"
    assert parameters["clientId"] == "local-walmart-client-id"
    assert parameters["redirectUri"] == "https://renew.example.test/oauth/callback"
    assert parameters["clientType"] == "seller"
    assert parameters["nonce"]
    assert parameters["state"]
    assert header(response, "Cache-Control") == "no-store"


def test_start_stores_state_for_dashboard(
    aws: AwsStack, handler: ModuleType, lambda_context: FakeLambdaContext
) -> None:
    # Given a fresh start ticket for a pending account
    seed_account()
    query = ticket_query(aws)

    # When the browser opens the start URL
    response = invoke(handler, start_event(query), lambda_context)

    # Then one hashed state for the dashboard channel is stored, and the ticket is used
    state = query_of(location(response))["state"]
    stored = OAuthStateModel.get(hash_token(state))
    ticket = StartTicketModel.get(hash_token(query_of("?" + query)["ticket"]))
    lifetime = stored.expires_at - stored.created_at
    assert stored.account_id == ACCOUNT_ID
    assert stored.channel == CHANNEL_DASHBOARD
    assert stored.initiator_id == USER_ID
    assert stored.consumed_at is None
    assert timedelta(seconds=599) < lifetime <= timedelta(seconds=600)
    assert ticket.used_at is not None
    assert len(list(OAuthStateModel.scan())) == 1


def test_start_sets_binding_cookie(aws: AwsStack, handler: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a fresh start ticket for a pending account
    seed_account()

    # When the browser opens the start URL
    response = invoke(handler, start_event(ticket_query(aws)), lambda_context)

    # Then a short-lived HttpOnly, Secure, SameSite=Lax cookie named after the state binds the flow
    state_hash = hash_token(query_of(location(response))["state"])
    cookies = set_cookies(response)
    name = f"__Host-wm_renewal_{state_hash[:16]}"
    morsel = cookies[name][name]
    assert list(cookies) == [name]
    assert morsel["httponly"] is True
    assert morsel["secure"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert morsel["max-age"] == "600"
    assert hash_token(morsel.value) == OAuthStateModel.get(state_hash).binding_hash


def test_start_ticket_single_use(aws: AwsStack, handler: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a start ticket that was already used once
    seed_account()
    query = ticket_query(aws)
    invoke(handler, start_event(query), lambda_context)

    # When the same start URL is opened again
    response = invoke(handler, start_event(query), lambda_context)

    # Then a "gone" page comes back, and no second state is created
    assert response["statusCode"] == 410
    assert "expired" in response["body"]
    assert_page_headers(response)
    assert len(list(OAuthStateModel.scan())) == 1


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 400),
        ("ticket=", 400),
        ("other=1", 400),
        ("ticket=short", 400),
        (f"ticket={'A' * 42}%2B", 400),
        (f"ticket={new_token()}", 410),
    ],
    ids=["no-query", "empty", "other-parameter", "malformed", "bad-character", "unknown"],
)
def test_start_bad_ticket_page(
    aws: AwsStack, handler: ModuleType, lambda_context: FakeLambdaContext, query: str, status: int
) -> None:
    # Given a pending account
    seed_account()

    # When the start URL carries no ticket, a malformed one or an unknown one
    response = invoke(handler, start_event(query), lambda_context)

    # Then a page with a way back to the app and a support reference comes back, and no state is created
    assert response["statusCode"] == status
    assert_page_headers(response)
    assert 'href="https://app.example.test/dashboard"' in response["body"]
    assert lambda_context.aws_request_id in response["body"]
    assert "cookies" not in response or response["cookies"] == []
    assert list(OAuthStateModel.scan()) == []


def test_start_duplicated_ticket_rejected(
    aws: AwsStack, handler: ModuleType, lambda_context: FakeLambdaContext
) -> None:
    # Given two valid tickets for the same account
    seed_account()
    first, second = ticket_query(aws), ticket_query(aws)

    # When the start URL repeats the ticket parameter
    response = invoke(handler, start_event(f"{first}&{second}"), lambda_context)

    # Then the request is rejected as malformed, and neither ticket is used
    assert response["statusCode"] == 400
    assert list(OAuthStateModel.scan()) == []
    assert all(ticket.used_at is None for ticket in StartTicketModel.scan())


def test_start_expired_ticket(aws: AwsStack, handler: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a ticket issued three minutes ago that DynamoDB's TTL has not deleted yet
    seed_account()
    issued_at = clock.now() - timedelta(minutes=3)
    query = urlsplit(issue_start_url(USER_ID, ACCOUNT_ID, issued_at, aws.settings)).query

    # When the browser opens the start URL
    response = invoke(handler, start_event(query), lambda_context)

    # Then the ticket counts as absent: a "gone" page, and no state
    assert response["statusCode"] == 410
    assert "expired" in response["body"]
    assert list(OAuthStateModel.scan()) == []


def test_start_already_renewed_account(aws: AwsStack, handler: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a ticket for an account that was renewed after the ticket was issued
    seed_account(name="Acme Outdoor")
    query = ticket_query(aws)
    mark_renewed(ACCOUNT_ID, clock.now(), "magic_link", "user-client", "10001234")

    # When the browser opens the start URL
    response = invoke(handler, start_event(query), lambda_context)

    # Then a page states that the connection is already renewed, and no state is created
    assert response["statusCode"] == 200
    assert "already renewed" in response["body"]
    assert "Acme Outdoor" in response["body"]
    assert_page_headers(response)
    assert list(OAuthStateModel.scan()) == []


def test_start_account_no_longer_visible(aws: AwsStack, handler: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a ticket for an account whose owner changed after the ticket was issued
    seed_account()
    query = ticket_query(aws)
    aws.client("dynamodb").update_item(
        TableName=aws.settings.accounts_table,
        Key={"accountId": {"S": ACCOUNT_ID}},
        UpdateExpression="SET ownerId = :owner",
        ExpressionAttributeValues={":owner": {"S": "user-new-owner"}},
    )

    # When the browser opens the start URL
    response = invoke(handler, start_event(query), lambda_context)

    # Then the ticket is refused, and no state is created
    assert response["statusCode"] == 410
    assert list(OAuthStateModel.scan()) == []


def test_start_sample_event_unknown_ticket(
    aws: AwsStack, handler: ModuleType, lambda_context: FakeLambdaContext
) -> None:
    # Given the sample event, whose ticket was never issued here
    event = load_event("oauth_start.json")

    # When it arrives
    response = invoke(handler, event, lambda_context)

    # Then the ticket is unknown
    assert response["statusCode"] == 410


def test_start_unknown_path_404(aws: AwsStack, handler: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a request for a path the function does not serve
    event = start_event("")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/oauth/other"

    # When it arrives
    response = invoke(handler, event, lambda_context)

    # Then an HTML not-found page comes back
    assert response["statusCode"] == 404
    assert_page_headers(response)
