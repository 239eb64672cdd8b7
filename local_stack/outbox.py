"""Emails that the functions sent through moto's SES, read from moto's in-process backend for the outbox pages.

SES v2 raw messages are stored by moto as the MIME text, which is parsed here for the subject, recipients and
both the plain-text and HTML parts. Simple messages keep only one body in moto, so one of the two parts is empty.
Moto records no send time, so a background thread stamps each message with the stack's clock when it first
appears, within about POLL_SECONDS of the send.
"""

from __future__ import annotations

import email
import email.policy
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from moto.ses.models import ses_backends

from renewals.clock import to_iso

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class SentEmail:
    """One sent email as the outbox shows it."""

    message_id: str
    sender: str
    to: str
    subject: str
    html: str
    text: str
    sent_at: datetime

    def as_json(self) -> dict[str, str]:
        return {
            "messageId": self.message_id,
            "from": self.sender,
            "to": self.to,
            "subject": self.subject,
            "html": self.html,
            "text": self.text,
            "sentAt": to_iso(self.sent_at),
        }


def _sent_messages() -> Iterator[Any]:
    # dict.values avoids BackendDict's __getitem__, which would create empty backends for every account and region.
    for account_backends in dict.values(ses_backends):
        for backend in dict.values(account_backends):
            yield from list(backend.sent_messages)


def parse_raw_message(raw_data: str, destinations: list[str]) -> tuple[str, str, str, str]:
    """Return (to, subject, html, text) of a MIME message; `destinations` stand in for a missing To header."""
    message = email.message_from_string(raw_data, _class=EmailMessage, policy=email.policy.default)
    # A long header is folded onto its next line, and the parser keeps the fold's leading space, which mail
    # clients do not show.
    to = str(message.get("To") or ", ".join(destinations)).strip()
    subject = str(message.get("Subject") or "").strip()
    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    html = html_part.get_content() if html_part is not None else ""
    text = text_part.get_content() if text_part is not None else ""
    return to, subject, html, text


def _looks_like_html(body: str) -> bool:
    start = body.lstrip()[:200].lower()
    return start.startswith("<") or "<html" in start or "<p" in start


def _to_sent_email(message: Any, sent_at: datetime) -> SentEmail:
    if hasattr(message, "raw_data"):
        to, subject, html, text = parse_raw_message(message.raw_data, list(message.destinations or []))
    else:
        destinations = getattr(message, "destinations", {}) or {}
        to = ", ".join(destinations.get("ToAddresses", [])) if isinstance(destinations, dict) else ""
        subject = getattr(message, "subject", None) or getattr(message, "template", "") or ""
        body = getattr(message, "body", None) or getattr(message, "template_data", "") or ""
        html, text = (body, "") if _looks_like_html(body) else ("", body)
    message_id = getattr(message, "id", None) or ",".join(getattr(message, "ids", []))
    return SentEmail(
        message_id=message_id,
        sender=getattr(message, "source", "") or "",
        to=to,
        subject=subject,
        html=html,
        text=text,
        sent_at=sent_at,
    )


class Outbox:
    """Sent emails, oldest first, each with the time the outbox first saw it."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._emails: list[SentEmail] = []
        # Keeping each seen message referenced stops Python from reusing its id() for a later message.
        self._seen: dict[int, Any] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> None:
        """Record messages that moto stored since the last refresh."""
        with self._lock:
            for message in _sent_messages():
                if id(message) in self._seen:
                    continue
                self._seen[id(message)] = message
                try:
                    self._emails.append(_to_sent_email(message, self._now()))
                except Exception:
                    log.exception("outbox could not read a sent message")

    def emails(self) -> list[SentEmail]:
        """Return every sent email, oldest first."""
        self.refresh()
        with self._lock:
            return list(self._emails)

    def start(self) -> Outbox:
        """Poll moto in a daemon thread so each email's time is close to its send time."""
        self._thread = threading.Thread(target=self._poll, name="outbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def _poll(self) -> None:
        while not self._stopping.wait(POLL_SECONDS):
            self.refresh()
