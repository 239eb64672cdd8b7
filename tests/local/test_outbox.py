"""Tests of the outbox: emails sent through SES v2 in moto, parsed back into subject, recipient and both parts."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP

from local_stack.local_routes import email_links
from local_stack.outbox import Outbox
from local_stack.resources import LOCAL_SENDER
from tests.conftest import AwsStack

SENT_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
LONG_SUBJECT = "ACTION REQUIRED - Renew your Fernwood Pet Supplies Walmart account connection"


def raw_message(to: str, subject: str, text: str, html: str) -> bytes:
    message = EmailMessage()
    message["From"] = LOCAL_SENDER
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    # The SMTP policy folds long headers onto a new line, as the service's email sender does.
    return message.as_bytes(policy=SMTP)


def test_raw_email_has_both_parts(aws: AwsStack) -> None:
    # Given an email sent as raw MIME through SES v2
    html = '<p>Renew <a href="http://127.0.0.1:3000/r/abc">Renew Connection</a> for Bob &amp; Sons</p>'
    aws.client("sesv2").send_email(
        FromEmailAddress=LOCAL_SENDER,
        Destination={"ToAddresses": ["dana@fernwood-pets.example"]},
        Content={"Raw": {"Data": raw_message("dana@fernwood-pets.example", LONG_SUBJECT, "Plain body", html)}},
    )

    # When the outbox reads moto's backend
    emails = Outbox(now=lambda: SENT_AT).emails()

    # Then the email shows recipient, subject, both parts and the time it was first seen
    assert len(emails) == 1
    email = emails[0].as_json()
    assert email["to"] == "dana@fernwood-pets.example"
    assert email["subject"] == LONG_SUBJECT
    assert email["text"].strip() == "Plain body"
    assert "Renew Connection" in email["html"]
    assert email["sentAt"] == "2026-03-02T09:30:00.000000Z"


def test_simple_email_keeps_body(aws: AwsStack) -> None:
    # Given an email sent with SES v2 Simple content, of which moto keeps only one body
    aws.client("sesv2").send_email(
        FromEmailAddress=LOCAL_SENDER,
        Destination={"ToAddresses": ["gus@northwind-auto.example"]},
        Content={"Simple": {"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "Only text"}}}},
    )

    # When the outbox reads it
    email = Outbox(now=lambda: SENT_AT).emails()[0]

    # Then the kept body is the text part and the HTML part is empty
    assert email.to == "gus@northwind-auto.example"
    assert email.subject == "Hello"
    assert email.text == "Only text"
    assert email.html == ""


def test_outbox_keeps_first_seen_time(aws: AwsStack) -> None:
    # Given an outbox that has seen one email
    times = iter([SENT_AT, datetime(2030, 1, 1, tzinfo=UTC)])
    outbox = Outbox(now=lambda: next(times))
    aws.client("sesv2").send_email(
        FromEmailAddress=LOCAL_SENDER,
        Destination={"ToAddresses": ["hana@sunrise-vitamins.example"]},
        Content={"Simple": {"Subject": {"Data": "First"}, "Body": {"Text": {"Data": "1"}}}},
    )
    outbox.refresh()

    # When a second email is sent and the outbox is read again
    aws.client("sesv2").send_email(
        FromEmailAddress=LOCAL_SENDER,
        Destination={"ToAddresses": ["hana@sunrise-vitamins.example"]},
        Content={"Simple": {"Subject": {"Data": "Second"}, "Body": {"Text": {"Data": "2"}}}},
    )
    emails = outbox.emails()

    # Then the emails are oldest first and the first keeps the time it was first seen
    assert [email.subject for email in emails] == ["First", "Second"]
    assert emails[0].sent_at == SENT_AT
    assert emails[1].sent_at.year == 2030


def test_links_extracted_from_html() -> None:
    # Given an HTML part with a web link, a script link and the web link repeated as text
    html = (
        '<a href="http://127.0.0.1:3000/r/tok">Renew Connection</a> <a href="javascript:alert(1)">x</a>'
        '<a href="http://127.0.0.1:3000/r/tok">http://127.0.0.1:3000/r/tok</a>'
    )

    # When its links are extracted
    links = email_links(html)

    # Then the web link is kept once, labelled with its first text and its target
    assert links == [{"href": "http://127.0.0.1:3000/r/tok", "label": "Renew Connection (http://127.0.0.1:3000/r/tok)"}]
