"""Integration tests of magic links: the domain module and the magic-link function, on moto and the stand-in Walmart."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest

from local_stack.events import simple_event
from renewals import magic_links
from renewals.clock import clock
from renewals.data.accounts import get_account, mark_renewed
from renewals.data.magic_links import get_magic_link, put_magic_link
from renewals.data.models import (
    CHANNEL_MAGIC_LINK,
    STATUS_NEEDS_RENEWAL,
    STATUS_RENEWED,
    MagicLinkModel,
    OAuthStateModel,
)
from renewals.magic_links import IssuedLink, LinkStatus
from renewals.settings import Settings
from renewals.tokens import hash_token, new_token
from tests.conftest import AwsStack, FakeLambdaContext, load_handler
from tests.integration.oauth_helpers import (
    OTHER_OWNER,
    OTHER_SELLER_ID,
    OWNER,
    SELLER_ID,
    StandIn,
    browser_cookies,
    header,
    location,
    query_of,
    running_stand_in,
    seed_account,
)
from tests.sent_mail import email_parts, sent_emails

ACCOUNTANT_ID = "accountant-carol"
ACCOUNT_A = "acct-client-a"
ACCOUNT_B = "acct-client-b"
HOSTILE_NAME = 'Bob & Sons <Outlet> "<script>alert(1)</script>"'


def _seed(account_id: str = ACCOUNT_A, name: str = "Acme Outdoor", seller_id: str = SELLER_ID) -> None:
    seed_account(
        account_id,
        name=name,
        owner_id=None,
        accountant_id=ACCOUNTANT_ID,
        seller_id=seller_id,
        accountant_name="Carol Reyes",
        accountant_email="carol@cpa.example",
        client_name="Dana Client",
        client_email="dana@client.example",
    )


def _issue(settings: Settings, account_id: str = ACCOUNT_A, age: timedelta = timedelta(0)) -> IssuedLink:
    return magic_links.issue(account_id, ACCOUNTANT_ID, clock.now() - age, settings)


def _get(handler: ModuleType, token: str, context: FakeLambdaContext) -> dict[str, Any]:
    event = simple_event("GET", f"/r/{token}", route_key="GET /r/{token}", path_parameters={"token": token})
    return handler.lambda_handler(event, context)


def _post(handler: ModuleType, token: str, context: FakeLambdaContext) -> dict[str, Any]:
    event = simple_event("POST", f"/r/{token}", route_key="POST /r/{token}", form={}, path_parameters={"token": token})
    return handler.lambda_handler(event, context)


def _oauth_states(settings: Settings) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=settings.oauth_states_table)["Items"]


def _form_action(body: str) -> str:
    match = re.search(r'<form method="post" action="([^"]+)">', body)
    assert match is not None, body
    return match.group(1)


# Domain module


def test_issue_stores_only_hash(aws: AwsStack) -> None:
    # Given a client account
    _seed()

    # When a link is issued
    link = _issue(aws.settings)

    # Then the table contains the token's hash as key and the token nowhere
    items = boto3.client("dynamodb").scan(TableName=aws.settings.magic_links_table)["Items"]
    assert len(items) == 1
    assert items[0]["tokenHash"]["S"] == hash_token(link.token)
    assert link.token not in str(items[0])


def test_issue_link_fields(aws: AwsStack) -> None:
    # Given a client account
    _seed()
    now = clock.now()

    # When a link is issued
    link = magic_links.issue(ACCOUNT_A, ACCOUNTANT_ID, now, aws.settings)

    # Then it is a 256-bit token on the public base, bound to the account and purpose, expiring after the TTL
    stored = get_magic_link(link.token_hash)
    assert stored is not None
    assert link.url == f"https://renew.example.test/r/{link.token}"
    assert len(link.token) == 43
    assert link.expires_at == now + timedelta(days=aws.settings.magic_link_ttl_days)
    assert stored.account_id == ACCOUNT_A
    assert stored.purpose == "renew_connection"
    assert stored.issued_by == ACCOUNTANT_ID
    assert link.token not in repr(link)


def test_resolve_live(aws: AwsStack) -> None:
    # Given a fresh link
    _seed()
    link = _issue(aws.settings)

    # When it is resolved
    resolution = magic_links.resolve(link.token, clock.now())

    # Then it is live for its account
    assert resolution.status is LinkStatus.LIVE
    assert resolution.account is not None
    assert resolution.account.account_id == ACCOUNT_A


def test_resolve_expired_in_code(aws: AwsStack) -> None:
    # Given a link older than its lifetime, still in the table because TTL deletes late
    _seed()
    link = _issue(aws.settings, age=timedelta(days=aws.settings.magic_link_ttl_days, seconds=1))

    # When it is resolved
    # Then it is unusable
    assert get_magic_link(link.token_hash) is not None
    assert magic_links.resolve(link.token, clock.now()).status is LinkStatus.UNUSABLE


def test_resolve_other_purpose_unusable(aws: AwsStack) -> None:
    # Given a live link of the account that was issued for some purpose other than renewing its connection
    _seed()
    token = new_token()
    now = clock.now()
    put_magic_link(
        MagicLinkModel(
            hash_token(token),
            account_id=ACCOUNT_A,
            purpose="update_contact_details",
            issued_by=ACCOUNTANT_ID,
            created_at=now,
            expires_at=now + timedelta(days=1),
        )
    )

    # When it is resolved for a renewal
    # Then it is unusable
    assert magic_links.resolve(token, now).status is LinkStatus.UNUSABLE


@pytest.mark.parametrize("token", ["", "short", "x" * 200, "../../etc/passwd", "a" * 43 + "%00"])
def test_resolve_malformed_unusable(aws: AwsStack, token: str) -> None:
    # Given a value that cannot be a token
    # When it is resolved
    # Then it is unusable
    assert magic_links.resolve(token, clock.now()).status is LinkStatus.UNUSABLE


def test_several_live_links(aws: AwsStack) -> None:
    # Given two links issued for one account
    _seed()
    first = _issue(aws.settings)
    second = _issue(aws.settings)

    # Then both are live
    assert magic_links.resolve(first.token, clock.now()).status is LinkStatus.LIVE
    assert magic_links.resolve(second.token, clock.now()).status is LinkStatus.LIVE


def test_revoke_all_only_that_account(aws: AwsStack) -> None:
    # Given two live links for account A, one expired link for A and a live link for account B
    _seed(ACCOUNT_A)
    _seed(ACCOUNT_B, seller_id=OTHER_SELLER_ID)
    links_a = [_issue(aws.settings), _issue(aws.settings)]
    _issue(aws.settings, age=timedelta(days=30))
    link_b = _issue(aws.settings, ACCOUNT_B)

    # When every link of A is revoked
    revoked = magic_links.revoke_all(ACCOUNT_A, clock.now())

    # Then the two live links of A are revoked and B's link still works
    assert revoked == 2
    for link in links_a:
        assert magic_links.resolve(link.token, clock.now()).status is LinkStatus.UNUSABLE
    assert magic_links.resolve(link_b.token, clock.now()).status is LinkStatus.LIVE


def test_revoke_all_twice_counts_zero(aws: AwsStack) -> None:
    # Given an account whose links were revoked
    _seed()
    _issue(aws.settings)
    magic_links.revoke_all(ACCOUNT_A, clock.now())

    # When they are revoked again
    # Then nothing is left to revoke
    assert magic_links.revoke_all(ACCOUNT_A, clock.now()) == 0


# The magic-link function


def test_get_shows_continue_page(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    # Given a live link
    _seed()
    link = _issue(aws.settings)
    handler = load_handler("magic_link")

    # When its page is fetched
    response = _get(handler, link.token, lambda_context)

    # Then the page names the account, explains the renewal and posts to the link's own URL on the public base
    body = response["body"]
    assert response["statusCode"] == 200
    assert "Acme Outdoor" in body
    assert "Walmart changed how apps connect" in body
    assert "No data is lost" in body
    assert "main (admin) Seller Center login" in body
    assert "Continue to Walmart" in body
    assert _form_action(body) == f"https://renew.example.test/r/{link.token}"


def test_get_page_has_no_script(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    # Given a live link
    _seed()
    link = _issue(aws.settings)
    handler = load_handler("magic_link")

    # When its page is fetched
    body = _get(handler, link.token, lambda_context)["body"].lower()

    # Then nothing on the page can submit the form by itself
    assert "<script" not in body
    assert "onload" not in body
    assert 'http-equiv="refresh"' not in body


def test_get_security_headers(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    # Given a live link
    _seed()
    link = _issue(aws.settings)
    handler = load_handler("magic_link")

    # When its page is fetched
    response = _get(handler, link.token, lambda_context)

    # Then the page keeps the token out of referrers and caches and cannot be framed
    assert header(response, "Referrer-Policy") == "no-referrer"
    assert header(response, "Cache-Control") == "no-store"
    assert header(response, "X-Frame-Options") == "DENY"
    assert "frame-ancestors 'none'" in (header(response, "Content-Security-Policy") or "")
    assert "script-src" not in (header(response, "Content-Security-Policy") or "")


def test_get_ignores_host_header(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    # Given a request that arrives with a forged Host header
    _seed()
    link = _issue(aws.settings)
    handler = load_handler("magic_link")
    event = simple_event(
        "GET",
        f"/r/{link.token}",
        route_key="GET /r/{token}",
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
        path_parameters={"token": link.token},
    )

    # When the page is built
    body = handler.lambda_handler(event, lambda_context)["body"]

    # Then the form still posts to the configured public base
    assert _form_action(body).startswith("https://renew.example.test/r/")
    assert "evil.example" not in body


def test_twenty_gets_change_nothing(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    # Given a live link
    _seed()
    link = _issue(aws.settings)
    handler = load_handler("magic_link")

    # When a scanner fetches its page twenty times without cookies
    responses = [_get(handler, link.token, lambda_context) for _ in range(20)]

    # Then every fetch shows the page, sets no cookie and creates no OAuth state, and the link still works
    assert {response["statusCode"] for response in responses} == {200}
    assert all(not response.get("cookies") for response in responses)
    assert _oauth_states(aws.settings) == []
    assert magic_links.resolve(link.token, clock.now()).status is LinkStatus.LIVE

    # And the views are recorded for the accountant
    stored = get_magic_link(link.token_hash)
    account = get_account(ACCOUNT_A)
    assert stored is not None
    assert stored.open_count == 20
    assert stored.first_opened_at is not None
    assert stored.continued_at is None
    assert account is not None
    assert account.link_opened_at is not None
    assert account.status == STATUS_NEEDS_RENEWAL

    # When the Continue button is pressed after all that
    response = _post(handler, link.token, lambda_context)

    # Then the browser goes to Walmart's authorize URL with a state stored for this account
    assert response["statusCode"] == 303
    assert location(response).startswith("https://walmart.test/authorize?")
    states = _oauth_states(aws.settings)
    assert len(states) == 1
    assert states[0]["accountId"]["S"] == ACCOUNT_A


def test_post_starts_oauth(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    # Given a live link
    _seed()
    link = _issue(aws.settings)
    handler = load_handler("magic_link")

    # When its form is posted
    response = _post(handler, link.token, lambda_context)

    # Then the state in the authorize URL is stored hashed, bound to the account, the channel and the link
    query = query_of(location(response))
    state = OAuthStateModel.get(hash_token(query["state"]))
    assert state.account_id == ACCOUNT_A
    assert state.channel == CHANNEL_MAGIC_LINK
    assert state.initiator_id == "magic-link"
    assert state.magic_link_hash == link.token_hash
    assert query["clientId"] == "local-walmart-client-id"
    assert query["redirectUri"] == "https://renew.example.test/oauth/callback"


def test_post_sets_binding_cookie(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    # Given a live link
    _seed()
    link = _issue(aws.settings)
    handler = load_handler("magic_link")

    # When its form is posted
    response = _post(handler, link.token, lambda_context)

    # Then one HttpOnly, Secure, SameSite=Lax cookie binds the flow to this browser
    cookies = response.get("cookies", [])
    assert len(cookies) == 1
    assert cookies[0].startswith("__Host-wm_renewal_")
    assert "HttpOnly" in cookies[0]
    assert "Secure" in cookies[0]
    assert "SameSite=Lax" in cookies[0]
    assert header(response, "Referrer-Policy") == "no-referrer"


def test_post_records_continued(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    # Given a live link
    _seed()
    link = _issue(aws.settings)
    handler = load_handler("magic_link")

    # When its form is posted
    _post(handler, link.token, lambda_context)

    # Then the link and the account record that the client continued to Walmart
    stored = get_magic_link(link.token_hash)
    account = get_account(ACCOUNT_A)
    assert stored is not None
    assert stored.continued_at is not None
    assert account is not None
    assert account.link_continued_at is not None


def test_unusable_links_same_page(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    # Given an expired, a revoked and an unknown link
    _seed()
    expired = _issue(aws.settings, age=timedelta(days=aws.settings.magic_link_ttl_days + 1))
    revoked = _issue(aws.settings)
    magic_links.revoke_all(ACCOUNT_A, clock.now())
    unknown = new_token()
    handler = load_handler("magic_link")

    # When each page is fetched and each form posted
    tokens = [expired.token, revoked.token, unknown]
    responses = [_get(handler, token, lambda_context) for token in tokens]
    responses += [_post(handler, token, lambda_context) for token in tokens]

    # Then all six responses have one status and one body that explains what to do, and no state exists
    assert {response["statusCode"] for response in responses} == {404}
    assert len({response["body"] for response in responses}) == 1
    body = responses[0]["body"]
    assert "This renewal link no longer works" in body
    assert "ask your accountant for a new link" in body
    assert "sign in to your bookkeeping app" in body
    assert "Acme" not in body
    assert _oauth_states(aws.settings) == []
    assert all(not response.get("cookies") for response in responses)


def test_unusable_page_headers(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    # Given an unknown token
    handler = load_handler("magic_link")

    # When its page is fetched
    response = _get(handler, new_token(), lambda_context)

    # Then the page carries the token page headers too
    assert header(response, "Referrer-Policy") == "no-referrer"
    assert header(response, "Cache-Control") == "no-store"


def test_renewed_account_page(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    # Given a live link whose account was then renewed
    _seed()
    link = _issue(aws.settings)
    mark_renewed(ACCOUNT_A, clock.now(), "dashboard", "user-1", SELLER_ID)
    handler = load_handler("magic_link")

    # When its page is fetched and its form posted
    shown = _get(handler, link.token, lambda_context)
    posted = _post(handler, link.token, lambda_context)

    # Then both state that the connection is renewed, and nothing starts
    for response in (shown, posted):
        assert response["statusCode"] == 200
        assert "is renewed" in response["body"]
        assert "Nothing more is needed" in response["body"]
        assert "<form" not in response["body"]
    assert _oauth_states(aws.settings) == []


def test_hostile_name_escaped(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    # Given an account whose name contains HTML
    _seed(name=HOSTILE_NAME)
    link = _issue(aws.settings)
    handler = load_handler("magic_link")

    # When its page is fetched
    body = _get(handler, link.token, lambda_context)["body"]

    # Then the name appears escaped and never as markup
    assert "Bob &amp; Sons &lt;Outlet&gt;" in body
    assert "<script>" not in body


def test_unknown_route_unusable(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    # Given a path with an extra segment
    handler = load_handler("magic_link")
    event = simple_event("GET", "/r/abc/def")

    # When it reaches the function
    response = handler.lambda_handler(event, lambda_context)

    # Then it gets the unusable-link page
    assert response["statusCode"] == 404
    assert "This renewal link no longer works" in response["body"]


def test_no_token_in_logs(
    aws: AwsStack,
    lambda_context: FakeLambdaContext,
    log_output: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a live link
    _seed()
    link = _issue(aws.settings)
    handler = load_handler("magic_link")

    # When its page is fetched, its form posted, and an unknown token presented
    response = _post(handler, link.token, lambda_context)
    _get(handler, link.token, lambda_context)
    unknown = new_token()
    _get(handler, unknown, lambda_context)

    # Then the logs contain neither token, nor the OAuth state, nor the cookie secret
    captured = capsys.readouterr()
    logs = log_output.getvalue() + captured.out + captured.err
    state = query_of(location(response))["state"]
    cookie_secret = browser_cookies(response)[0].split("=", 1)[1]
    assert "magic link continued to walmart" in logs
    for secret in (link.token, unknown, state, cookie_secret):
        assert secret not in logs


# The whole client flow through the stand-in Walmart and the OAuth callback


@pytest.fixture
def walmart(aws: AwsStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """Run the stand-in Walmart on 127.0.0.1 and point Settings at it."""
    with running_stand_in(aws, monkeypatch) as running:
        yield running


def _continue_to_walmart(token: str, context: FakeLambdaContext) -> tuple[str, list[str]]:
    handler = load_handler("magic_link")
    assert _get(handler, token, context)["statusCode"] == 200
    response = _post(handler, token, context)
    assert response["statusCode"] == 303
    return location(response), browser_cookies(response)


def _callback(raw_url: str, cookies: list[str], context: FakeLambdaContext) -> dict[str, Any]:
    handler = load_handler("oauth_callback")
    raw_query = raw_url.split("?", 1)[1]
    event = simple_event("GET", "/oauth/callback", query=raw_query, cookies=cookies)
    return handler.lambda_handler(event, context)


def test_client_flow_renews(walmart: StandIn, lambda_context: FakeLambdaContext) -> None:
    # Given a client with a magic link
    _seed()
    link = _issue(walmart.settings)

    # When the client opens it, continues, approves on Walmart with the main login and returns
    authorize_url, cookies = _continue_to_walmart(link.token, lambda_context)
    assert authorize_url.startswith(walmart.server.url + "/authorize?")
    callback_url = walmart.decide(authorize_url, OWNER)
    response = _callback(callback_url, cookies, lambda_context)

    # Then the account is renewed through the magic-link channel and the client sees success
    account = get_account(ACCOUNT_A)
    assert response["statusCode"] == 200, response["body"]
    assert account is not None
    assert account.status == STATUS_RENEWED
    assert account.renewal_channel == CHANNEL_MAGIC_LINK

    # And the link now shows that the connection is already renewed
    page = _get(load_handler("magic_link"), link.token, lambda_context)
    assert page["statusCode"] == 200
    assert "is renewed" in page["body"]
    assert magic_links.resolve(link.token, clock.now()).status is LinkStatus.RENEWED


def test_link_cannot_renew_other_account(walmart: StandIn, lambda_context: FakeLambdaContext) -> None:
    # Given accounts A and B of different sellers, and a link for A
    _seed(ACCOUNT_A, seller_id=SELLER_ID)
    _seed(ACCOUNT_B, name="Other Goods", seller_id=OTHER_SELLER_ID)
    link = _issue(walmart.settings, ACCOUNT_A)

    # When B's seller approves on Walmart through A's link
    authorize_url, cookies = _continue_to_walmart(link.token, lambda_context)
    callback_url = walmart.decide(authorize_url, OTHER_OWNER)
    response = _callback(callback_url, cookies, lambda_context)

    # Then neither account is renewed and no credentials are stored, because the state names A and Walmart
    # vouched for B's seller
    account_a = get_account(ACCOUNT_A)
    account_b = get_account(ACCOUNT_B)
    credentials = boto3.client("dynamodb").scan(TableName=walmart.settings.credentials_table)["Items"]
    assert response["statusCode"] == 400
    assert "Wrong Walmart seller account" in response["body"]
    assert credentials == []
    assert account_a is not None
    assert account_a.status == STATUS_NEEDS_RENEWAL
    assert account_b is not None
    assert account_b.status == STATUS_NEEDS_RENEWAL


def test_client_flow_sends_notices_once(walmart: StandIn, lambda_context: FakeLambdaContext) -> None:
    # Given a client who renews through a magic link
    _seed()
    link = _issue(walmart.settings)
    authorize_url, cookies = _continue_to_walmart(link.token, lambda_context)
    callback_url = walmart.decide(authorize_url, OWNER)

    # When the callback arrives, and then again as a browser reload
    first = _callback(callback_url, cookies, lambda_context)
    second = _callback(callback_url, cookies, lambda_context)

    # Then the client got the confirmation and the accountant the note, each once
    recipients = [message["To"] for message in sent_emails()]
    assert first["statusCode"] == 200
    assert second["statusCode"] == 200
    assert sorted(recipients) == ["carol@cpa.example", "dana@client.example"]
    by_recipient = {message["To"]: message for message in sent_emails()}
    assert "renewed" in by_recipient["dana@client.example"]["Subject"].lower()
    assert "Dana Client" in email_parts(by_recipient["carol@cpa.example"])["text/plain"]
