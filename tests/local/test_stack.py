"""Tests of the running local stack, started with `python -m local_stack` by the session fixture.

The stack is shared by every test of the session, so no test here assumes what others sent or renewed.
"""

from __future__ import annotations

import re
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from renewals.clock import from_iso
from tests.local.stack_process import (
    ROOT,
    STACK_COMMAND,
    StackProcess,
    free_ports,
    stack_environment,
    start_stack_process,
)

pytestmark = pytest.mark.stack

TIMEOUT = 10


def test_outbox_lists_emails_oldest_first(local_stack: StackProcess) -> None:
    # Given a reminder sent through the stack, after whatever other tests sent
    headers = {"Authorization": f"Bearer {local_stack.token_for('accountant-carla')}"}
    url = f"{local_stack.base_url}/api/renewals/connections/acct-sunrise-vitamins/reminders"
    assert requests.post(url, headers=headers, timeout=TIMEOUT).status_code == 202

    # When the outbox is read
    emails = local_stack.outbox()

    # Then every email has the contract's fields, the newest is last, and times never go backwards
    assert emails
    for email in emails:
        assert {"to", "subject", "html", "text", "sentAt"} <= set(email)
    assert emails[-1]["to"] == "hana@sunrise-vitamins.example"
    sent_times = [from_iso(email["sentAt"]) for email in emails]
    assert sent_times == sorted(sent_times)


def test_health_ok(local_stack: StackProcess) -> None:
    # Given a started stack, when its health is requested
    response = requests.get(f"{local_stack.base_url}/_local/health", timeout=TIMEOUT)

    # Then every part is up
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_users_lists_sellers_and_accountant(local_stack: StackProcess) -> None:
    # Given a started stack, when its users are listed
    users = requests.get(f"{local_stack.base_url}/_local/users", timeout=TIMEOUT).json()["users"]

    # Then there are two sellers and an accountant, each with id, name and role
    roles = [user["role"] for user in users]
    assert roles.count("seller") == 2
    assert roles.count("accountant") == 1
    assert all(set(user) == {"id", "name", "role"} for user in users)


def test_token_opens_json_api(local_stack: StackProcess) -> None:
    # Given a token for the seller with three accounts
    token = local_stack.token_for("seller-bob")

    # When the connection list is requested with and without it
    url = f"{local_stack.base_url}/api/renewals/connections"
    with_token = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    without_token = requests.get(url, timeout=TIMEOUT)

    # Then the handler returns with the seeded accounts only when the token is present
    assert with_token.status_code == 200
    assert len(with_token.json()["connections"]) == 3
    assert without_token.status_code == 401
    assert without_token.json() == {"message": "Unauthorized"}


def test_token_unknown_user_404(local_stack: StackProcess) -> None:
    # Given a user id that was not seeded, when a token is requested
    response = requests.post(f"{local_stack.base_url}/_local/token", json={"userId": "nobody"}, timeout=TIMEOUT)

    # Then the response is 404 with a JSON error
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_token_bad_json_400(local_stack: StackProcess) -> None:
    # Given a body that is not JSON, when a token is requested
    response = requests.post(f"{local_stack.base_url}/_local/token", data="{not json", timeout=TIMEOUT)

    # Then the response is 400
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_cors_preflight_without_token(local_stack: StackProcess) -> None:
    # Given the app's local origin, the gateway itself
    origin = local_stack.base_url

    # When it sends a preflight for the JSON API without a token
    response = requests.options(
        f"{local_stack.base_url}/api/renewals/connections/acct-bob-home/start",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=TIMEOUT,
    )

    # Then the gateway allows it without a token
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "authorization" in response.headers["Access-Control-Allow-Headers"]


def test_dashboard_placeholder_200(local_stack: StackProcess) -> None:
    # Given the URL the OAuth callback redirects to after a renewal
    url = f"{local_stack.base_url}/app/?renewal=success&accountId=%3Cb%3Ex"

    # When it is opened
    response = requests.get(url, timeout=TIMEOUT)

    # Then the placeholder page returns 200, lists the users and escapes the query values it shows
    assert response.status_code == 200
    assert "Carla Diaz" in response.text
    assert "&lt;b&gt;x" in response.text
    assert "<b>x" not in response.text


def test_outbox_page_200(local_stack: StackProcess) -> None:
    # Given a started stack, when the outbox page is opened
    response = requests.get(f"{local_stack.base_url}/_local/outbox", timeout=TIMEOUT)

    # Then it is an HTML page
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")


def test_clock_shift(local_stack: StackProcess) -> None:
    # Given the stack's clock, when it is shifted by a day
    url = f"{local_stack.base_url}/_local/clock"
    try:
        response = requests.post(url, json={"offsetSeconds": 86400}, timeout=TIMEOUT)

        # Then it returns the offset and a now one day ahead of the real time
        assert response.status_code == 200
        assert response.json()["offsetSeconds"] == 86400
        ahead = from_iso(response.json()["now"]) - datetime.now(UTC)
        assert 86390 < ahead.total_seconds() < 86410
    finally:
        requests.post(url, json={"offsetSeconds": 0}, timeout=TIMEOUT)


