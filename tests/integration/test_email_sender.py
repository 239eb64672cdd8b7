"""Integration tests of sending email through the SES v2 API in moto: MIME messages, SES errors, renewal notices."""

from __future__ import annotations

import email
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from renewals import emails
from renewals.data import aws as aws_access
from renewals.data.email_sender import EmailRejected, EmailSendError, EmailThrottled, send_raw_email
from renewals.data.models import STATUS_RENEWED, AccountModel, SuppressionModel
from renewals.notifications import send_renewal_notices
from tests.conftest import AwsStack
from tests.sent_mail import sent_emails

RECIPIENT = "client@example.com"
CLIENT_EMAIL = "dana@client.example"
ACCOUNTANT_EMAIL = "carol@cpa.example"
RENEWED_AT = datetime(2026, 12, 11, 14, 5, tzinfo=UTC)
LINK = "https://renew.example.test/r/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde"


def _message(sender: str) -> EmailMessage:
    rendered = emails.renewal_request("Bob & Sons <Outlet>", "Ann", LINK, datetime(2026, 12, 18, tzinfo=UTC))
    return emails.build_message(rendered, sender, RECIPIENT)


def _sent_messages() -> list:
    return ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages


@pytest.fixture
def ses_stub(aws: AwsStack) -> Iterator[Stubber]:
    """Stub the shared sesv2 client that the sender uses, so SES errors can be returned on demand."""
    stubber = Stubber(aws_access.client("sesv2"))
    with stubber:
        yield stubber


def test_send_returns_message_id(aws: AwsStack) -> None:
    # Given a verified sender
    sender = aws.settings.email_sender

    # When a message is sent
    message_id = send_raw_email(sender, RECIPIENT, _message(sender))

    # Then SES returns a message id and keeps exactly one message with that id
    sent = _sent_messages()
    assert message_id
    assert len(sent) == 1
    assert sent[0].id == message_id


