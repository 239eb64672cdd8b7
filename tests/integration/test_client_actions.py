"""Integration tests of the accountant actions: copy a magic link, revoke links, send a reminder now."""

from __future__ import annotations

import io
import json
import re
import threading
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import Stubber

from renewals import client_actions, magic_links
from renewals.clock import clock, from_iso, to_iso
from renewals.data import aws as aws_access
from renewals.data.accounts import get_account, mark_renewed
from renewals.data.models import ReminderOutboxModel, SuppressionModel
from renewals.errors import AlreadyRenewed, EmailSuppressed, NotFound, ServiceUnavailable, TooManyRequests
from renewals.magic_links import LinkStatus
from renewals.settings import Settings, get_settings
from tests.conftest import AwsStack, FakeLambdaContext
from tests.integration.oauth_helpers import SELLER_ID, api_event, seed_account
from tests.sent_mail import email_parts, sent_emails

ACCOUNTANT_ID = "accountant-carol"
OWNER_ID = "seller-dana"
STRANGER_ID = "accountant-eve"
ACCOUNT_ID = "acct-client-bob"
CLIENT_EMAIL = "dana@client.example"
ACCOUNTANT_EMAIL = "carol@cpa.example"
HOSTILE_NAME = 'Bob & Sons <Outlet> "<script>alert(1)</script>"'
LINK_PATTERN = re.compile(r"https://renew\.example\.test/r/[A-Za-z0-9_-]+")
HOUR = timedelta(hours=1)


def _seed(name: str = "Bob & Sons", client_email: str | None = CLIENT_EMAIL, **attributes: Any) -> None:
    seed_account(
        ACCOUNT_ID,
        name=name,
        owner_id=OWNER_ID,
        accountant_id=ACCOUNTANT_ID,
        seller_id=SELLER_ID,
        accountant_name="Carol Reyes",
        accountant_email=ACCOUNTANT_EMAIL,
        client_name="Dana Client",
        client_email=client_email,
        **attributes,
    )


def _call(api: ModuleType, context: FakeLambdaContext, method: str, action: str, user_id: str) -> dict[str, Any]:
    path = f"/api/renewals/connections/{ACCOUNT_ID}/{action}"
    return api.lambda_handler(api_event(method, path, user_id, {"accountId": ACCOUNT_ID}), context)


def _body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def _outbox(aws: AwsStack) -> list[ReminderOutboxModel]:
    return list(ReminderOutboxModel.query(ACCOUNT_ID))


def _settings() -> Settings:
    return get_settings()


def _remind(now: datetime | None = None) -> client_actions.ManualReminder:
    return client_actions.send_manual_reminder(ACCOUNTANT_ID, ACCOUNT_ID, now or clock.now(), _settings())


# Copy link


