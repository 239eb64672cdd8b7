"""Unit tests of email rendering and MIME building: wording, escaping, header safety and both parts."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default

import pytest

from renewals import emails

EXPIRES = datetime(2026, 12, 18, 9, 30, tzinfo=UTC)
RENEWED = datetime(2026, 12, 11, 14, 5, tzinfo=UTC)
LINK = "https://renew.example.test/r/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde"
HOSTILE_NAME = 'Bob & Sons <Outlet> "<script>alert(1)</script>"'
SENDER = "renewals@bookkeeping.example"
RECIPIENT = "client@example.com"


def _parse(message: EmailMessage) -> EmailMessage:
    return email.message_from_bytes(message.as_bytes(), policy=default)  # type: ignore[return-value]


def _parts(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in _parse(message).iter_parts()}


def test_request_subject_exact() -> None:
    # Given an account name
    # When the renewal request is rendered
    rendered = emails.renewal_request("Acme Outdoor", "Ann", LINK, EXPIRES)

    # Then the subject is the exact wording, with a hyphen-minus
    assert rendered.subject == "ACTION REQUIRED - Renew your Acme Outdoor Walmart account connection"


def test_request_body_explains_renewal() -> None:
    # Given a renewal request
    rendered = emails.renewal_request("Acme Outdoor", "Ann", LINK, EXPIRES)

    # Then both parts explain the change, that no data is lost and who can approve, and carry the button
    for body in (rendered.html, rendered.text):
        assert "Walmart changed how apps connect" in body
        assert "No data is lost" in body
        assert "Only the main (admin) Walmart Seller Center login" in body
        assert "Renew Connection" in body
        assert LINK in body
        assert "December 18, 2026" in body


def test_request_html_button_links() -> None:
    # Given a renewal request
    rendered = emails.renewal_request("Acme Outdoor", None, LINK, EXPIRES)

    # Then the HTML Renew Connection button is an anchor to the magic link
    assert re.search(rf'<a href="{re.escape(LINK)}"[^>]*>Renew Connection</a>', rendered.html)


def test_request_names_escaped_html() -> None:
    # Given names that contain HTML
    rendered = emails.renewal_request(HOSTILE_NAME, "<b>Ann</b>", LINK, EXPIRES, accountant_name="<i>Carol</i>")

    # Then the HTML part shows them escaped and never as markup
    assert "Bob &amp; Sons &lt;Outlet&gt;" in rendered.html
    assert "<script>" not in rendered.html
    assert "<b>Ann</b>" not in rendered.html
    assert "&lt;b&gt;Ann&lt;/b&gt;" in rendered.html
    assert "<i>Carol</i>" not in rendered.html


def test_request_names_plain_text() -> None:
    # Given names that contain HTML
    rendered = emails.renewal_request(HOSTILE_NAME, "<b>Ann</b>", LINK, EXPIRES, accountant_name="<i>Carol</i>")

    # Then the text part shows them as written, not as entities
    assert HOSTILE_NAME in rendered.text
    assert "&amp;" not in rendered.text
    assert "Hello <b>Ann</b>," in rendered.text
    assert "ask <i>Carol</i> for a new one" in rendered.text


def test_subject_strips_line_breaks() -> None:
    # Given an account name that tries to add a header line
    rendered = emails.renewal_request("Acme\r\nBcc: victim@example.com\n", None, LINK, EXPIRES)

    # Then the subject is a single line
    assert "\r" not in rendered.subject
    assert "\n" not in rendered.subject
    assert rendered.subject == "ACTION REQUIRED - Renew your Acme Bcc: victim@example.com Walmart account connection"


def test_message_has_no_injected_header() -> None:
    # Given a request whose account name carries CR/LF and a header
    rendered = emails.renewal_request("Acme\r\nBcc: victim@example.com", None, LINK, EXPIRES)

    # When it becomes a MIME message and is parsed back
    parsed = _parse(emails.build_message(rendered, SENDER, RECIPIENT))

    # Then no Bcc header exists and the subject is intact
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == rendered.subject


@pytest.mark.parametrize("separator", ["\u2028", "\x85", "\t", "\x0b"])
def test_subject_strips_unicode_breaks(separator: str) -> None:
    # Given an account name with an unusual line or control separator
    rendered = emails.renewal_confirmation(f"Acme{separator}Outdoor", None, RENEWED)

    # Then the subject contains one space in its place
    assert rendered.subject == "Your Acme Outdoor Walmart connection is renewed"


def test_message_is_multipart_alternative() -> None:
    # Given a rendered request
    rendered = emails.renewal_request(HOSTILE_NAME, "Ann", LINK, EXPIRES)

    # When it becomes a MIME message
    message = emails.build_message(rendered, SENDER, RECIPIENT)
    parsed = _parse(message)

    # Then it is multipart/alternative with text first, then HTML, addressed as given
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["From"] == SENDER
    assert parsed["To"] == RECIPIENT
    assert parsed["Subject"] == rendered.subject


def test_message_parts_round_trip() -> None:
    # Given a rendered request
    rendered = emails.renewal_request(HOSTILE_NAME, "Ann", LINK, EXPIRES)

    # When the MIME message is parsed back
    parts = _parts(emails.build_message(rendered, SENDER, RECIPIENT))

    # Then both bodies come back unchanged
    assert parts["text/plain"] == rendered.text
    assert parts["text/html"] == rendered.html


def test_message_is_seven_bit() -> None:
    # Given names with characters outside ASCII
    rendered = emails.renewal_request("Café Zoë – Ünïcode", "Zoë", LINK, EXPIRES)

    # When the message is serialized
    raw = emails.build_message(rendered, SENDER, RECIPIENT).as_bytes()

    # Then every byte is 7-bit and every line fits SMTP's 998-character limit
    assert all(byte < 128 for byte in raw)
    assert max(len(line) for line in raw.split(b"\n")) <= 998


def test_message_non_ascii_subject_decodes() -> None:
    # Given an account name outside ASCII
    rendered = emails.renewal_request("Café Zoë", None, LINK, EXPIRES)

    # When the message is parsed back
    parsed = _parse(emails.build_message(rendered, SENDER, RECIPIENT))

    # Then the encoded subject decodes to the original
    assert parsed["Subject"] == "ACTION REQUIRED - Renew your Café Zoë Walmart account connection"


def test_confirmation_wording() -> None:
    # Given a renewal time and a hostile account name
    rendered = emails.renewal_confirmation(HOSTILE_NAME, "Ann", RENEWED)

    # Then the subject names the account, and both parts give the time and state that nothing more is needed
    assert rendered.subject == f"Your {HOSTILE_NAME} Walmart connection is renewed"
    assert "December 11, 2026 at 14:05 UTC" in rendered.text
    assert "December 11, 2026 at 14:05 UTC" in rendered.html
    assert "Nothing more is needed" in rendered.text
    assert "Bob &amp; Sons" in rendered.html
    assert "<script>" not in rendered.html


def test_client_note_wording() -> None:
    # Given an accountant's client who renewed
    rendered = emails.client_renewed_note("Acme", "Dana <Client>", "Carol", RENEWED, "https://app.example.test/")

    # Then the note names the client and account and links to the app
    assert rendered.subject == "Dana <Client> renewed the Acme Walmart connection"
    assert "Your client Dana <Client> renewed the Walmart connection of Acme" in rendered.text
    assert "Dana &lt;Client&gt;" in rendered.html
    assert 'href="https://app.example.test/"' in rendered.html


def test_client_note_without_client_name() -> None:
    # Given a managed account without a client name
    rendered = emails.client_renewed_note("Acme", None, None, RENEWED, "https://app.example.test/")

    # Then the note still reads naturally
    assert rendered.subject == "Your client renewed the Acme Walmart connection"
    assert rendered.text.startswith("Hello,\n")


def test_format_day_rejects_naive() -> None:
    # Given a naive datetime
    # When it is formatted
    # Then it is rejected, because times must be UTC-aware
    with pytest.raises(ValueError, match="naive datetime"):
        emails.format_day(datetime(2026, 12, 11))  # noqa: DTZ001 - the naive value is the case under test
