"""Read the emails that moto's SES backend accepted during a test."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

REGION = "us-east-1"


def sent_emails() -> list[EmailMessage]:
    """Return every raw MIME message sent through SES (v1 or v2) in this test, oldest first, parsed."""
    messages = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    return [email.message_from_string(message.raw_data, policy=default) for message in messages]  # type: ignore[misc]


def email_parts(message: EmailMessage) -> dict[str, str]:
    """Return the decoded text of each part, by content type (`text/plain`, `text/html`)."""
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}