@pytest.mark.parametrize("body", [{"offsetSeconds": "60"}, {"offsetSeconds": True}, {}, [60], {"offsetSeconds": 1e12}])
def test_clock_bad_input_400(local_stack: StackProcess, body: object) -> None:
    # Given an invalid clock request, when it is sent
    response = requests.post(f"{local_stack.base_url}/_local/clock", json=body, timeout=TIMEOUT)

    # Then it is rejected
    assert response.status_code == 400


def test_sweep_not_implemented(local_stack: StackProcess) -> None:
    # Given a stack without the reminder sweep function, when a sweep is requested
    response = requests.post(f"{local_stack.base_url}/_local/sweep", timeout=TIMEOUT)

    # Then the response states that the sweep is missing
    assert response.status_code == 501
    assert response.json()["error"]["code"] == "not_implemented"


def test_unknown_route_404(local_stack: StackProcess) -> None:
    # Given a path that no route serves, when it is requested
    response = requests.get(f"{local_stack.base_url}/no/such/path", timeout=TIMEOUT)

    # Then the gateway returns what API Gateway returns
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_walmart_knows_seeded_logins(local_stack: StackProcess) -> None:
    # Given the stand-in Walmart, when its logins are listed
    logins = requests.get(f"{local_stack.walmart_url}/logins", timeout=TIMEOUT).json()

    # Then every seller of the seeded accounts has an admin and a non-admin login, plus one unknown seller
    admins = {login["sellerId"] for login in logins if login["role"] == "admin"}
    users = {login["sellerId"] for login in logins if login["role"] == "user"}
    assert {"10000001", "10000002", "10000009"} <= admins
    assert admins - users == {"19999999"}


def test_dashboard_renewal_end_to_end(local_stack: StackProcess) -> None:
    # Given a seller's token and a pending account
    session = requests.Session()
    headers = {"Authorization": f"Bearer {local_stack.token_for('seller-bob')}"}
    api = f"{local_stack.base_url}/api/renewals/connections"

    # When the seller starts the renewal, follows OAuth start and approves with the account's admin login
    start_url = session.post(f"{api}/acct-bob-home/start", headers=headers, timeout=TIMEOUT).json()["url"]
    authorize = session.get(start_url, allow_redirects=False, timeout=TIMEOUT)
    consent = session.post(
        authorize.headers["Location"],
        data={"login": "martin-home.admin@sellercentral.example", "decision": "approve"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    callback = session.get(consent.headers["Location"], allow_redirects=False, timeout=TIMEOUT)

    # Then the callback returns to the dashboard and the account shows as renewed
    assert authorize.status_code == 302
    assert authorize.headers["Location"].startswith(f"{local_stack.walmart_url}/authorize?")
    assert consent.status_code == 302
    assert callback.status_code == 303
    assert callback.headers["Location"].startswith(f"{local_stack.base_url}/app/?renewal=success")
    dashboard = session.get(callback.headers["Location"], timeout=TIMEOUT)
    assert dashboard.status_code == 200
    connections = session.get(api, headers=headers, timeout=TIMEOUT).json()["connections"]
    assert {item["accountId"]: item["status"] for item in connections}["acct-bob-home"] == "renewed"


def test_port_in_use_names_variable() -> None:
    # Given a port that another program listens on
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        busy_port = blocker.getsockname()[1]
        walmart_port, moto_port = free_ports(2)

        # When the stack is started with that port as its gateway port
        result = subprocess.run(  # noqa: S603 - a fixed command line with this interpreter
            STACK_COMMAND,
            cwd=ROOT,
            env=stack_environment(busy_port, walmart_port, moto_port),
            capture_output=True,
            timeout=60,
        )

    # Then it exits with an error that names the port and the variable to change
    assert result.returncode == 1
    assert f"port {busy_port}" in result.stderr.decode()
    assert "set PORT to a free port" in result.stderr.decode()


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    # Given a second stack that is running
    stack = start_stack_process(tmp_path / "stack.log")
    stack.wait_until_healthy()

    # When it receives SIGTERM
    status = stack.terminate()

    # Then it exits with status 0 and frees its gateway port
    assert status == 0
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", int(stack.base_url.rsplit(":", 1)[1])))


def test_reminder_email_in_outbox(local_stack: StackProcess) -> None:
    # Given an accountant's token and a client account that has not been reminded
    headers = {"Authorization": f"Bearer {local_stack.token_for('accountant-carla')}"}
    reminders = f"{local_stack.base_url}/api/renewals/connections/acct-fernwood-pets/reminders"

    # When the accountant sends a reminder
    sent = requests.post(reminders, headers=headers, timeout=TIMEOUT)

    # Then the outbox shows the email to the client, whose magic link opens the "Continue to Walmart" page
    assert sent.status_code == 202
    emails = [email for email in local_stack.outbox() if email["to"] == "dana@fernwood-pets.example"]
    assert len(emails) == 1
    assert emails[0]["subject"].startswith("ACTION REQUIRED")
    assert emails[0]["text"]
    assert emails[0]["html"]
    links = re.findall(rf'href="({re.escape(local_stack.base_url)}/r/[^"]+)"', emails[0]["html"])
    assert links
    page = requests.get(links[0], timeout=TIMEOUT)
    assert page.status_code == 200
    assert "Fernwood Pet Supplies" in page.text
