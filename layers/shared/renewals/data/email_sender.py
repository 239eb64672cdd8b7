"""Sending email through the Amazon SES v2 API.

Messages go out as raw MIME (`Content={"Raw": ...}`) so both the HTML and the plain-text part survive. moto, which
the tests and the local stack use, keeps only the HTML part of a `Simple` message.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from renewals.data.aws import client

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

# Error codes of SES v1 and v2 that mean "slow down", so the same message can be sent again later.
THROTTLING_CODES = frozenset(
    {
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "LimitExceeded",
        "LimitExceededException",
    }
)
# Error codes that mean SES will not send this message as it is, so retrying the same request does not help.
REJECTION_CODES = frozenset(
    {
        "MessageRejected",
        "AccountSuspended",
        "AccountSuspendedException",
        "MailFromDomainNotVerified",
        "MailFromDomainNotVerifiedException",
        "SendingPausedException",
        "BadRequestException",
        "NotFoundException",
        "InvalidParameterValue",
    }
)


class EmailSendError(RuntimeError):
    """Raised when SES did not accept a message. `error_code` is the SES error code, if SES sent one.

    Messages carry only the error code, because SES error messages can quote the recipient's address.
    """

    def __init__(self, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code


class EmailThrottled(EmailSendError):
    """SES throttled the request because the account's sending rate or daily quota is used up. Try again later."""


class EmailRejected(EmailSendError):
    """SES rejected the message or the sender (unverified identity, suspended account, invalid input)."""


def send_raw_email(sender: str, recipient: str, message: EmailMessage) -> str:
    """Send a MIME message to one recipient and return the SES message id.

    Raises EmailThrottled, EmailRejected or, for any other failure, EmailSendError.
    """
    ses: SESV2Client = client("sesv2")
    try:
        response = ses.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": [recipient]},
            Content={"Raw": {"Data": message.as_bytes(policy=SMTP)}},
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in THROTTLING_CODES:
            raise EmailThrottled(f"SES throttled the message ({code})", code) from None
        if code in REJECTION_CODES:
            raise EmailRejected(f"SES rejected the message ({code})", code) from None
        raise EmailSendError(f"SES failed to send the message ({code or 'no error code'})", code or None) from None
    except BotoCoreError as error:
        raise EmailSendError(f"SES could not be reached ({type(error).__name__})") from None
    return response["MessageId"]
