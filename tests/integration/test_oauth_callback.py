"""Integration tests of the OAuth callback function, against moto and either the stand-in Walmart or `responses`."""

from __future__ import annotations

import base64
import copy
import io
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests
import responses
from botocore.exceptions import ClientError

from local_stack.resources import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET
from renewals.authorization import begin_authorization, walmart_client
from renewals.clock import clock
from renewals.data.accounts import get_account
from renewals.data.aws import EVENT_SOURCE, decrypt_for_account
from renewals.data.credentials import get_credentials
from renewals.data.models import (
    CHANNEL_DASHBOARD,
    CHANNEL_MAGIC_LINK,
    STATUS_NEEDS_RENEWAL,
    STATUS_RENEWED,
    CredentialModel,
    OAuthStateModel,
)
from renewals.settings import Settings
from renewals.tokens import hash_token
from tests.conftest import AwsStack, FakeLambdaContext, load_event, load_handler
from tests.integration.oauth_helpers import (
    ACCOUNT_ID,
    OTHER_OWNER,
    OTHER_SELLER_ID,
    OWNER,
    SELLER_ID,
    STAFF,
    USER_ID,
    StandIn,
    api_event,
    browser_cookies,
    callback_event,
    header,
    invoke,
    location,
    query_of,
    running_stand_in,
    seed_account,
    set_cookies,
    start_event,
)

APP_URL = "https://app.example.test/dashboard"
TOKEN_URL = "https://walmart.test/v3/token"
PROFILE_URL = "https://walmart.test/v3/settings/partnerprofile"
ACCESS_TOKEN = "access-3f9a7c1e5b"
REFRESH_TOKEN = "refresh-8d2b6f0a4c"
TOKEN_BODY = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 900, "refresh_token": REFRESH_TOKEN}
CODE = "code-6e1c9b3d7f"


@dataclass
class Flow:
    """A started renewal: the state Walmart echoes back and the cookie the browser holds."""

    state: str
    cookies: list[str]

    def callback_query(self, code: str = CODE, seller_id: str = SELLER_ID, **extra: str) -> str:
        parameters = {"code": code, "type": "auth", "clientId": LOCAL_CLIENT_ID, "sellerId": seller_id}
        return urlencode({**parameters, "state": self.state, **extra})


def begin(settings: Settings, channel: str = CHANNEL_DASHBOARD, age: timedelta = timedelta(0)) -> Flow:
    """Create an OAuth state the way OAuth start does, as if `age` ago, and return what the browser holds."""
    started = begin_authorization(settings, clock.now() - age, ACCOUNT_ID, channel=channel, initiator_id=USER_ID)
    cookie = started.binding_cookie
    return Flow(state=query_of(started.authorize_url)["state"], cookies=[f"{cookie.name}={cookie.value}"])


