"""Tests of the stand-in Walmart authorization server, driven over HTTP on 127.0.0.1 by the real WalmartClient."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests

from local_stack.walmart import (
    NON_ADMIN_DESCRIPTION,
    SellerLogin,
    StandInConfig,
    WalmartStandIn,
    WalmartStandInServer,
    create_walmart_app,
)
from renewals.walmart import (
    PartnerProfile,
    WalmartClient,
    WalmartConfig,
    WalmartInvalidGrant,
    WalmartRejected,
)

CLIENT_ID = "stand-in-client"
CLIENT_SECRET = "stand-in-secret"
# The tests read this URI from Location headers and never request it.
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"
ADMIN = SellerLogin(login="owner@acme.test", seller_id="10001234", role="admin", display_name="Acme Outdoor")
STAFF = SellerLogin(login="staff@acme.test", seller_id="10001234", role="user", display_name="Acme Outdoor")
OTHER_ADMIN = SellerLogin(login="owner@other.test", seller_id="20005678", role="admin", display_name="Other Goods")
HOSTILE = SellerLogin(
    login='"><script>alert("login")</script>', seller_id="<b>3000</b>", role="admin", display_name="<img src=x>"
)


class ShiftedClock:
    """UTC clock that tests move forward, like the local stack's shifted clock."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class FormParser(HTMLParser):
    """Collects the consent form's method, action, radio values and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.method: str | None = None
        self.action: str | None = None
        self.logins: list[str] = []
        self.decisions: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.method = attributes.get("method")
            self.action = attributes.get("action")
        elif tag == "input" and attributes.get("name") == "login":
            self.logins.append(attributes.get("value") or "")
        elif tag == "button" and attributes.get("name") == "decision":
            self.decisions.append(attributes.get("value") or "")


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def app(clock: ShiftedClock) -> WalmartStandIn:
    config = StandInConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        logins=[ADMIN, STAFF, OTHER_ADMIN, HOSTILE],
        now=clock.now,
    )
    return create_walmart_app(config)


@pytest.fixture
def server(app: WalmartStandIn) -> Iterator[WalmartStandInServer]:
    with WalmartStandInServer(app, port=0) as running:
        yield running


@pytest.fixture
def insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses plain http without this, and the stand-in serves plain http on 127.0.0.1.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def make_client(server: WalmartStandInServer, **overrides: str) -> WalmartClient:
    values = {
        "authorize_url": f"{server.url}/authorize",
        "api_base_url": server.url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        **overrides,
    }
    return WalmartClient(WalmartConfig(**values, timeout_seconds=5))


@pytest.fixture
def client(server: WalmartStandInServer, insecure_transport: None) -> WalmartClient:
    return make_client(server)


def submit_consent(authorize_url: str, login: str | None, decision: str | None) -> requests.Response:
    """Open the consent page and submit its form the way a browser does, without following the redirect."""
    page = requests.get(authorize_url, timeout=5)
    assert page.status_code == 200
    form = FormParser()
    form.feed(page.text)
    assert form.action is not None
    fields = {name: value for name, value in (("login", login), ("decision", decision)) if value is not None}
    return requests.post(urljoin(authorize_url, form.action), data=fields, allow_redirects=False, timeout=5)


def callback_parameters(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return dict(parse_qsl(location.query))


def approve(client: WalmartClient, login: SellerLogin = ADMIN, state: str = "state-1") -> dict[str, str]:
    return callback_parameters(
        submit_consent(client.authorize_url(state=state, nonce="nonce-1"), login.login, "approve")
    )


def token_post(server: WalmartStandInServer, headers: dict[str, str], form: dict[str, str], **kwargs: object):
    return requests.post(f"{server.url}/v3/token", headers=headers, data=form, timeout=5, **kwargs)


WM_HEADERS = {
    "WM_QOS.CORRELATION_ID": "7d3c1c4e-0d5a-4c55-9b0e-6a0c2e1f4a11",
    "WM_SVC.NAME": "Walmart Marketplace",
    "WM_PARTNER.ID": ADMIN.seller_id,
    "WM_MARKET": "us",
}


def test_stand_in_full_renewal_flow(client: WalmartClient) -> None:
    # Given the admin login approves the app on the consent page
    callback = approve(client, state="state-full")

    # When the client exchanges the code and reads the partner profile
    tokens = client.exchange_code(callback["code"], callback["sellerId"])
    profile = client.partner_profile(tokens.access_token, callback["sellerId"])

    # Then the callback has Walmart's parameters, and the tokens belong to the approving seller
    assert list(callback) == ["code", "type", "clientId", "sellerId", "state"]
    assert callback["type"] == "auth"
    assert callback["clientId"] == CLIENT_ID
    assert callback["sellerId"] == ADMIN.seller_id
    assert callback["state"] == "state-full"
    assert tokens.token_type == "Bearer"
    assert tokens.expires_in == 900
    assert tokens.refresh_token
    assert profile == PartnerProfile(partner_id=ADMIN.seller_id, display_name=ADMIN.display_name)


def test_stand_in_refresh_issues_access_token(client: WalmartClient) -> None:
    # Given tokens from an approved code
    callback = approve(client)
    tokens = client.exchange_code(callback["code"], callback["sellerId"])

    # When the client refreshes the access token
    refreshed = client.refresh_access_token(tokens.refresh_token, ADMIN.seller_id)

    # Then a new access token works for the profile and the refresh token stays the same
    assert refreshed.access_token != tokens.access_token
    assert refreshed.refresh_token == tokens.refresh_token
    assert client.partner_profile(refreshed.access_token, ADMIN.seller_id).partner_id == ADMIN.seller_id


def test_stand_in_records_token_request(client: WalmartClient, app: WalmartStandIn) -> None:
    # Given an approved code
    callback = approve(client)

    # When the client exchanges it
    client.exchange_code(callback["code"], callback["sellerId"])

    # Then the stand-in recorded the WM_ headers under their exact names and a form without client credentials
    recorded = app.token_requests[-1]
    assert recorded.headers["WM_SVC.NAME"] == "Walmart Marketplace"
    assert recorded.headers["WM_PARTNER.ID"] == ADMIN.seller_id
    assert recorded.headers["WM_MARKET"] == "us"
    assert recorded.headers["WM_QOS.CORRELATION_ID"]
    assert recorded.headers["Authorization"].startswith("Basic ")
    assert recorded.form == {"grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT_URI}


def test_stand_in_consent_page_form(client: WalmartClient) -> None:
    # Given a valid authorize URL
    authorize_url = client.authorize_url(state="state-page", nonce="nonce-page")

    # When the browser opens it
    page = requests.get(authorize_url, timeout=5)
    form = FormParser()
    form.feed(page.text)

    # Then the sign-in page posts the same query back with a login and an approve or decline decision
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Sign in to Walmart Seller Center" in page.text
    assert form.method == "post"
    assert form.action == "/authorize?" + urlsplit(authorize_url).query
    assert form.logins == [ADMIN.login, STAFF.login, OTHER_ADMIN.login, HOSTILE.login]
    assert form.decisions == ["approve", "decline"]
    assert "additional user, not admin" in page.text


def test_stand_in_consent_page_escapes_html(client: WalmartClient) -> None:
    # Given seeded logins with markup in their values and a state with markup
    authorize_url = client.authorize_url(state='"><script>alert("state")</script>', nonce="n")

    # When the browser opens the consent page
    page = requests.get(authorize_url, timeout=5).text

    # Then every value appears escaped and no injected tag survives
    assert "<script>" not in page
    assert "<img src=x>" not in page
    assert "<b>3000</b>" not in page
    assert "&lt;img src=x&gt;" in page
    assert "&lt;b&gt;3000&lt;/b&gt;" in page
    assert "&quot;&gt;&lt;script&gt;" in page


def test_stand_in_decline_redirect(client: WalmartClient) -> None:
    # Given the consent page
    authorize_url = client.authorize_url(state="state-decline", nonce="n")

    # When the seller presses Decline
    callback = callback_parameters(submit_consent(authorize_url, ADMIN.login, "decline"))

    # Then Walmart redirects with access_denied, the state and no code
    assert callback["error"] == "access_denied"
    assert callback["error_description"]
    assert callback["state"] == "state-decline"
    assert "code" not in callback


def test_stand_in_non_admin_denied(client: WalmartClient) -> None:
    # Given the consent page
    authorize_url = client.authorize_url(state="state-staff", nonce="n")

    # When a login that is not the main login approves
    callback = callback_parameters(submit_consent(authorize_url, STAFF.login, "approve"))

    # Then Walmart redirects with access_denied, saying only the main login can approve, and no code
    assert callback["error"] == "access_denied"
    assert callback["error_description"] == NON_ADMIN_DESCRIPTION
    assert callback["state"] == "state-staff"
    assert "code" not in callback


def test_stand_in_other_seller_approves(client: WalmartClient) -> None:
    # Given the admin of a different seller account approves
    callback = approve(client, login=OTHER_ADMIN)

    # When the client exchanges the code and reads the profile
    tokens = client.exchange_code(callback["code"], callback["sellerId"])
    profile = client.partner_profile(tokens.access_token, callback["sellerId"])

    # Then the callback and the profile both name that other seller
    assert callback["sellerId"] == OTHER_ADMIN.seller_id
    assert profile.partner_id == OTHER_ADMIN.seller_id


def test_stand_in_unregistered_redirect_400(server: WalmartStandInServer, insecure_transport: None) -> None:
    # Given a client whose redirect URI is not the registered one
    rogue = make_client(server, redirect_uri="http://127.0.0.1:9/elsewhere")
    authorize_url = rogue.authorize_url(state="s", nonce="n")

    # When the browser opens the authorize URL and posts an approval to it
    page = requests.get(authorize_url, timeout=5, allow_redirects=False)
    decision = requests.post(
        authorize_url, data={"login": ADMIN.login, "decision": "approve"}, allow_redirects=False, timeout=5
    )

    # Then both return 400 pages naming redirectUri and neither redirects
    for response in (page, decision):
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert "redirectUri" in response.text


@pytest.mark.parametrize(
    ("name", "value"),
    [("responseType", "token"), ("clientId", "someone-else"), ("clientType", "buyer"), ("state", ""), ("nonce", "")],
)
def test_stand_in_invalid_authorize_query(client: WalmartClient, name: str, value: str) -> None:
    # Given an authorize URL with one invalid parameter
    parts = urlsplit(client.authorize_url(state="s", nonce="n"))
    query = {**dict(parse_qsl(parts.query)), name: value}

    # When the browser opens it
    response = requests.get(parts._replace(query="").geturl(), params=query, timeout=5, allow_redirects=False)

    # Then the stand-in returns a 400 page naming the parameter
    assert response.status_code == 400
    assert name in response.text


@pytest.mark.parametrize(
    ("login", "decision"),
    [(ADMIN.login, None), (ADMIN.login, "maybe"), ("nobody@acme.test", "approve"), (None, "approve")],
    ids=["no-decision", "unknown-decision", "unknown-login", "no-login"],
)
def test_stand_in_bad_consent_form_400(client: WalmartClient, login: str | None, decision: str | None) -> None:
    # Given the consent page
    authorize_url = client.authorize_url(state="s", nonce="n")

    # When the form is posted with a missing or unknown value
    response = submit_consent(authorize_url, login, decision)

    # Then the stand-in returns 400 without redirecting
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_stand_in_code_single_use(client: WalmartClient) -> None:
    # Given a code that was exchanged once
    callback = approve(client)
    client.exchange_code(callback["code"], callback["sellerId"])

    # When it is exchanged again
    # Then the stand-in rejects it as an invalid grant
    with pytest.raises(WalmartInvalidGrant):
        client.exchange_code(callback["code"], callback["sellerId"])


def test_stand_in_parallel_exchange_once(client: WalmartClient) -> None:
    # Given one code and eight threads that exchange it at the same time
    callback = approve(client)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def exchange() -> None:
        barrier.wait()
        try:
            client.exchange_code(callback["code"], callback["sellerId"])
            outcomes.append("tokens")
        except WalmartInvalidGrant:
            outcomes.append("invalid_grant")

    # When all threads finish
    threads = [threading.Thread(target=exchange) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    # Then exactly one exchange got tokens
    assert sorted(outcomes) == ["invalid_grant"] * 7 + ["tokens"]


def test_stand_in_expired_code(client: WalmartClient, clock: ShiftedClock) -> None:
    # Given a code, and the clock moved 16 minutes past its issue
    callback = approve(client)
    clock.offset = timedelta(minutes=16)

    # When the client exchanges it
    # Then the stand-in rejects it as an invalid grant
    with pytest.raises(WalmartInvalidGrant):
        client.exchange_code(callback["code"], callback["sellerId"])


def test_stand_in_code_valid_14_minutes(client: WalmartClient, clock: ShiftedClock) -> None:
    # Given a code, and the clock moved 14 minutes past its issue
    callback = approve(client)
    clock.offset = timedelta(minutes=14)

    # When the client exchanges it
    tokens = client.exchange_code(callback["code"], callback["sellerId"])

    # Then the exchange succeeds
    assert tokens.access_token


def test_stand_in_wrong_basic_auth_401(server: WalmartStandInServer, insecure_transport: None) -> None:
    # Given an approved code and a client with the wrong secret
    callback = approve(make_client(server))
    wrong = make_client(server, client_secret="not-the-secret")

    # When that client exchanges the code
    with pytest.raises(WalmartRejected) as raised:
        wrong.exchange_code(callback["code"], callback["sellerId"])

    # Then the stand-in returned 401 invalid_client
    assert raised.value.status_code == 401
    assert raised.value.error_code == "invalid_client"


def test_stand_in_missing_basic_auth_401(server: WalmartStandInServer) -> None:
    # Given a token request without an Authorization header
    # When it is posted
    response = token_post(server, WM_HEADERS, {"grant_type": "authorization_code", "code": "c", "redirect_uri": "r"})

    # Then the stand-in returns 401 with a JSON error and a Basic challenge
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("missing", ["WM_QOS.CORRELATION_ID", "WM_SVC.NAME", "WM_PARTNER.ID"])
def test_stand_in_missing_wm_header_400(client: WalmartClient, server: WalmartStandInServer, missing: str) -> None:
    # Given an approved code and a token request without one WM_ header
    callback = approve(client)
    headers = {name: value for name, value in WM_HEADERS.items() if name != missing}
    form = {"grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT_URI}

    # When it is posted with valid client credentials
    response = token_post(server, headers, form, auth=(CLIENT_ID, CLIENT_SECRET))

    # Then the stand-in returns 400 naming the header
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert missing in response.json()["error_description"]


def test_stand_in_redirect_uri_mismatch(server: WalmartStandInServer, insecure_transport: None) -> None:
    # Given a code issued for the registered redirect URI
    callback = approve(make_client(server))
    trailing_slash = make_client(server, redirect_uri=REDIRECT_URI + "/")

    # When a client configured with a different redirect URI exchanges it
    # Then the stand-in rejects it as an invalid grant
    with pytest.raises(WalmartInvalidGrant):
        trailing_slash.exchange_code(callback["code"], callback["sellerId"])


def test_stand_in_wrong_partner_id(client: WalmartClient) -> None:
    # Given a code approved by one seller
    callback = approve(client)

    # When the client exchanges it naming another seller in WM_PARTNER.ID
    # Then the stand-in rejects it as an invalid grant
    with pytest.raises(WalmartInvalidGrant):
        client.exchange_code(callback["code"], OTHER_ADMIN.seller_id)


def test_stand_in_unsupported_grant_type(server: WalmartStandInServer) -> None:
    # Given a token request with the password grant
    form = {"grant_type": "password", "username": "u", "password": "p"}

    # When it is posted with valid client credentials
    response = token_post(server, WM_HEADERS, form, auth=(CLIENT_ID, CLIENT_SECRET))

    # Then the stand-in returns 400 unsupported_grant_type
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_stand_in_refresh_omits_refresh_token(client: WalmartClient, server: WalmartStandInServer) -> None:
    # Given a refresh token
    callback = approve(client)
    tokens = client.exchange_code(callback["code"], callback["sellerId"])

    # When it is used with the refresh grant
    form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
    response = token_post(server, WM_HEADERS, form, auth=(CLIENT_ID, CLIENT_SECRET))

    # Then the response has a new access token only
    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "token_type", "expires_in"}


def test_stand_in_profile_unknown_token_401(client: WalmartClient) -> None:
    # Given an access token the stand-in never issued
    # When the client reads the profile with it
    with pytest.raises(WalmartRejected) as raised:
        client.partner_profile("never-issued", ADMIN.seller_id)

    # Then the stand-in returned 401
    assert raised.value.status_code == 401


def test_stand_in_profile_expired_token_401(client: WalmartClient, clock: ShiftedClock) -> None:
    # Given an access token, and the clock moved past its 900 seconds
    callback = approve(client)
    tokens = client.exchange_code(callback["code"], callback["sellerId"])
    clock.offset = timedelta(seconds=901)

    # When the client reads the profile with it
    with pytest.raises(WalmartRejected) as raised:
        client.partner_profile(tokens.access_token, ADMIN.seller_id)

    # Then the stand-in returned 401
    assert raised.value.status_code == 401


def test_stand_in_profile_records_headers(client: WalmartClient, app: WalmartStandIn) -> None:
    # Given an access token
    callback = approve(client)
    tokens = client.exchange_code(callback["code"], callback["sellerId"])

    # When the client reads the profile
    client.partner_profile(tokens.access_token, ADMIN.seller_id)

    # Then the request carried WM_SEC.ACCESS_TOKEN and no Authorization header
    recorded = app.profile_requests[-1]
    assert recorded.headers["WM_SEC.ACCESS_TOKEN"] == tokens.access_token
    assert "Authorization" not in recorded.headers


def test_stand_in_logins_json(server: WalmartStandInServer) -> None:
    # Given the seeded logins
    # When the list is requested
    response = requests.get(f"{server.url}/logins", timeout=5)

    # Then it lists every login with its seller id, role and name
    assert response.status_code == 200
    assert response.json()[:3] == [
        {"login": ADMIN.login, "sellerId": ADMIN.seller_id, "role": "admin", "name": ADMIN.display_name},
        {"login": STAFF.login, "sellerId": STAFF.seller_id, "role": "user", "name": STAFF.display_name},
        {
            "login": OTHER_ADMIN.login,
            "sellerId": OTHER_ADMIN.seller_id,
            "role": "admin",
            "name": OTHER_ADMIN.display_name,
        },
    ]
    assert len(response.json()) == 4


def test_stand_in_server_stops(app: WalmartStandIn) -> None:
    # Given a running stand-in on a free port
    server = WalmartStandInServer(app).start()
    url = server.url

    # When it is stopped
    server.stop()

    # Then the port no longer accepts connections
    assert urlsplit(url).port != 0
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/logins", timeout=2)


@pytest.mark.parametrize(
    ("missing", "status"),
    [("WM_SEC.ACCESS_TOKEN", 401), ("WM_QOS.CORRELATION_ID", 400), ("WM_SVC.NAME", 400)],
)
def test_stand_in_profile_missing_header(
    client: WalmartClient, server: WalmartStandInServer, missing: str, status: int
) -> None:
    # Given a valid access token and a profile request without one required header
    callback = approve(client)
    tokens = client.exchange_code(callback["code"], callback["sellerId"])
    headers = {**WM_HEADERS, "WM_SEC.ACCESS_TOKEN": tokens.access_token}
    del headers[missing]

    # When it is sent
    response = requests.get(f"{server.url}/v3/settings/partnerprofile", headers=headers, timeout=5)

    # Then the stand-in rejects it, naming the header
    assert response.status_code == status
    assert missing in response.json()["error_description"]