def test_copy_link_201(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a pending client account
    _seed()

    # When its accountant requests a magic link
    response = _call(api, lambda_context, "POST", "magic-links", ACCOUNTANT_ID)

    # Then the response carries a live link on the public base and its expiry
    body = _body(response)
    token = body["url"].rsplit("/", 1)[1]
    assert response["statusCode"] == 201
    assert LINK_PATTERN.fullmatch(body["url"])
    assert from_iso(body["expiresAt"]) > clock.now() + timedelta(days=6)
    assert magic_links.resolve(token, clock.now()).status is LinkStatus.LIVE


def test_copy_link_each_new(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a pending client account with a copied link
    _seed()
    first = _body(_call(api, lambda_context, "POST", "magic-links", ACCOUNTANT_ID))["url"]

    # When the accountant copies a link again
    second = _body(_call(api, lambda_context, "POST", "magic-links", ACCOUNTANT_ID))["url"]

    # Then a new link is issued and the first keeps working
    assert first != second
    assert magic_links.resolve(first.rsplit("/", 1)[1], clock.now()).status is LinkStatus.LIVE


@pytest.mark.parametrize("user_id", [OWNER_ID, STRANGER_ID])
def test_copy_link_others_404(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext, user_id: str) -> None:
    # Given a client account
    _seed()

    # When its owner or a stranger requests a magic link
    response = _call(api, lambda_context, "POST", "magic-links", user_id)

    # Then the account is not found and no link exists
    assert response["statusCode"] == 404
    assert _body(response)["error"]["code"] == "not_found"
    assert list(magic_links.MagicLinkModel.scan()) == []


def test_copy_link_unknown_404(aws: AwsStack) -> None:
    # Given no account
    # When a link is requested for an unknown id
    # Then it is not found
    with pytest.raises(NotFound):
        client_actions.issue_client_link(ACCOUNTANT_ID, "acct-missing", clock.now(), _settings())


def test_copy_link_renewed_409(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a renewed client account
    _seed()
    mark_renewed(ACCOUNT_ID, clock.now(), "magic_link", "magic-link", SELLER_ID)

    # When its accountant requests a magic link
    response = _call(api, lambda_context, "POST", "magic-links", ACCOUNTANT_ID)

    # Then the response is a conflict stating that nothing more is needed
    assert response["statusCode"] == 409
    assert _body(response)["error"]["code"] == "already_renewed"
    assert "nothing more is needed" in _body(response)["error"]["message"]


# Revoke links


def test_revoke_204(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a client account with two live links
    _seed()
    links = [client_actions.issue_client_link(ACCOUNTANT_ID, ACCOUNT_ID, clock.now(), _settings()) for _ in range(2)]

    # When its accountant revokes the links
    response = _call(api, lambda_context, "DELETE", "magic-links", ACCOUNTANT_ID)

    # Then the response is empty and neither link works any more
    assert response["statusCode"] == 204
    for link in links:
        assert magic_links.resolve(link.token, clock.now()).status is LinkStatus.UNUSABLE


def test_revoke_none_live_204(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a client account without links
    _seed()

    # When its accountant revokes the links
    response = _call(api, lambda_context, "DELETE", "magic-links", ACCOUNTANT_ID)

    # Then the response is still 204
    assert response["statusCode"] == 204


@pytest.mark.parametrize("user_id", [OWNER_ID, STRANGER_ID])
def test_revoke_others_404(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext, user_id: str) -> None:
    # Given a client account with a live link
    _seed()
    link = client_actions.issue_client_link(ACCOUNTANT_ID, ACCOUNT_ID, clock.now(), _settings())

    # When its owner or a stranger tries to revoke the links
    response = _call(api, lambda_context, "DELETE", "magic-links", user_id)

    # Then the account is not found and the link still works
    assert response["statusCode"] == 404
    assert magic_links.resolve(link.token, clock.now()).status is LinkStatus.LIVE


# Send reminder


def test_reminder_202(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a pending client account
    _seed()

    # When its accountant sends a reminder
    response = _call(api, lambda_context, "POST", "reminders", ACCOUNTANT_ID)

    # Then the response gives the time and the masked recipient, and one email went to the client
    body = _body(response)
    sent = sent_emails()
    assert response["statusCode"] == 202
    assert body["to"] == "d***@client.example"
    assert from_iso(body["sentAt"]) <= clock.now()
    assert len(sent) == 1
    assert sent[0]["To"] == CLIENT_EMAIL
    assert sent[0]["Subject"] == "ACTION REQUIRED - Renew your Bob & Sons Walmart account connection"


def test_reminder_email_link_works(aws: AwsStack) -> None:
    # Given a pending client account
    _seed()

    # When a reminder is sent
    _remind()

    # Then both parts carry the same magic link, and it is live for this account
    parts = email_parts(sent_emails()[0])
    text_links = LINK_PATTERN.findall(parts["text/plain"])
    html_links = LINK_PATTERN.findall(parts["text/html"])
    assert set(parts) == {"text/plain", "text/html"}
    assert len(set(text_links)) == 1
    assert set(html_links) == set(text_links)
    resolution = magic_links.resolve(text_links[0].rsplit("/", 1)[1], clock.now())
    assert resolution.status is LinkStatus.LIVE
    assert resolution.account is not None
    assert resolution.account.account_id == ACCOUNT_ID


def test_reminder_hostile_name(aws: AwsStack) -> None:
    # Given a client account whose name contains HTML
    _seed(name=HOSTILE_NAME)

    # When a reminder is sent
    _remind()

    # Then the HTML part escapes the name and the text part shows it as written
    parts = email_parts(sent_emails()[0])
    assert "Bob &amp; Sons &lt;Outlet&gt;" in parts["text/html"]
    assert "<script>" not in parts["text/html"]
    assert HOSTILE_NAME in parts["text/plain"]


def test_reminder_records_outbox(aws: AwsStack) -> None:
    # Given a pending client account
    _seed()
    now = clock.now()

    # When a reminder is sent
    reminder = _remind(now)

    # Then the outbox contains one sent manual entry with SES's message id
    entries = _outbox(aws)
    assert len(entries) == 1
    assert entries[0].reminder_key == f"manual#{to_iso(now)}"
    assert entries[0].kind == "manual"
    assert entries[0].status == "sent"
    assert entries[0].message_id == reminder.message_id
    assert entries[0].recipient_hint == "d***@client.example"


def test_reminder_updates_account(aws: AwsStack) -> None:
    # Given a client account that got one reminder before
    _seed(reminders_sent=1)
    now = clock.now()

    # When a reminder is sent
    _remind(now)

    # Then the account counts it and records the times
    account = get_account(ACCOUNT_ID)
    assert account is not None
    assert account.reminders_sent == 2
    assert account.last_reminder_at == now
    assert account.last_manual_reminder_at == now


def test_reminder_pushes_due_reminder(aws: AwsStack) -> None:
    # Given a scheduled reminder due in one hour
    now = clock.now()
    _seed(due_shard=3, reminder_due_at=to_iso(now + HOUR))

    # When a manual reminder is sent now
    _remind(now)

    # Then the scheduled one moves to 24 hours from now and stays in its shard
    account = get_account(ACCOUNT_ID)
    assert account is not None
    assert account.reminder_due_at == to_iso(now + timedelta(hours=24))
    assert account.due_shard == 3


def test_reminder_keeps_later_due(aws: AwsStack) -> None:
    # Given a scheduled reminder due in two days
    now = clock.now()
    due = to_iso(now + timedelta(days=2))
    _seed(due_shard=3, reminder_due_at=due)

    # When a manual reminder is sent now
    _remind(now)

    # Then the scheduled one keeps its time
    account = get_account(ACCOUNT_ID)
    assert account is not None
    assert account.reminder_due_at == due


def test_reminder_adds_no_due(aws: AwsStack) -> None:
    # Given a pending account without a scheduled reminder
    _seed()

    # When a manual reminder is sent
    _remind()

    # Then no scheduled reminder appears
    account = get_account(ACCOUNT_ID)
    assert account is not None
    assert account.reminder_due_at is None


def test_reminder_rate_limited_429(
    aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext, shifted_clock: None
) -> None:
    # Given a reminder sent ten minutes ago
    _seed()
    assert _call(api, lambda_context, "POST", "reminders", ACCOUNTANT_ID)["statusCode"] == 202
    clock.set_offset(timedelta(minutes=10))

    # When the accountant sends another
    response = _call(api, lambda_context, "POST", "reminders", ACCOUNTANT_ID)

    # Then it is rejected with the remaining wait, and no second email goes out
    retry_after = int(response["headers"]["Retry-After"])
    assert response["statusCode"] == 429
    assert _body(response)["error"]["code"] == "rate_limited"
    assert 49 * 60 <= retry_after <= 50 * 60
    assert "Try again in 50 minutes" in _body(response)["error"]["message"]
    assert len(sent_emails()) == 1
    assert len(_outbox(aws)) == 1


def test_reminder_after_interval(aws: AwsStack) -> None:
    # Given a reminder sent an hour ago
    _seed()
    start = clock.now()
    _remind(start)

    # When the accountant sends another just after the interval
    _remind(start + HOUR)

    # Then it goes out
    assert len(sent_emails()) == 2


def test_reminder_retry_after_floor(aws: AwsStack) -> None:
    # Given a reminder sent a fraction of a second less than the interval ago
    _seed()
    start = clock.now()
    _remind(start)

    # When another is requested
    # Then Retry-After rounds up to one second, never zero
    with pytest.raises(TooManyRequests) as raised:
        _remind(start + HOUR - timedelta(milliseconds=200))
    assert raised.value.retry_after_seconds == 1


def test_reminder_concurrent_sends_one(aws: AwsStack, atomic_dynamodb: None) -> None:
    # Given a pending client account
    _seed()
    now = clock.now()
    results: list[object] = []
    barrier = threading.Barrier(4)

    def send() -> None:
        barrier.wait()
        try:
            results.append(_remind(now))
        except TooManyRequests as error:
            results.append(error)

    # When four requests race to send a reminder
    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one email goes out and the others are rate limited
    sent = [result for result in results if isinstance(result, client_actions.ManualReminder)]
    limited = [result for result in results if isinstance(result, TooManyRequests)]
    assert len(sent) == 1
    assert len(limited) == 3
    assert len(sent_emails()) == 1


def test_reminder_renewed_409(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a renewed client account
    _seed()
    mark_renewed(ACCOUNT_ID, clock.now(), "magic_link", "magic-link", SELLER_ID)

    # When its accountant sends a reminder
    response = _call(api, lambda_context, "POST", "reminders", ACCOUNTANT_ID)

    # Then the response is a conflict and nothing is sent
    assert response["statusCode"] == 409
    assert sent_emails() == []


@pytest.mark.parametrize("user_id", [OWNER_ID, STRANGER_ID])
def test_reminder_others_404(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext, user_id: str) -> None:
    # Given a client account
    _seed()

    # When its owner or a stranger sends a reminder
    response = _call(api, lambda_context, "POST", "reminders", user_id)

    # Then the account is not found and nothing is sent
    assert response["statusCode"] == 404
    assert sent_emails() == []


def test_reminder_suppressed_422(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a client whose address bounced, stored lowercased
    _seed(client_email="Dana@Client.Example")
    SuppressionModel("dana@client.example", reason="bounce", created_at=clock.now()).save()

    # When the accountant sends a reminder
    response = _call(api, lambda_context, "POST", "reminders", ACCOUNTANT_ID)

    # Then the response explains why and nothing is sent or claimed
    error = _body(response)["error"]
    account = get_account(ACCOUNT_ID)
    assert response["statusCode"] == 422
    assert error["code"] == "email_suppressed"
    assert "bounced" in error["message"]
    assert "D***@Client.Example" in error["message"]
    assert sent_emails() == []
    assert account is not None
    assert account.last_manual_reminder_at is None


def test_reminder_no_email_422(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given a client account without a client address
    _seed(client_email=None)

    # When the accountant sends a reminder
    response = _call(api, lambda_context, "POST", "reminders", ACCOUNTANT_ID)

    # Then the response states that the address is missing and what to do instead
    error = _body(response)["error"]
    assert response["statusCode"] == 422
    assert error["code"] == "client_email_missing"
    assert "copy a magic link" in error["message"]
    assert sent_emails() == []


def test_reminder_throttled_releases(aws: AwsStack) -> None:
    # Given a scheduled reminder due soon, and SES throttling the next send
    now = clock.now()
    due = to_iso(now + HOUR)
    _seed(due_shard=2, reminder_due_at=due)
    stubber = Stubber(aws_access.client("sesv2"))
    stubber.add_client_error("send_email", service_error_code="TooManyRequestsException", http_status_code=429)

    # When the accountant sends a reminder
    # Then the service reports itself unavailable
    with stubber, pytest.raises(ServiceUnavailable):
        _remind(now)

    # And the claim is released, the due time restored and the outbox entry marked failed
    account = get_account(ACCOUNT_ID)
    entries = _outbox(aws)
    assert account is not None
    assert account.last_manual_reminder_at is None
    assert account.reminder_due_at == due
    assert account.reminders_sent == 0
    assert len(entries) == 1
    assert entries[0].status == "failed"
    assert entries[0].failure == "TooManyRequestsException"

    # And the accountant can try again at once
    _remind(now + timedelta(seconds=5))
    assert len(sent_emails()) == 1


def test_reminder_rejected_502(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given SES rejecting the next send
    _seed()
    stubber = Stubber(aws_access.client("sesv2"))
    stubber.add_client_error("send_email", service_error_code="MessageRejected", http_status_code=400)

    # When the accountant sends a reminder
    with stubber:
        response = _call(api, lambda_context, "POST", "reminders", ACCOUNTANT_ID)

    # Then the response states that the email was rejected and the claim is released
    account = get_account(ACCOUNT_ID)
    assert response["statusCode"] == 502
    assert _body(response)["error"]["code"] == "email_rejected"
    assert account is not None
    assert account.last_manual_reminder_at is None


def test_reminder_ses_outage_503(aws: AwsStack, api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # Given SES failing with an internal error
    _seed()
    stubber = Stubber(aws_access.client("sesv2"))
    stubber.add_client_error("send_email", service_error_code="InternalFailure", http_status_code=500)

    # When the accountant sends a reminder
    with stubber:
        response = _call(api, lambda_context, "POST", "reminders", ACCOUNTANT_ID)

    # Then the service reports itself unavailable and the claim is released
    account = get_account(ACCOUNT_ID)
    assert response["statusCode"] == 503
    assert _body(response)["error"]["code"] == "unavailable"
    assert account is not None
    assert account.last_manual_reminder_at is None


def test_reminder_no_secrets_logged(aws: AwsStack, log_output: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a pending client account
    _seed()

    # When a reminder is sent
    _remind()

    # Then the logs hold neither the magic-link token nor the full address
    captured = capsys.readouterr()
    logs = log_output.getvalue() + captured.out + captured.err
    token = LINK_PATTERN.findall(email_parts(sent_emails()[0])["text/plain"])[0].rsplit("/", 1)[1]
    assert "manual reminder sent" in logs
    assert token not in logs
    assert CLIENT_EMAIL not in logs


def test_reminder_domain_errors(aws: AwsStack) -> None:
    # Given a renewed account
    _seed()
    mark_renewed(ACCOUNT_ID, clock.now(), "dashboard", OWNER_ID, SELLER_ID)

    # When a reminder or a link is requested
    # Then both raise AlreadyRenewed
    with pytest.raises(AlreadyRenewed):
        _remind()
    with pytest.raises(AlreadyRenewed):
        client_actions.issue_client_link(ACCOUNTANT_ID, ACCOUNT_ID, clock.now(), _settings())


def test_suppressed_error_type(aws: AwsStack) -> None:
    # Given a suppressed client address
    _seed()
    SuppressionModel(CLIENT_EMAIL, reason="complaint", created_at=clock.now()).save()

    # When a reminder is requested
    # Then EmailSuppressed is raised
    with pytest.raises(EmailSuppressed):
        _remind()