@pytest.fixture
def callback(aws: AwsStack, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_handler("oauth_callback")


@pytest.fixture
def stand_in(aws: AwsStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    with running_stand_in(aws, monkeypatch) as running:
        yield running


@pytest.fixture
def walmart() -> Iterator[responses.RequestsMock]:
    """Intercept HTTP calls to https://walmart.test; a call that matches nothing fails."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def healthy_walmart(walmart: responses.RequestsMock, partner_id: str = SELLER_ID) -> None:
    walmart.add(responses.POST, TOKEN_URL, json=TOKEN_BODY)
    walmart.add(responses.GET, PROFILE_URL, json={"partner": {"partnerId": partner_id, "partnerName": "Acme"}})


def token_calls(walmart: responses.RequestsMock) -> int:
    return sum(1 for call in walmart.calls if call.request.url == TOKEN_URL)


@pytest.fixture
def renewed_events(aws: AwsStack) -> Callable[[], list[dict[str, Any]]]:
    """Route renewed events from the bus to an SQS queue, and return a reader of the queue."""
    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName="renewed-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = aws.client("events")
    bus = aws.settings.event_bus_name
    events.put_rule(Name="renewed", EventBusName=bus, EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
    events.put_targets(Rule="renewed", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])

    def read() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    return read


def assert_problem_page(response: dict[str, Any], status: int, context: FakeLambdaContext) -> None:
    """Check the headers, Try again action and support reference that every failure page carries."""
    assert response["statusCode"] == status
    assert header(response, "Content-Type") == "text/html; charset=utf-8"
    assert header(response, "Cache-Control") == "no-store"
    assert "frame-ancestors 'none'" in (header(response, "Content-Security-Policy") or "")
    assert header(response, "X-Frame-Options") == "DENY"
    assert f'href="{APP_URL}"' in response["body"]
    assert "Try again" in response["body"]
    assert context.aws_request_id in response["body"]


def assert_untouched(account_id: str = ACCOUNT_ID, seller_id: str | None = SELLER_ID) -> None:
    account = get_account(account_id)
    assert account is not None
    assert account.status == STATUS_NEEDS_RENEWAL
    assert account.renewed_at is None
    assert account.walmart_seller_id == seller_id
    assert get_credentials(account_id) is None


def stored_state(flow: Flow) -> OAuthStateModel:
    return OAuthStateModel.get(hash_token(flow.state))


# End to end through the stand-in Walmart


def dashboard_start(stand_in: StandIn, context: FakeLambdaContext) -> tuple[str, list[str], str]:
    """Start a renewal from the dashboard: API start, then OAuth start. Return the authorize URL, cookies, ticket."""
    api = load_handler("renewals_api")
    path = f"/api/renewals/connections/{ACCOUNT_ID}/start"
    answer = invoke(api, api_event("POST", path, USER_ID, {"accountId": ACCOUNT_ID}), context)
    start_url = json.loads(answer["body"])["url"]
    started = invoke(load_handler("oauth_start"), start_event(urlsplit(start_url).query), context)
    assert started["statusCode"] == 302
    return location(started), browser_cookies(started), query_of(start_url)["ticket"]


def test_dashboard_renewal_end_to_end(
    stand_in: StandIn,
    callback: ModuleType,
    lambda_context: FakeLambdaContext,
    renewed_events: Callable[[], list[dict[str, Any]]],
) -> None:
    # Given a seller's pending account, started from the dashboard and approved on Walmart by the admin login
    seed_account()
    authorize_url, cookies, _ = dashboard_start(stand_in, lambda_context)
    callback_url = stand_in.decide(authorize_url, OWNER)

    # When Walmart redirects the browser to the callback
    response = invoke(callback, callback_event(urlsplit(callback_url).query, cookies), lambda_context)

    # Then the browser returns to the dashboard with a success marker, and the binding cookie is dropped
    assert response["statusCode"] == 303
    assert location(response) == f"{APP_URL}?renewal=success&accountId={ACCOUNT_ID}"
    assert [cookie.split("=")[0] for cookie in cookies] == list(set_cookies(response))
    assert all(cookie[name]["max-age"] == "0" for name, cookie in set_cookies(response).items())
    assert header(response, "Cache-Control") == "no-store"

    # And the account is renewed through the dashboard by its owner, with fresh credentials
    account = get_account(ACCOUNT_ID)
    credentials = get_credentials(ACCOUNT_ID)
    assert account.status == STATUS_RENEWED
    assert account.renewal_channel == CHANNEL_DASHBOARD
    assert account.renewed_by == USER_ID
    assert account.reminder_due_at is None
    assert credentials.seller_id == SELLER_ID
    assert credentials.key_id == stand_in.settings.token_key_id
    assert credentials.access_token_expires_at - credentials.issued_at == timedelta(seconds=900)
    assert credentials.refresh_token_expires_at - credentials.issued_at == timedelta(days=365)

    # And one renewed event reached the bus, and the state records the outcome
    events = renewed_events()
    state_hash = hash_token(query_of(callback_url)["state"])
    assert [event["detail"]["accountId"] for event in events] == [ACCOUNT_ID]
    assert events[0]["detail"]["walmartSellerId"] == SELLER_ID
    assert events[0]["detail"]["channel"] == CHANNEL_DASHBOARD
    assert OAuthStateModel.get(state_hash).outcome == "renewed"


def test_callback_emits_completed_metric(
    stand_in: StandIn, callback: ModuleType, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an approved dashboard renewal
    seed_account()
    authorize_url, cookies, _ = dashboard_start(stand_in, lambda_context)
    callback_url = stand_in.decide(authorize_url, OWNER)
    capsys.readouterr()

    # When the callback arrives
    invoke(callback, callback_event(urlsplit(callback_url).query, cookies), lambda_context)

    # Then the function writes one RenewalCompleted metric
    assert emitted_metrics(capsys.readouterr().out) == ["RenewalCompleted"]


def emitted_metrics(output: str) -> list[str]:
    """Return the metric names of the Embedded Metric Format lines in `output`."""
    names = []
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            names.extend(metric["Name"] for metric in directive["Metrics"])
    return names


def test_callback_sends_walmart_headers(
    stand_in: StandIn, callback: ModuleType, lambda_context: FakeLambdaContext
) -> None:
    # Given an approved dashboard renewal
    seed_account()
    authorize_url, cookies, _ = dashboard_start(stand_in, lambda_context)
    callback_url = stand_in.decide(authorize_url, OWNER)

    # When the callback exchanges the code
    invoke(callback, callback_event(urlsplit(callback_url).query, cookies), lambda_context)

    # Then the one token request carries Basic client auth, every WM_ header and the exact redirect URI
    [request] = stand_in.app.token_requests
    basic = base64.b64encode(f"{LOCAL_CLIENT_ID}:{LOCAL_CLIENT_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {basic}"
    assert uuid.UUID(request.headers["WM_QOS.CORRELATION_ID"])
    assert request.headers["WM_SVC.NAME"] == "Walmart Marketplace"
    assert request.headers["WM_PARTNER.ID"] == SELLER_ID
    assert request.headers["WM_MARKET"] == "us"
    assert request.headers["Accept"] == "application/json"
    assert request.form["grant_type"] == "authorization_code"
    assert request.form["code"] == query_of(callback_url)["code"]
    assert request.form["redirect_uri"] == "https://renew.example.test/oauth/callback"
    assert "client_secret" not in request.form


def test_callback_logs_no_secrets(
    stand_in: StandIn,
    callback: ModuleType,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    log_output: io.StringIO,
) -> None:
    # Given a complete dashboard renewal and a repeated callback, with every log line of every step captured
    caplog.set_level(logging.INFO)
    seed_account()
    authorize_url, cookies, ticket = dashboard_start(stand_in, lambda_context)
    callback_url = stand_in.decide(authorize_url, OWNER)
    invoke(callback, callback_event(urlsplit(callback_url).query, cookies), lambda_context)
    invoke(callback, callback_event(urlsplit(callback_url).query, cookies), lambda_context)

    # When the captured output is searched for every secret of the flow
    captured = capsys.readouterr()
    output = log_output.getvalue() + captured.out + captured.err + caplog.text
    credentials = get_credentials(ACCOUNT_ID)
    secrets = {
        "ticket": ticket,
        "state": query_of(callback_url)["state"],
        "nonce": query_of(authorize_url)["nonce"],
        "code": query_of(callback_url)["code"],
        "binding cookie": cookies[0].split("=", 1)[1],
        "access token": decrypt_for_account(ACCOUNT_ID, credentials.encrypted_access_token),
        "refresh token": decrypt_for_account(ACCOUNT_ID, credentials.encrypted_refresh_token),
        "client secret": LOCAL_CLIENT_SECRET,
    }

    # Then the logs ran, and none of the secrets appears in them
    assert "oauth callback finished" in output
    for name, value in secrets.items():
        assert value not in output, f"{name} was logged"


def test_stored_tokens_bound_to_account(
    stand_in: StandIn, callback: ModuleType, lambda_context: FakeLambdaContext
) -> None:
    # Given a completed renewal
    seed_account()
    authorize_url, cookies, _ = dashboard_start(stand_in, lambda_context)
    callback_url = stand_in.decide(authorize_url, OWNER)
    invoke(callback, callback_event(urlsplit(callback_url).query, cookies), lambda_context)
    credentials = get_credentials(ACCOUNT_ID)

    # When the stored tokens are decrypted with the account id, and with another account id
    access_token = decrypt_for_account(ACCOUNT_ID, credentials.encrypted_access_token)
    refresh_token = decrypt_for_account(ACCOUNT_ID, credentials.encrypted_refresh_token)

    # Then they open only for their own account, and they are Walmart's working tokens
    profile = requests.get(
        f"{stand_in.server.url}/v3/settings/partnerprofile",
        headers={"WM_SEC.ACCESS_TOKEN": access_token, "WM_QOS.CORRELATION_ID": "c-1", "WM_SVC.NAME": "test"},
        timeout=5,
    )
    assert profile.json()["partner"]["partnerId"] == SELLER_ID
    assert walmart_client(stand_in.settings).refresh_access_token(refresh_token, SELLER_ID).access_token
    with pytest.raises(ClientError):
        decrypt_for_account("acct-other", credentials.encrypted_access_token)
    with pytest.raises(ClientError):
        decrypt_for_account("acct-other", credentials.encrypted_refresh_token)


def test_renewal_keeps_other_attributes(
    aws: AwsStack, stand_in: StandIn, callback: ModuleType, lambda_context: FakeLambdaContext
) -> None:
    # Given an account item carrying attributes written by another system
    seed_account()
    table = aws.settings.accounts_table
    dynamodb = aws.client("dynamodb")
    dynamodb.update_item(
        TableName=table,
        Key={"accountId": {"S": ACCOUNT_ID}},
        UpdateExpression="SET syncCursor = :cursor, settlementCount = :count",
        ExpressionAttributeValues={":cursor": {"S": "2026-11-30T00:00:00Z"}, ":count": {"N": "412"}},
    )

    # When the account is renewed
    authorize_url, cookies, _ = dashboard_start(stand_in, lambda_context)
    callback_url = stand_in.decide(authorize_url, OWNER)
    invoke(callback, callback_event(urlsplit(callback_url).query, cookies), lambda_context)

    # Then those attributes are unchanged next to the renewal
    item = dynamodb.get_item(TableName=table, Key={"accountId": {"S": ACCOUNT_ID}})["Item"]
    assert item["renewalStatus"] == {"S": STATUS_RENEWED}
    assert item["syncCursor"] == {"S": "2026-11-30T00:00:00Z"}
    assert item["settlementCount"] == {"N": "412"}
    assert item["accountName"] == {"S": "Acme Outdoor"}


def test_renewal_records_unknown_seller(
    stand_in: StandIn, callback: ModuleType, lambda_context: FakeLambdaContext
) -> None:
    # Given an account imported without a Walmart seller id
    seed_account(seller_id=None)
    authorize_url, cookies, _ = dashboard_start(stand_in, lambda_context)
    callback_url = stand_in.decide(authorize_url, OWNER)

    # When the admin login's callback arrives
    response = invoke(callback, callback_event(urlsplit(callback_url).query, cookies), lambda_context)

    # Then the account records the seller id that the callback and the partner profile agree on
    assert response["statusCode"] == 303
    assert get_account(ACCOUNT_ID).walmart_seller_id == SELLER_ID


def test_callback_declined_consent(
    stand_in: StandIn, callback: ModuleType, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a renewal that the seller declines on Walmart's consent page
    seed_account()
    authorize_url, cookies, _ = dashboard_start(stand_in, lambda_context)
    callback_url = stand_in.decide(authorize_url, OWNER, decision="decline")
    capsys.readouterr()

    # When Walmart's redirect reaches the callback
    response = invoke(callback, callback_event(urlsplit(callback_url).query, cookies), lambda_context)

    # Then a declined page explains that only the main login can approve, and nothing changed
    assert_problem_page(response, 400, lambda_context)
    assert "not renewed" in response["body"]
    assert "Only the main (admin) Walmart Seller Center login" in response["body"]
    assert_untouched()
    assert stand_in.app.token_requests == []
    assert emitted_metrics(capsys.readouterr().out) == ["RenewalDeclined"]

    # And the state is consumed, so the same callback cannot be used again
    state = OAuthStateModel.get(hash_token(query_of(callback_url)["state"]))
    assert state.consumed_at is not None
    assert state.outcome == "declined"


def test_callback_non_admin_login(stand_in: StandIn, callback: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a renewal approved by a Seller Center login that is not the admin
    seed_account()
    authorize_url, cookies, _ = dashboard_start(stand_in, lambda_context)
    callback_url = stand_in.decide(authorize_url, STAFF)

    # When Walmart's redirect reaches the callback
    response = invoke(callback, callback_event(urlsplit(callback_url).query, cookies), lambda_context)

    # Then the declined page names the main login, and nothing changed
    assert_problem_page(response, 400, lambda_context)
    assert "Only the main (admin) Walmart Seller Center login" in response["body"]
    assert_untouched()
    assert stand_in.app.token_requests == []


def test_callback_wrong_seller(
    stand_in: StandIn, callback: ModuleType, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a renewal approved by the admin of a different seller account
    seed_account()
    authorize_url, cookies, _ = dashboard_start(stand_in, lambda_context)
    callback_url = stand_in.decide(authorize_url, OTHER_OWNER)
    capsys.readouterr()

    # When Walmart's redirect reaches the callback
    response = invoke(callback, callback_event(urlsplit(callback_url).query, cookies), lambda_context)

    # Then a wrong-seller page shows, no code is exchanged, and the account and credentials are untouched
    assert query_of(callback_url)["sellerId"] == OTHER_SELLER_ID
    assert_problem_page(response, 400, lambda_context)
    assert "Wrong Walmart seller account" in response["body"]
    assert stand_in.app.token_requests == []
    assert_untouched()
    assert list(CredentialModel.scan()) == []
    assert emitted_metrics(capsys.readouterr().out) == ["SellerMismatch"]


def test_callback_concurrent_deliveries(
    stand_in: StandIn, atomic_dynamodb: None, lambda_context: FakeLambdaContext
) -> None:
    # Given an approved renewal, and five separate execution environments of the callback function
    seed_account()
    authorize_url, cookies, _ = dashboard_start(stand_in, lambda_context)
    callback_url = stand_in.decide(authorize_url, OWNER)
    event = callback_event(urlsplit(callback_url).query, cookies)
    handlers = [load_handler("oauth_callback") for _ in range(5)]
    barrier = threading.Barrier(len(handlers))
    responses_by_thread: list[dict[str, Any] | BaseException] = [RuntimeError("not run")] * len(handlers)

    def deliver(index: int) -> None:
        barrier.wait()
        try:
            responses_by_thread[index] = invoke(handlers[index], copy.deepcopy(event), lambda_context)
        except BaseException as error:  # noqa: BLE001 - reported by the assertions below
            responses_by_thread[index] = error

    # When the same callback is delivered five times at once
    threads = [threading.Thread(target=deliver, args=(index,)) for index in range(len(handlers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then the code is exchanged exactly once, and every delivery returns the success redirect
    assert len(stand_in.app.token_requests) == 1
    for answer in responses_by_thread:
        assert isinstance(answer, dict), answer
        assert answer["statusCode"] == 303
        assert location(answer) == f"{APP_URL}?renewal=success&accountId={ACCOUNT_ID}"
    assert get_account(ACCOUNT_ID).status == STATUS_RENEWED


def test_callback_replay_after_success(
    stand_in: StandIn, callback: ModuleType, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a callback that already renewed the account
    seed_account()
    authorize_url, cookies, _ = dashboard_start(stand_in, lambda_context)
    query = urlsplit(stand_in.decide(authorize_url, OWNER)).query
    first = invoke(callback, callback_event(query, cookies), lambda_context)
    capsys.readouterr()

    # When the browser delivers it again, without the binding cookie that the first response dropped
    again = invoke(callback, callback_event(query, []), lambda_context)

    # Then the same success redirect comes back, with no second exchange and no second completion metric
    assert again["statusCode"] == 303
    assert location(again) == location(first)
    assert len(stand_in.app.token_requests) == 1
    assert "RenewalCompleted" not in emitted_metrics(capsys.readouterr().out)


# Single steps, with Walmart's HTTP API intercepted by `responses`


def test_magic_link_channel_success_page(
    aws: AwsStack, callback: ModuleType, walmart: responses.RequestsMock, lambda_context: FakeLambdaContext
) -> None:
    # Given a renewal started from a client's magic link
    seed_account(name="Acme Outdoor")
    healthy_walmart(walmart)
    flow = begin(aws.settings, channel=CHANNEL_MAGIC_LINK)

    # When the callback completes it
    response = invoke(callback, callback_event(flow.callback_query(), flow.cookies), lambda_context)

    # Then a success page names the account, and the account is renewed through the magic link
    assert response["statusCode"] == 200
    assert "Walmart connection renewed" in response["body"]
    assert "Acme Outdoor" in response["body"]
    assert header(response, "X-Frame-Options") == "DENY"
    assert get_account(ACCOUNT_ID).renewal_channel == CHANNEL_MAGIC_LINK


def test_magic_link_reload_after_expiry(
    aws: AwsStack, callback: ModuleType, walmart: responses.RequestsMock, lambda_context: FakeLambdaContext
) -> None:
    # Given a magic-link renewal that succeeded, and a state that has expired since
    seed_account()
    healthy_walmart(walmart)
    flow = begin(aws.settings, channel=CHANNEL_MAGIC_LINK)
    invoke(callback, callback_event(flow.callback_query(), flow.cookies), lambda_context)
    aws.client("dynamodb").update_item(
        TableName=aws.settings.oauth_states_table,
        Key={"stateHash": {"S": hash_token(flow.state)}},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"N": str(int(clock.now().timestamp()) - 60)}},
    )

    # When the success page is reloaded
    response = invoke(callback, callback_event(flow.callback_query(), []), lambda_context)

    # Then it still shows success, without a second exchange
    assert response["statusCode"] == 200
    assert "Walmart connection renewed" in response["body"]
    assert token_calls(walmart) == 1


def test_callback_expired_state(
    aws: AwsStack, callback: ModuleType, walmart: responses.RequestsMock, lambda_context: FakeLambdaContext
) -> None:
    # Given a state created eleven minutes ago that DynamoDB's TTL has not deleted yet
    seed_account()
    healthy_walmart(walmart)
    flow = begin(aws.settings, age=timedelta(minutes=11))

    # When its callback arrives with the right cookie
    response = invoke(callback, callback_event(flow.callback_query(), flow.cookies), lambda_context)

    # Then the state counts as absent: an expired page, no exchange, nothing changed, and the cookie is dropped
    assert_problem_page(response, 400, lambda_context)
    assert "expired or was already used" in response["body"]
    assert token_calls(walmart) == 0
    assert stored_state(flow).consumed_at is None
    assert_untouched()
    cookie_name = flow.cookies[0].split("=", 1)[0]
    assert set_cookies(response)[cookie_name][cookie_name]["max-age"] == "0"


@pytest.mark.parametrize("cookies", [[], ["__Host-wm_renewal_0000000000000000=other"]], ids=["missing", "other"])
def test_callback_cookie_missing_or_other(
    aws: AwsStack,
    callback: ModuleType,
    walmart: responses.RequestsMock,
    lambda_context: FakeLambdaContext,
    cookies: list[str],
) -> None:
    # Given a started renewal, and a browser without its binding cookie
    seed_account()
    healthy_walmart(walmart)
    flow = begin(aws.settings)

    # When the callback arrives from that browser
    response = invoke(callback, callback_event(flow.callback_query(), cookies), lambda_context)

    # Then it is refused as started in another browser, and the state stays usable
    assert_problem_page(response, 400, lambda_context)
    assert "started in another browser" in response["body"]
    assert token_calls(walmart) == 0
    assert stored_state(flow).consumed_at is None
    assert_untouched()


def test_callback_cookie_wrong_value(
    aws: AwsStack, callback: ModuleType, walmart: responses.RequestsMock, lambda_context: FakeLambdaContext
) -> None:
    # Given a started renewal, and a browser holding a cookie of the right name with another value
    seed_account()
    healthy_walmart(walmart)
    flow = begin(aws.settings)
    name = flow.cookies[0].split("=", 1)[0]

    # When the callback arrives from that browser, and then from the browser that started the flow
    refused = invoke(callback, callback_event(flow.callback_query(), [f"{name}=forged"]), lambda_context)
    accepted = invoke(callback, callback_event(flow.callback_query(), flow.cookies), lambda_context)

    # Then the first is refused without consuming the state, and the right browser still completes the renewal
    assert_problem_page(refused, 400, lambda_context)
    assert accepted["statusCode"] == 303
    assert token_calls(walmart) == 1


@pytest.mark.parametrize("repeated", ["state", "code", "sellerId"])
def test_callback_repeated_parameter(
    aws: AwsStack,
    callback: ModuleType,
    walmart: responses.RequestsMock,
    lambda_context: FakeLambdaContext,
    repeated: str,
) -> None:
    # Given a started renewal
    seed_account()
    healthy_walmart(walmart)
    flow = begin(aws.settings)

    # When the callback repeats one of its parameters
    query = flow.callback_query() + "&" + urlencode({repeated: "injected"})
    response = invoke(callback, callback_event(query, flow.cookies), lambda_context)

    # Then it is rejected before the state is touched or the code exchanged
    assert_problem_page(response, 400, lambda_context)
    assert "not valid" in response["body"]
    assert token_calls(walmart) == 0
    assert stored_state(flow).consumed_at is None


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ({"status": 500, "json": {"error": "server_error"}}, 503),
        ({"body": requests.exceptions.ReadTimeout("read timed out")}, 503),
        ({"body": requests.exceptions.ConnectionError("connection refused")}, 503),
        ({"status": 200, "body": "<html>maintenance</html>", "content_type": "text/html"}, 503),
        ({"status": 200, "json": {"access_token": ACCESS_TOKEN, "expires_in": "soon"}}, 503),
        ({"status": 400, "json": {"error": "invalid_grant"}}, 400),
        ({"status": 401, "json": {"error": "invalid_client"}}, 500),
    ],
    ids=["http-500", "timeout", "connection", "not-json", "malformed-token", "invalid-grant", "invalid-client"],
)
def test_callback_token_failure(
    aws: AwsStack,
    callback: ModuleType,
    walmart: responses.RequestsMock,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
    fault: dict[str, Any],
    status: int,
) -> None:
    # Given a started renewal, and a token endpoint that fails
    seed_account()
    walmart.add(responses.POST, TOKEN_URL, **fault)
    flow = begin(aws.settings)
    capsys.readouterr()

    # When the callback arrives
    response = invoke(callback, callback_event(flow.callback_query(), flow.cookies), lambda_context)

    # Then a failure page with Try again and a reference shows, the state is spent, and nothing changed
    assert_problem_page(response, status, lambda_context)
    assert stored_state(flow).outcome != "renewed"
    assert stored_state(flow).consumed_at is not None
    assert_untouched()
    assert emitted_metrics(capsys.readouterr().out) == ["RenewalFailed"]


def test_callback_walmart_unavailable_text(
    aws: AwsStack, callback: ModuleType, walmart: responses.RequestsMock, lambda_context: FakeLambdaContext
) -> None:
    # Given a token endpoint that returns 503
    seed_account()
    walmart.add(responses.POST, TOKEN_URL, status=503)
    flow = begin(aws.settings)

    # When the callback arrives
    response = invoke(callback, callback_event(flow.callback_query(), flow.cookies), lambda_context)

    # Then the page reports that Walmart is unavailable and asks the user to try again later
    assert "Walmart is unavailable" in response["body"]
    assert "Try again in a few minutes" in response["body"]


def test_callback_profile_other_seller(
    aws: AwsStack, callback: ModuleType, walmart: responses.RequestsMock, lambda_context: FakeLambdaContext
) -> None:
    # Given a callback naming the account's seller, whose tokens belong to another seller by the partner profile
    seed_account()
    healthy_walmart(walmart, partner_id=OTHER_SELLER_ID)
    flow = begin(aws.settings)

    # When the callback arrives
    response = invoke(callback, callback_event(flow.callback_query(), flow.cookies), lambda_context)

    # Then the tokens are discarded: a wrong-seller page, no credentials, no change to the account
    assert_problem_page(response, 400, lambda_context)
    assert "Wrong Walmart seller account" in response["body"]
    assert token_calls(walmart) == 1
    assert list(CredentialModel.scan()) == []
    assert_untouched()


def test_callback_unknown_seller_disagreement(
    aws: AwsStack, callback: ModuleType, walmart: responses.RequestsMock, lambda_context: FakeLambdaContext
) -> None:
    # Given an account without a seller id, and a profile that disagrees with the callback's sellerId
    seed_account(seller_id=None)
    healthy_walmart(walmart, partner_id=OTHER_SELLER_ID)
    flow = begin(aws.settings)

    # When the callback arrives
    response = invoke(callback, callback_event(flow.callback_query(), flow.cookies), lambda_context)

    # Then no seller id is recorded and nothing is stored
    assert response["statusCode"] == 400
    assert_untouched(seller_id=None)


def test_callback_replay_after_failure(
    aws: AwsStack, callback: ModuleType, walmart: responses.RequestsMock, lambda_context: FakeLambdaContext
) -> None:
    # Given a callback that failed because Walmart returned 500
    seed_account()
    walmart.add(responses.POST, TOKEN_URL, status=500)
    flow = begin(aws.settings)
    invoke(callback, callback_event(flow.callback_query(), flow.cookies), lambda_context)
    walmart.replace(responses.POST, TOKEN_URL, json=TOKEN_BODY)

    # When the same callback is delivered again while Walmart works
    response = invoke(callback, callback_event(flow.callback_query(), flow.cookies), lambda_context)

    # Then the spent state shows the already-used page, and the code is not exchanged again
    assert_problem_page(response, 400, lambda_context)
    assert "expired or was already used" in response["body"]
    assert token_calls(walmart) == 1
    assert_untouched()


@pytest.mark.parametrize(
    ("extra", "outcome", "title"),
    [
        ({"error": "access_denied"}, "declined", "Walmart connection not renewed"),
        ({"code": ""}, "missing_code", "Walmart sent no approval"),
    ],
    ids=["error-parameter", "missing-code"],
)
def test_callback_declined_shapes(
    aws: AwsStack,
    callback: ModuleType,
    walmart: responses.RequestsMock,
    lambda_context: FakeLambdaContext,
    extra: dict[str, str],
    outcome: str,
    title: str,
) -> None:
    # Given a started renewal
    seed_account()
    flow = begin(aws.settings)

    # When the callback carries an error, or no code
    response = invoke(callback, callback_event(flow.callback_query(**extra), flow.cookies), lambda_context)

    # Then its own page shows with the main-login advice, the state is spent, and nothing is exchanged
    assert_problem_page(response, 400, lambda_context)
    assert title in response["body"]
    assert "Only the main (admin) Walmart Seller Center login" in response["body"]
    assert stored_state(flow).outcome == outcome
    assert token_calls(walmart) == 0


def test_callback_declined_without_state(
    aws: AwsStack, callback: ModuleType, lambda_context: FakeLambdaContext
) -> None:
    # Given Walmart's error redirect without any state
    query = urlencode({"error": "access_denied", "error_description": "declined"})

    # When it reaches the callback
    response = invoke(callback, callback_event(query, []), lambda_context)

    # Then the declined page shows
    assert_problem_page(response, 400, lambda_context)
    assert "not renewed" in response["body"]


def test_callback_missing_seller_id(
    aws: AwsStack, callback: ModuleType, walmart: responses.RequestsMock, lambda_context: FakeLambdaContext
) -> None:
    # Given a started renewal
    seed_account()
    healthy_walmart(walmart)
    flow = begin(aws.settings)

    # When the callback carries no sellerId
    query = urlencode({"code": CODE, "type": "auth", "state": flow.state})
    response = invoke(callback, callback_event(query, flow.cookies), lambda_context)

    # Then it is refused as invalid without an exchange
    assert_problem_page(response, 400, lambda_context)
    assert token_calls(walmart) == 0
    assert_untouched()


@pytest.mark.parametrize("query", ["", "code=abc&sellerId=1", "code=abc&state=unknown-state&sellerId=1"])
def test_callback_unknown_state(
    aws: AwsStack, callback: ModuleType, walmart: responses.RequestsMock, lambda_context: FakeLambdaContext, query: str
) -> None:
    # Given no matching state
    # When a callback arrives without a state, or with one that was never issued
    response = invoke(callback, callback_event(query, []), lambda_context)

    # Then a failure page shows: expired or used, or declined when there is no code
    assert response["statusCode"] == 400
    assert token_calls(walmart) == 0


def test_callback_sample_event(aws: AwsStack, callback: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given the sample event, whose state was never issued here
    event = load_event("oauth_callback.json")

    # When it arrives
    response = invoke(callback, event, lambda_context)

    # Then the expired-or-used page shows
    assert_problem_page(response, 400, lambda_context)
    assert "expired or was already used" in response["body"]


def test_callback_without_seller_id(
    aws: AwsStack, callback: ModuleType, walmart: responses.RequestsMock, lambda_context: FakeLambdaContext
) -> None:
    # Given a started renewal and a working Walmart
    seed_account()
    healthy_walmart(walmart)
    flow = begin(aws.settings)

    # When the callback arrives with a code but without Walmart's sellerId
    response = invoke(callback, callback_event(flow.callback_query(seller_id=""), flow.cookies), lambda_context)

    # Then it is not valid, the code is not exchanged, and the account is unchanged
    assert_problem_page(response, 400, lambda_context)
    assert "This sign-in response is not valid" in response["body"]
    assert token_calls(walmart) == 0
    assert_untouched()
