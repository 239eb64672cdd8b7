"""An accountant's client renews through the running local stack, with plain HTTP as a browser would send it."""

from __future__ import annotations

import re

import pytest
import requests

from tests.local.stack_process import StackProcess

pytestmark = pytest.mark.stack

TIMEOUT = 10
ACCOUNTANT = "accountant-carla"
CLIENT_ACCOUNT = "acct-juniper-toys"
CLIENT_EMAIL = "fiona@juniper-toys.example"
CLIENT_ADMIN_LOGIN = "juniper-toys.admin@sellercentral.example"
ACCOUNTANT_EMAIL = "carla@diaz-bookkeeping.example"


def _api(stack: StackProcess, path: str) -> str:
    return f"{stack.base_url}/api/renewals/connections{path}"


def _headers(stack: StackProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token_for(ACCOUNTANT)}"}


def _emails_to(stack: StackProcess, address: str) -> list[dict]:
    return [email for email in stack.outbox() if email["to"] == address]


def test_client_renews_from_reminder_email(local_stack: StackProcess) -> None:
    # Given an accountant who copies a link for a client and then emails the client a reminder
    copied = requests.post(
        _api(local_stack, f"/{CLIENT_ACCOUNT}/magic-links"), headers=_headers(local_stack), timeout=TIMEOUT
    )
    reminder = requests.post(
        _api(local_stack, f"/{CLIENT_ACCOUNT}/reminders"), headers=_headers(local_stack), timeout=TIMEOUT
    )
    assert copied.status_code == 201
    assert reminder.status_code == 202
    assert reminder.json()["to"] == "f***@juniper-toys.example"
    emails = _emails_to(local_stack, CLIENT_EMAIL)
    assert len(emails) == 1
    assert emails[0]["subject"] == "ACTION REQUIRED - Renew your Juniper Toys & Games Walmart account connection"
    links = re.findall(rf"{re.escape(local_stack.base_url)}/r/[A-Za-z0-9_-]+", emails[0]["text"])
    assert links

    # When the client opens the email's link, continues to Walmart, approves with the main login and comes back
    browser = requests.Session()
    page = browser.get(links[0], timeout=TIMEOUT)
    continued = browser.post(links[0], allow_redirects=False, timeout=TIMEOUT)
    consent = browser.post(
        continued.headers["Location"],
        data={"login": CLIENT_ADMIN_LOGIN, "decision": "approve"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    result = browser.get(consent.headers["Location"], allow_redirects=False, timeout=TIMEOUT)

    # Then the client sees the renewed page, and every step returned the expected status
    assert page.status_code == 200
    assert "Continue to Walmart" in page.text
    assert continued.status_code == 303
    assert continued.headers["Location"].startswith(f"{local_stack.walmart_url}/authorize?")
    assert consent.status_code == 302
    assert consent.headers["Location"].startswith(f"{local_stack.base_url}/oauth/callback?")
    assert result.status_code == 200
    assert "renewed" in result.text.lower()

    # And the accountant's list shows the client renewed
    connections = requests.get(_api(local_stack, ""), headers=_headers(local_stack), timeout=TIMEOUT).json()
    statuses = {item["accountId"]: item["status"] for item in connections["connections"]}
    assert statuses[CLIENT_ACCOUNT] == "renewed"

    # And both the emailed link and the copied link now show that the connection is already renewed
    for url in (links[0], copied.json()["url"]):
        again = requests.get(url, timeout=TIMEOUT)
        assert again.status_code == 200
        assert "already" in again.text.lower() or "is renewed" in again.text.lower()

    # And the client got a confirmation and the accountant a note
    assert len(_emails_to(local_stack, CLIENT_EMAIL)) == 2
    assert len(_emails_to(local_stack, ACCOUNTANT_EMAIL)) == 1


def test_second_reminder_within_hour_rejected(local_stack: StackProcess) -> None:
    # Given a reminder just sent to a client
    url = _api(local_stack, "/acct-northwind-auto/reminders")
    first = requests.post(url, headers=_headers(local_stack), timeout=TIMEOUT)
    sent_before = len(local_stack.outbox())

    # When the accountant sends another one straight away
    second = requests.post(url, headers=_headers(local_stack), timeout=TIMEOUT)

    # Then it is rejected with a Retry-After and nothing more is sent
    assert first.status_code == 202
    assert second.status_code == 429
    assert 0 < int(second.headers["Retry-After"]) <= 3600
    assert second.json()["error"]["code"] == "rate_limited"
    assert len(local_stack.outbox()) == sent_before


def test_bounced_client_reminder_rejected(local_stack: StackProcess) -> None:
    response = requests.post(
        _api(local_stack, "/acct-harbor-kitchen/reminders"), headers=_headers(local_stack), timeout=TIMEOUT
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "email_suppressed"


def test_seller_cannot_use_accountant_routes(local_stack: StackProcess) -> None:
    headers = {"Authorization": f"Bearer {local_stack.token_for('seller-avery')}"}

    response = requests.post(_api(local_stack, f"/{CLIENT_ACCOUNT}/magic-links"), headers=headers, timeout=TIMEOUT)

    assert response.status_code == 404