def test_send_keeps_both_parts(aws: AwsStack) -> None:
    # Given a verified sender
    sender = aws.settings.email_sender

    # When a message is sent
    send_raw_email(sender, RECIPIENT, _message(sender))

    # Then the stored raw message has a text and an HTML part with the link in each
    stored = email.message_from_string(_sent_messages()[0].raw_data, policy=default)
    parts = {part.get_content_type(): part.get_content() for part in stored.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    assert LINK in parts["text/plain"]
    assert LINK in parts["text/html"]
    assert stored["To"] == RECIPIENT
    assert "Bob & Sons <Outlet>" in stored["Subject"]


def test_send_unverified_sender_rejected(aws: AwsStack) -> None:
    # Given a sender that SES has not verified
    sender = "someone@unverified.example"

    # When a message is sent from it
    # Then SES's MessageRejected becomes EmailRejected and nothing is sent
    with pytest.raises(EmailRejected) as raised:
        send_raw_email(sender, RECIPIENT, _message(sender))
    assert raised.value.error_code == "MessageRejected"
    assert _sent_messages() == []


@pytest.mark.parametrize("code", ["TooManyRequestsException", "Throttling", "LimitExceededException", "LimitExceeded"])
def test_send_throttled(aws: AwsStack, ses_stub: Stubber, code: str) -> None:
    # Given SES responds with a throttling error
    ses_stub.add_client_error("send_email", service_error_code=code, http_status_code=429)

    # When a message is sent
    # Then the error is EmailThrottled with the SES code
    with pytest.raises(EmailThrottled) as raised:
        send_raw_email(aws.settings.email_sender, RECIPIENT, _message(aws.settings.email_sender))
    assert raised.value.error_code == code


@pytest.mark.parametrize(
    "code",
    ["MessageRejected", "AccountSuspendedException", "MailFromDomainNotVerifiedException", "SendingPausedException"],
)
def test_send_rejected(aws: AwsStack, ses_stub: Stubber, code: str) -> None:
    # Given SES rejects the message
    ses_stub.add_client_error("send_email", service_error_code=code, http_status_code=400)

    # When a message is sent
    # Then the error is EmailRejected with the SES code
    with pytest.raises(EmailRejected) as raised:
        send_raw_email(aws.settings.email_sender, RECIPIENT, _message(aws.settings.email_sender))
    assert raised.value.error_code == code


def test_send_error_hides_address(aws: AwsStack, ses_stub: Stubber) -> None:
    # Given SES rejects the message with a text that quotes the recipient
    ses_stub.add_client_error(
        "send_email", service_error_code="MessageRejected", service_message=f"Address blacklisted: {RECIPIENT}"
    )

    # When a message is sent
    # Then the raised error names the code but not the address
    with pytest.raises(EmailRejected) as raised:
        send_raw_email(aws.settings.email_sender, RECIPIENT, _message(aws.settings.email_sender))
    assert "MessageRejected" in str(raised.value)
    assert RECIPIENT not in str(raised.value)


def test_send_unknown_error(aws: AwsStack, ses_stub: Stubber) -> None:
    # Given SES fails with an error that is neither throttling nor rejection
    ses_stub.add_client_error("send_email", service_error_code="InternalFailure", http_status_code=500)

    # When a message is sent
    # Then the error is the generic EmailSendError
    with pytest.raises(EmailSendError) as raised:
        send_raw_email(aws.settings.email_sender, RECIPIENT, _message(aws.settings.email_sender))
    assert type(raised.value) is EmailSendError
    assert raised.value.error_code == "InternalFailure"


def test_send_connection_error(aws: AwsStack, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given SES cannot be reached
    ses = aws_access.client("sesv2")

    def fail(**_: object) -> None:
        raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")

    monkeypatch.setattr(ses, "send_email", fail)

    # When a message is sent
    # Then the error is EmailSendError without an SES code
    with pytest.raises(EmailSendError) as raised:
        send_raw_email(aws.settings.email_sender, RECIPIENT, _message(aws.settings.email_sender))
    assert raised.value.error_code is None


# Renewal notices


def _renewed_account(accountant: bool = True, **attributes: object) -> AccountModel:
    values: dict[str, object] = {
        "account_name": "Bob & Sons <Outlet>",
        "status": STATUS_RENEWED,
        "contact_name": "Owner Olga",
        "contact_email": "olga@seller.example",
    }
    if accountant:
        values.update(
            accountant_id="accountant-carol",
            accountant_name="Carol Reyes",
            accountant_email=ACCOUNTANT_EMAIL,
            client_name="Dana Client",
            client_email=CLIENT_EMAIL,
        )
    values.update(attributes)
    return AccountModel("acct-renewed", **values)


def _sent_by_recipient() -> dict[str, EmailMessage]:
    return {message["To"]: message for message in sent_emails()}


def test_notices_managed_account(aws: AwsStack) -> None:
    # Given a renewed account that an accountant manages for a client
    account = _renewed_account()

    # When the renewal notices go out
    outcomes = send_renewal_notices(account, RENEWED_AT, aws.settings)

    # Then the client gets the confirmation and the accountant the note, and no other address gets mail
    sent = _sent_by_recipient()
    assert [(outcome.notice, outcome.outcome) for outcome in outcomes] == [
        ("renewal_confirmation", "sent"),
        ("client_renewed", "sent"),
    ]
    assert set(sent) == {CLIENT_EMAIL, ACCOUNTANT_EMAIL}
    assert sent[CLIENT_EMAIL]["Subject"] == "Your Bob & Sons <Outlet> Walmart connection is renewed"
    assert sent[ACCOUNTANT_EMAIL]["Subject"] == "Dana Client renewed the Bob & Sons <Outlet> Walmart connection"


def test_notices_have_both_parts(aws: AwsStack) -> None:
    # Given a renewed managed account whose name contains HTML
    account = _renewed_account()

    # When the renewal notices go out
    send_renewal_notices(account, RENEWED_AT, aws.settings)

    # Then every message has a text and an HTML part, with the name escaped only in HTML
    for message in _sent_by_recipient().values():
        parts = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
        assert set(parts) == {"text/plain", "text/html"}
        assert "Bob & Sons <Outlet>" in parts["text/plain"]
        assert "Bob &amp; Sons &lt;Outlet&gt;" in parts["text/html"]
        assert "<Outlet>" not in parts["text/html"]


def test_notices_owned_account(aws: AwsStack) -> None:
    # Given a renewed account that its seller manages alone
    account = _renewed_account(accountant=False)

    # When the renewal notices go out
    outcomes = send_renewal_notices(account, RENEWED_AT, aws.settings)

    # Then only the main contact gets the confirmation
    assert [outcome.notice for outcome in outcomes] == ["renewal_confirmation"]
    assert set(_sent_by_recipient()) == {"olga@seller.example"}


def test_notices_skip_suppressed(aws: AwsStack) -> None:
    # Given a managed account whose client address bounced
    SuppressionModel(CLIENT_EMAIL, reason="bounce", created_at=RENEWED_AT).save()
    account = _renewed_account()

    # When the renewal notices go out
    outcomes = send_renewal_notices(account, RENEWED_AT, aws.settings)

    # Then the client is skipped and the accountant still gets the note
    assert [outcome.outcome for outcome in outcomes] == ["skipped_suppressed", "sent"]
    assert set(_sent_by_recipient()) == {ACCOUNTANT_EMAIL}


def test_notices_skip_missing_address(aws: AwsStack) -> None:
    # Given a managed account without a client address or accountant address
    account = _renewed_account(client_email=None, accountant_email=None)

    # When the renewal notices go out
    outcomes = send_renewal_notices(account, RENEWED_AT, aws.settings)

    # Then both are skipped and nothing is sent
    assert [outcome.outcome for outcome in outcomes] == ["skipped_no_address", "skipped_no_address"]
    assert _sent_messages() == []


def test_notices_survive_ses_failure(aws: AwsStack, ses_stub: Stubber) -> None:
    # Given SES throttling one send and rejecting the next
    ses_stub.add_client_error("send_email", service_error_code="TooManyRequestsException", http_status_code=429)
    ses_stub.add_client_error("send_email", service_error_code="MessageRejected", http_status_code=400)

    # When the renewal notices go out
    outcomes = send_renewal_notices(_renewed_account(), RENEWED_AT, aws.settings)

    # Then no error escapes and both notices are reported failed
    assert [outcome.outcome for outcome in outcomes] == ["failed", "failed"]
    ses_stub.assert_no_pending_responses()


def test_notices_log_no_address(aws: AwsStack, log_output: io.StringIO) -> None:
    # Given a renewed managed account
    account = _renewed_account()

    # When the renewal notices go out
    send_renewal_notices(account, RENEWED_AT, aws.settings)

    # Then the logs name the notices with masked addresses only
    logs = log_output.getvalue()
    assert "renewal notice sent" in logs
    assert CLIENT_EMAIL not in logs
    assert ACCOUNTANT_EMAIL not in logs
