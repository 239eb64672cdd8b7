"""Unit tests of reading OAuth start and callback requests, and of the dashboard's success URL."""

from __future__ import annotations

import pytest

from renewals.flow_pages import success_url
from renewals.oauth_start import StartProblem, StartRejected, ticket_from_query
from renewals.renewal import parse_callback
from renewals.settings import Settings
from renewals.tokens import new_token

TICKET = new_token()


def test_ticket_from_query_valid() -> None:
    # Given a query with one well-formed ticket among other parameters
    query = f"utm_source=app&ticket={TICKET}"

    # When the ticket is read
    ticket = ticket_from_query(query)

    # Then it is returned unchanged
    assert ticket == TICKET


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("", StartProblem.MISSING),
        ("ticket=", StartProblem.MISSING),
        ("ticket", StartProblem.MISSING),
        (f"ticket={TICKET}&ticket={TICKET}", StartProblem.MALFORMED),
        (f"ticket={TICKET}&ticket=", StartProblem.MALFORMED),
        (f"ticket={TICKET[:-1]}", StartProblem.MALFORMED),
        (f"ticket={TICKET}A", StartProblem.MALFORMED),
        (f"ticket={TICKET[:-1]}%2F", StartProblem.MALFORMED),
    ],
    ids=["empty-query", "empty-value", "no-value", "repeated", "repeated-empty", "short", "long", "slash"],
)
def test_ticket_from_query_rejects(query: str, problem: StartProblem) -> None:
    # Given a query without exactly one well-formed ticket
    # When the ticket is read
    with pytest.raises(StartRejected) as raised:
        ticket_from_query(query)

    # Then the matching problem is raised
    assert raised.value.problem is problem


def test_parse_callback_reads_parameters() -> None:
    # Given Walmart's callback query and a browser's cookies
    query = "code=c-1&type=auth&clientId=client&sellerId=10001234&state=s-1"
    cookies = ["theme=dark", "__Host-wm_renewal_abc=secret=with=equals", "__Host-wm_renewal_abc=second"]

    # When it is parsed
    request = parse_callback(query, cookies)

    # Then each parameter and every value of a repeated cookie name is kept
    assert request.code == "c-1"
    assert request.seller_id == "10001234"
    assert request.state == "s-1"
    assert request.error is None
    assert request.repeated == frozenset()
    assert request.cookies["__Host-wm_renewal_abc"] == ["secret=with=equals", "second"]
    assert request.cookies["theme"] == ["dark"]


def test_parse_callback_finds_repeats() -> None:
    # Given a query that repeats state and code, once with an empty value
    query = "code=c-1&code=&state=s-1&state=s-2&sellerId=1&type=auth&type=auth"

    # When it is parsed
    request = parse_callback(query, [])

    # Then state and code count as repeated, and a repeated parameter that carries no secret does not
    assert request.repeated == frozenset({"state", "code"})


def test_parse_callback_empty_is_absent() -> None:
    # Given a query with empty code and state
    # When it is parsed
    request = parse_callback("code=&state=&error=access_denied", [])

    # Then the empty values read as absent
    assert request.code is None
    assert request.state is None
    assert request.error == "access_denied"


def test_callback_request_repr_hides_secrets() -> None:
    # Given a parsed callback with a code, a state and a cookie
    request = parse_callback("code=code-secret&state=state-secret&sellerId=1", ["n=cookie-secret"])

    # When it is turned into text, as a log line or traceback would
    text = repr(request)

    # Then no secret value appears
    assert "code-secret" not in text
    assert "state-secret" not in text
    assert "cookie-secret" not in text


@pytest.mark.parametrize(
    ("app_url", "expected"),
    [
        ("https://app.example.test/dashboard", "https://app.example.test/dashboard?renewal=success&accountId=a%2F1"),
        ("https://app.example.test/?tab=home", "https://app.example.test/?tab=home&renewal=success&accountId=a%2F1"),
    ],
    ids=["plain", "with-query"],
)
def test_success_url_keeps_app_query(app_url: str, expected: str) -> None:
    # Given an app URL, with or without a query of its own
    settings = Settings.model_construct(app_url=app_url)

    # When the success URL of an account is built
    url = success_url(settings, "a/1")

    # Then the marker is appended to the configured URL, with the account id encoded
    assert url == expected
