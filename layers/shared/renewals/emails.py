"""Renewal emails: subjects, HTML and plain-text bodies, and the MIME message that carries both parts.

HTML templates are autoescaped and text templates are not, so an account name such as `Bob & Sons <Outlet>`
shows escaped in HTML and as written in text. Names and subjects lose every control character and line break,
so no value can add a header line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from renewals.clock import require_utc

# C0 and C1 control characters, CR and LF included, plus Unicode line and paragraph separators.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class RenderedEmail:
    """Subject and both bodies of one email, ready to be put in a MIME message."""

    subject: str
    html: str
    text: str


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("renewals", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def one_line(value: str) -> str:
    """Return `value` with control characters and runs of whitespace replaced by single spaces."""
    return _SPACES.sub(" ", _CONTROL_CHARACTERS.sub(" ", value)).strip()


def format_day(value: datetime) -> str:
    """Format a time as a date that reads the same everywhere, such as `December 11, 2026`."""
    utc = require_utc(value)
    return f"{utc:%B} {utc.day}, {utc:%Y}"


def format_time(value: datetime) -> str:
    """Format a time with its date, such as `December 11, 2026 at 14:05 UTC`."""
    utc = require_utc(value)
    return f"{format_day(utc)} at {utc:%H:%M} UTC"


def _optional_line(value: str | None) -> str | None:
    cleaned = one_line(value) if value else ""
    return cleaned or None


def _render(name: str, subject: str, **context: object) -> RenderedEmail:
    templates = _templates()
    return RenderedEmail(
        subject=one_line(subject),
        html=templates.get_template(f"email/{name}.html").render(subject=one_line(subject), **context),
        text=templates.get_template(f"email/{name}.txt").render(**context),
    )


def renewal_request(
    account_name: str,
    recipient_name: str | None,
    link_url: str,
    link_expires_at: datetime,
    accountant_name: str | None = None,
) -> RenderedEmail:
    """Render the request (or reminder) to renew an account's Walmart connection through a magic link."""
    name = one_line(account_name)
    return _render(
        "renewal_request",
        f"ACTION REQUIRED - Renew your {name} Walmart account connection",
        account_name=name,
        recipient_name=_optional_line(recipient_name),
        link_url=link_url,
        link_expires_on=format_day(link_expires_at),
        accountant_name=_optional_line(accountant_name),
    )


def renewal_confirmation(account_name: str, recipient_name: str | None, renewed_at: datetime) -> RenderedEmail:
    """Render the confirmation to the account's contact that the connection is renewed."""
    name = one_line(account_name)
    return _render(
        "renewal_confirmation",
        f"Your {name} Walmart connection is renewed",
        account_name=name,
        recipient_name=_optional_line(recipient_name),
        renewed_at=format_time(renewed_at),
    )


def client_renewed_note(
    account_name: str, client_name: str | None, accountant_name: str | None, renewed_at: datetime, app_url: str
) -> RenderedEmail:
    """Render the note to an accountant that a client renewed the connection of a managed account."""
    name = one_line(account_name)
    client = _optional_line(client_name)
    return _render(
        "client_renewed",
        f"{client or 'Your client'} renewed the {name} Walmart connection",
        account_name=name,
        client_name=client,
        accountant_name=_optional_line(accountant_name),
        renewed_at=format_time(renewed_at),
        app_url=app_url,
    )


def build_message(email: RenderedEmail, sender: str, recipient: str) -> EmailMessage:
    """Build a multipart/alternative message with the text part first, as RFC 2046 orders alternatives.

    Both parts are quoted-printable, so the message stays 7-bit whatever the names contain, and long lines such
    as links get soft line breaks that MIME decoding removes.
    """
    message = EmailMessage()
    message["Subject"] = one_line(email.subject)
    message["From"] = one_line(sender)
    message["To"] = one_line(recipient)
    message.set_content(email.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(email.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message
