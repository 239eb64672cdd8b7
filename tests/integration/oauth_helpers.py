"""Helpers of the renewal flow tests: seeded accounts, the stand-in Walmart, handler calls and response parsing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from local_stack.events import simple_event
from local_stack.resources import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET
from local_stack.walmart import SellerLogin, StandInConfig, WalmartStandIn, WalmartStandInServer, create_walmart_app
from renewals.data.accounts import create_account, get_account
from renewals.data.models import STATUS_NEEDS_RENEWAL, AccountModel, bind_tables
from renewals.settings import Settings, get_settings
from tests.conftest import AwsStack

SELLER_ID = "10001234"
OTHER_SELLER_ID = "20005678"
OWNER = SellerLogin(login="owner@acme.test", seller_id=SELLER_ID, role="admin", display_name="Acme Outdoor")
STAFF = SellerLogin(login="staff@acme.test", seller_id=SELLER_ID, role="user", display_name="Acme Outdoor")
OTHER_OWNER = SellerLogin(login="owner@other.test", seller_id=OTHER_SELLER_ID, role="admin", display_name="Other")

USER_ID = "user-seller-1"
ACCOUNT_ID = "acct-1001"


def seed_account(
    account_id: str = ACCOUNT_ID,
    name: str = "Acme Outdoor",
    owner_id: str | None = USER_ID,
    accountant_id: str | None = None,
    seller_id: str | None = SELLER_ID,
    status: str = STATUS_NEEDS_RENEWAL,
    **attributes: Any,
) -> AccountModel:
    """Store an account and return it as read back from the table."""
    created = create_account(
        AccountModel(
            account_id,
            account_name=name,
            owner_id=owner_id,
            accountant_id=accountant_id,
            walmart_seller_id=seller_id,
            status=status,
            **attributes,
        )
    )
    assert created
    account = get_account(account_id)
    assert account is not None
    return account


def invoke(handler: ModuleType, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Call a function's Lambda handler and return its payload 2.0 response."""
    return handler.lambda_handler(event, context)


def location(response: dict[str, Any]) -> str:
    headers = {name.lower(): value for name, value in response.get("headers", {}).items()}
    return headers["location"]


def header(response: dict[str, Any], name: str) -> str | None:
    headers = {key.lower(): value for key, value in response.get("headers", {}).items()}
    return headers.get(name.lower())


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def set_cookies(response: dict[str, Any]) -> dict[str, SimpleCookie]:
    """Return the response's Set-Cookie values by cookie name."""
    parsed = {}
    for text in response.get("cookies", []):
        cookie = SimpleCookie()
        cookie.load(text)
        for name in cookie:
            parsed[name] = cookie
    return parsed


def browser_cookies(response: dict[str, Any]) -> list[str]:
    """Return the `name=value` pairs a browser sends back after this response, for cookies still alive."""
    pairs = []
    for name, cookie in set_cookies(response).items():
        morsel = cookie[name]
        if morsel["max-age"] != "0":
            pairs.append(f"{name}={morsel.value}")
    return pairs


def callback_event(raw_query: str, cookies: list[str]) -> dict[str, Any]:
    return simple_event("GET", "/oauth/callback", query=raw_query, cookies=cookies)


def start_event(raw_query: str) -> dict[str, Any]:
    return simple_event("GET", "/oauth/start", query=raw_query)


def api_event(method: str, path: str, user_id: str, path_parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """Build a renewals API event as it arrives after the HttpApi JWT authorizer accepted the user's token."""
    route = path
    for name, value in (path_parameters or {}).items():
        route = route.replace(value, "{" + name + "}")
    return simple_event(
        method,
        path,
        route_key=f"{method} {route}",
        headers={"Authorization": "Bearer header.payload.signature"},
        path_parameters=path_parameters,
        jwt_claims={"sub": user_id},
    )


def rebind_settings(monkeypatch: pytest.MonkeyPatch, **environment: str) -> Settings:
    """Change environment variables, reload Settings and point the models at the same tables again."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    settings = get_settings()
    bind_tables(settings)
    return settings


class StandIn:
    """The running stand-in Walmart and the Settings that point the functions at it."""

    def __init__(self, app: WalmartStandIn, server: WalmartStandInServer, settings: Settings) -> None:
        self.app = app
        self.server = server
        self.settings = settings

    def decide(self, authorize_url: str, login: SellerLogin, decision: str = "approve") -> str:
        """Submit the consent form the way its buttons do and return the callback URL Walmart redirects to."""
        answer = requests.post(
            authorize_url, data={"login": login.login, "decision": decision}, allow_redirects=False, timeout=5
        )
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]


@contextmanager
def running_stand_in(aws: AwsStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """Run the stand-in Walmart on 127.0.0.1 with the local client credentials, and point Settings at it."""
    config = StandInConfig(
        client_id=LOCAL_CLIENT_ID,
        client_secret=LOCAL_CLIENT_SECRET,
        redirect_uri=aws.settings.walmart_redirect_uri,
        logins=[OWNER, STAFF, OTHER_OWNER],
    )
    app = create_walmart_app(config)
    with WalmartStandInServer(app, port=0) as server:
        settings = rebind_settings(
            monkeypatch,
            WALMART_AUTHORIZE_URL=f"{server.url}/authorize",
            WALMART_API_BASE_URL=server.url,
            # oauthlib refuses plain http without this, and the stand-in serves plain http on 127.0.0.1.
            OAUTHLIB_INSECURE_TRANSPORT="1",
        )
        yield StandIn(app, server, settings)


@pytest.fixture
def stand_in(aws: AwsStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """Fixture form of `running_stand_in`."""
    with running_stand_in(aws, monkeypatch) as running:
        yield running
