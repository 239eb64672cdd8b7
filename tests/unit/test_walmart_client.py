"""Unit tests of the Walmart OAuth client, with HTTP intercepted by `responses` before any socket opens."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
import responses

from renewals.walmart import (
    PartnerProfile,
    WalmartClient,
    WalmartConfig,
    WalmartDeclined,
    WalmartError,
    WalmartInvalidGrant,
    WalmartMalformedResponse,
    WalmartRejected,
    WalmartTokens,
    WalmartUnavailable,
)

BASE_URL = "https://walmart.test"
TOKEN_URL = f"{BASE_URL}/v3/token"
PROFILE_URL = f"{BASE_URL}/v3/settings/partnerprofile"
REDIRECT_URI = "https://renewals.example.com/oauth/callback?source=walmart"
CODE = "code-5f1d9a7c3e"
ACCESS_TOKEN = "access-8c2e4b6d0f"
REFRESH_TOKEN = "refresh-1a3c5e7b9d"
CLIENT_SECRET = "client-secret-77ab"
SELLER_ID = "10001234"
TOKEN_BODY = {
    "access_token": ACCESS_TOKEN,
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": REFRESH_TOKEN,
}


@pytest.fixture
def config() -> WalmartConfig:
    return WalmartConfig(
        authorize_url="https://login.walmart.test/authorize",
        api_base_url=BASE_URL,
        client_id="client-1",
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        client_type="seller",
        service_name="Walmart Marketplace",
        market="us",
        timeout_seconds=4.5,
    )


@pytest.fixture
def client(config: WalmartConfig) -> WalmartClient:
    return WalmartClient(config)


@pytest.fixture
def walmart_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def sent_form(call: responses.Call) -> dict[str, list[str]]:
    return parse_qs(call.request.body, keep_blank_values=True)


def test_authorize_url_has_walmart_parameters(client: WalmartClient) -> None:
    # Given a client for the Walmart login host
    # When it builds the authorize URL
    url = client.authorize_url(state="state-abc", nonce="nonce-xyz")

    # Then the URL carries exactly Walmart's six camelCase parameters
    parts = urlsplit(url)
    parameters = parse_qsl(parts.query, keep_blank_values=True)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://login.walmart.test/authorize"
    assert [name for name, _ in parameters] == [
        "responseType",
        "clientId",
        "redirectUri",
        "clientType",
        "nonce",
        "state",
    ]
    assert dict(parameters) == {
        "responseType": "code",
        "clientId": "client-1",
        "redirectUri": REDIRECT_URI,
        "clientType": "seller",
        "nonce": "nonce-xyz",
        "state": "state-abc",
    }


def test_authorize_url_omits_rfc_names(client: WalmartClient) -> None:
    # Given a client
    # When it builds the authorize URL
    query = dict(parse_qsl(urlsplit(client.authorize_url(state="s", nonce="n")).query))

    # Then none of the RFC 6749 parameter names appear
    for rfc_name in ("response_type", "client_id", "redirect_uri", "scope"):
        assert rfc_name not in query


def test_authorize_url_keeps_configured_query(config: WalmartConfig) -> None:
    # Given an authorize URL that already carries a query parameter, and a stale clientId
    configured = WalmartConfig(
        authorize_url="https://login.walmart.test/authorize?locale=en-US&clientId=stale",
        api_base_url=config.api_base_url,
        client_id=config.client_id,
        client_secret=config.client_secret,
        redirect_uri=config.redirect_uri,
    )

    # When the client builds the authorize URL
    parameters = parse_qsl(urlsplit(WalmartClient(configured).authorize_url(state="s", nonce="n")).query)

    # Then the extra parameter stays and clientId appears once, with the configured value
    assert ("locale", "en-US") in parameters
    assert [value for name, value in parameters if name == "clientId"] == ["client-1"]


def test_exchange_code_sends_basic_auth(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart's token endpoint returns tokens
    walmart_api.post(TOKEN_URL, json=TOKEN_BODY)

    # When the client exchanges a code
    client.exchange_code(CODE, SELLER_ID)

    # Then the client authenticates with HTTP Basic and the client credentials
    expected = "Basic " + base64.b64encode(f"client-1:{CLIENT_SECRET}".encode()).decode()
    assert walmart_api.calls[0].request.headers["Authorization"] == expected


def test_exchange_code_sends_form_body(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart's token endpoint returns tokens
    walmart_api.post(TOKEN_URL, json=TOKEN_BODY)

    # When the client exchanges a code
    client.exchange_code(CODE, SELLER_ID)

    # Then the form body has exactly the grant type, the code and the configured redirect URI
    request = walmart_api.calls[0].request
    assert request.method == "POST"
    assert request.url == TOKEN_URL
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent_form(walmart_api.calls[0]) == {
        "grant_type": ["authorization_code"],
        "code": [CODE],
        "redirect_uri": [REDIRECT_URI],
    }
    assert CLIENT_SECRET not in request.body


def test_exchange_code_sends_wm_headers(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart's token endpoint returns tokens
    walmart_api.post(TOKEN_URL, json=TOKEN_BODY)

    # When the client exchanges a code
    client.exchange_code(CODE, SELLER_ID)

    # Then every WM_ header is present, with the callback's seller id as partner id
    headers = walmart_api.calls[0].request.headers
    assert uuid.UUID(headers["WM_QOS.CORRELATION_ID"]).version == 4
    assert headers["WM_SVC.NAME"] == "Walmart Marketplace"
    assert headers["WM_PARTNER.ID"] == SELLER_ID
    assert headers["WM_MARKET"] == "us"
    assert headers["Accept"] == "application/json"


def test_exchange_code_sets_timeout(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart's token endpoint returns tokens
    walmart_api.post(TOKEN_URL, json=TOKEN_BODY)

    # When the client exchanges a code
    client.exchange_code(CODE, SELLER_ID)

    # Then the request used the configured timeout
    assert walmart_api.calls[0].request.req_kwargs["timeout"] == 4.5


def test_exchange_code_new_correlation_id(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart's token endpoint returns tokens
    walmart_api.post(TOKEN_URL, json=TOKEN_BODY)

    # When the client exchanges two codes
    client.exchange_code(CODE, SELLER_ID)
    client.exchange_code("second-code", SELLER_ID)

    # Then each request carries its own correlation id
    first = walmart_api.calls[0].request.headers["WM_QOS.CORRELATION_ID"]
    second = walmart_api.calls[1].request.headers["WM_QOS.CORRELATION_ID"]
    assert first != second


def test_exchange_code_returns_tokens(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart's token endpoint returns tokens and a scope
    walmart_api.post(TOKEN_URL, json={**TOKEN_BODY, "scope": "reports orders"})

    # When the client exchanges a code
    tokens = client.exchange_code(CODE, SELLER_ID)

    # Then the result contains the tokens and their lifetime
    assert tokens == WalmartTokens(
        access_token=ACCESS_TOKEN,
        refresh_token=REFRESH_TOKEN,
        token_type="Bearer",
        expires_in=900,
        scope="reports orders",
    )


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
def test_exchange_code_server_error_unavailable(
    client: WalmartClient, walmart_api: responses.RequestsMock, status: int
) -> None:
    # Given Walmart's token endpoint fails
    walmart_api.post(TOKEN_URL, status=status, body="<html>Service Unavailable</html>")

    # When the client exchanges a code
    with pytest.raises(WalmartUnavailable) as raised:
        client.exchange_code(CODE, SELLER_ID)

    # Then the error carries the status and the correlation id that was sent
    assert raised.value.status_code == status
    assert raised.value.correlation_id == walmart_api.calls[0].request.headers["WM_QOS.CORRELATION_ID"]


@pytest.mark.parametrize("timeout", [requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout])
def test_exchange_code_timeout_unavailable(
    client: WalmartClient, walmart_api: responses.RequestsMock, timeout: type[Exception]
) -> None:
    # Given Walmart's token endpoint does not respond in time
    walmart_api.post(TOKEN_URL, body=timeout("timed out"))

    # When the client exchanges a code
    with pytest.raises(WalmartUnavailable) as raised:
        client.exchange_code(CODE, SELLER_ID)

    # Then the error message states that the request timed out
    assert "timed out" in str(raised.value)


def test_exchange_code_connection_error(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given the connection to Walmart fails
    walmart_api.post(TOKEN_URL, body=requests.exceptions.ConnectionError("connection refused"))

    # When the client exchanges a code
    # Then the client raises WalmartUnavailable
    with pytest.raises(WalmartUnavailable):
        client.exchange_code(CODE, SELLER_ID)


@pytest.mark.parametrize(
    "body",
    ["<html>OK</html>", "access_token=abc&expires_in=900&refresh_token=def", "[]", ""],
    ids=["html", "form-encoded", "json-list", "empty"],
)
def test_exchange_code_non_json_malformed(
    client: WalmartClient, walmart_api: responses.RequestsMock, body: str
) -> None:
    # Given Walmart returns 200 with a body that is not a JSON object
    walmart_api.post(TOKEN_URL, body=body, content_type="text/html")

    # When the client exchanges a code
    # Then the client raises WalmartMalformedResponse
    with pytest.raises(WalmartMalformedResponse):
        client.exchange_code(CODE, SELLER_ID)


@pytest.mark.parametrize("missing", ["access_token", "refresh_token", "expires_in"])
def test_exchange_code_missing_field_malformed(
    client: WalmartClient, walmart_api: responses.RequestsMock, missing: str
) -> None:
    # Given Walmart's token response lacks a required field
    body = {name: value for name, value in TOKEN_BODY.items() if name != missing}
    walmart_api.post(TOKEN_URL, json=body)

    # When the client exchanges a code
    with pytest.raises(WalmartMalformedResponse) as raised:
        client.exchange_code(CODE, SELLER_ID)

    # Then the error names the missing field
    assert missing in str(raised.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("expires_in", "soon"),
        ("expires_in", True),
        ("expires_in", 0),
        ("expires_in", None),
        ("access_token", 12345),
        ("access_token", ""),
        ("refresh_token", None),
        ("token_type", ["Bearer"]),
        ("scope", {"read": True}),
    ],
)
def test_exchange_code_wrong_type_malformed(
    client: WalmartClient, walmart_api: responses.RequestsMock, name: str, value: object
) -> None:
    # Given Walmart's token response has a field of the wrong type
    walmart_api.post(TOKEN_URL, json={**TOKEN_BODY, name: value})

    # When the client exchanges a code
    with pytest.raises(WalmartMalformedResponse) as raised:
        client.exchange_code(CODE, SELLER_ID)

    # Then the error names the field
    assert name in str(raised.value)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "invalid_grant", "error_description": "Authorization code expired"}),
        (401, {"error": "invalid_grant"}),
        (400, {"error": [{"code": "INVALID_GRANT", "description": "code already used"}]}),
        (400, {"errors": [{"code": "invalid_grant.GMP_GATEWAY_API", "field": "code"}]}),
    ],
    ids=["rfc-400", "rfc-401", "walmart-error-list", "walmart-errors-list"],
)
def test_exchange_code_invalid_grant(
    client: WalmartClient, walmart_api: responses.RequestsMock, status: int, body: dict[str, object]
) -> None:
    # Given Walmart rejects the code as invalid
    walmart_api.post(TOKEN_URL, status=status, json=body)

    # When the client exchanges the code
    with pytest.raises(WalmartInvalidGrant) as raised:
        client.exchange_code(CODE, SELLER_ID)

    # Then the error carries the status
    assert raised.value.status_code == status


def test_exchange_code_access_denied_declined(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart rejects the token request with an access_denied error
    walmart_api.post(TOKEN_URL, status=400, json={"error": "access_denied"})

    # When the client exchanges the code
    # Then the client raises WalmartDeclined
    with pytest.raises(WalmartDeclined):
        client.exchange_code(CODE, SELLER_ID)


def test_exchange_code_invalid_client_rejected(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart rejects the client credentials
    walmart_api.post(TOKEN_URL, status=401, json={"error": "invalid_client"})

    # When the client exchanges a code
    with pytest.raises(WalmartRejected) as raised:
        client.exchange_code(CODE, SELLER_ID)

    # Then the error carries the status and error code
    assert raised.value.status_code == 401
    assert raised.value.error_code == "invalid_client"


def test_exchange_code_error_in_200_body(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart returns 200 with an invalid_grant error body
    walmart_api.post(TOKEN_URL, json={"error": "invalid_grant"})

    # When the client exchanges a code
    # Then the client raises WalmartInvalidGrant
    with pytest.raises(WalmartInvalidGrant):
        client.exchange_code(CODE, SELLER_ID)


def test_refresh_keeps_refresh_token(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart returns, for a refresh, a new access token only
    walmart_api.post(TOKEN_URL, json={"access_token": "access-new", "token_type": "Bearer", "expires_in": 900})

    # When the client refreshes
    tokens = client.refresh_access_token(REFRESH_TOKEN, SELLER_ID)

    # Then the new access token comes with the refresh token that was sent
    assert tokens.access_token == "access-new"
    assert tokens.refresh_token == REFRESH_TOKEN
    assert tokens.expires_in == 900


def test_refresh_sends_walmart_request(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart returns, for a refresh, a new access token
    walmart_api.post(TOKEN_URL, json={"access_token": "access-new", "token_type": "Bearer", "expires_in": 900})

    # When the client refreshes
    client.refresh_access_token(REFRESH_TOKEN, SELLER_ID)

    # Then the request has the refresh grant, Basic auth and the WM_ headers
    request = walmart_api.calls[0].request
    assert sent_form(walmart_api.calls[0]) == {"grant_type": ["refresh_token"], "refresh_token": [REFRESH_TOKEN]}
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.headers["WM_PARTNER.ID"] == SELLER_ID
    assert request.headers["WM_SVC.NAME"] == "Walmart Marketplace"
    assert request.headers["WM_MARKET"] == "us"
    assert uuid.UUID(request.headers["WM_QOS.CORRELATION_ID"])
    assert request.req_kwargs["timeout"] == 4.5


def test_refresh_invalid_grant(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart rejects the refresh token
    walmart_api.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})

    # When the client refreshes
    # Then the client raises WalmartInvalidGrant
    with pytest.raises(WalmartInvalidGrant):
        client.refresh_access_token(REFRESH_TOKEN, SELLER_ID)


def test_partner_profile_parses_partner(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart returns a partner profile
    walmart_api.get(PROFILE_URL, json={"partner": {"partnerId": SELLER_ID, "partnerName": "Acme Outdoor"}})

    # When the client reads the profile
    profile = client.partner_profile(ACCESS_TOKEN, SELLER_ID)

    # Then the seller id and name come from the partner object
    assert profile == PartnerProfile(partner_id=SELLER_ID, display_name="Acme Outdoor")


def test_partner_profile_numeric_partner_id(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart returns the partner id as a JSON number and no name
    walmart_api.get(PROFILE_URL, json={"partner": {"partnerId": 10001234}})

    # When the client reads the profile
    profile = client.partner_profile(ACCESS_TOKEN, SELLER_ID)

    # Then the partner id is the same text as a callback's sellerId, and the name is absent
    assert profile.partner_id == "10001234"
    assert profile.display_name is None


@pytest.mark.parametrize(
    "body",
    [
        {"partner": {"partnerName": "Acme Outdoor"}},
        {"partner": {"partnerId": ""}},
        {"partner": {"partnerId": None}},
        {"partner": {"partnerId": True}},
        {"partner": "10001234"},
        {"partnerId": SELLER_ID},
        {},
    ],
)
def test_partner_profile_missing_partner_id(
    client: WalmartClient, walmart_api: responses.RequestsMock, body: dict[str, object]
) -> None:
    # Given Walmart returns a profile without a usable partner.partnerId
    walmart_api.get(PROFILE_URL, json=body)

    # When the client reads the profile
    # Then the client raises WalmartMalformedResponse
    with pytest.raises(WalmartMalformedResponse):
        client.partner_profile(ACCESS_TOKEN, SELLER_ID)


def test_partner_profile_non_json_malformed(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart returns an HTML page with status 200
    walmart_api.get(PROFILE_URL, body="<html>maintenance</html>", content_type="text/html")

    # When the client reads the profile
    # Then the client raises WalmartMalformedResponse
    with pytest.raises(WalmartMalformedResponse):
        client.partner_profile(ACCESS_TOKEN, SELLER_ID)


def test_partner_profile_sends_access_token(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart returns a partner profile
    walmart_api.get(PROFILE_URL, json={"partner": {"partnerId": SELLER_ID}})

    # When the client reads the profile
    client.partner_profile(ACCESS_TOKEN, SELLER_ID)

    # Then the token travels in WM_SEC.ACCESS_TOKEN with the WM_ headers, and no Authorization header is sent
    headers = walmart_api.calls[0].request.headers
    assert headers["WM_SEC.ACCESS_TOKEN"] == ACCESS_TOKEN
    assert "Authorization" not in headers
    assert uuid.UUID(headers["WM_QOS.CORRELATION_ID"])
    assert headers["WM_SVC.NAME"] == "Walmart Marketplace"
    assert headers["WM_PARTNER.ID"] == SELLER_ID
    assert headers["WM_MARKET"] == "us"
    assert headers["Accept"] == "application/json"
    assert walmart_api.calls[0].request.req_kwargs["timeout"] == 4.5


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(401, WalmartRejected), (403, WalmartRejected), (500, WalmartUnavailable), (503, WalmartUnavailable)],
)
def test_partner_profile_error_status(
    client: WalmartClient, walmart_api: responses.RequestsMock, status: int, error_type: type[WalmartError]
) -> None:
    # Given Walmart rejects the profile request with an error status
    walmart_api.get(PROFILE_URL, status=status, json={"error": "unauthorized"})

    # When the client reads the profile
    # Then the client raises the matching error
    with pytest.raises(error_type):
        client.partner_profile(ACCESS_TOKEN, SELLER_ID)


def test_partner_profile_timeout_unavailable(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart does not respond to the profile request in time
    walmart_api.get(PROFILE_URL, body=requests.exceptions.ReadTimeout("timed out"))

    # When the client reads the profile
    # Then the client raises WalmartUnavailable
    with pytest.raises(WalmartUnavailable):
        client.partner_profile(ACCESS_TOKEN, SELLER_ID)


def test_tokens_repr_hides_secrets() -> None:
    # Given tokens from Walmart
    tokens = WalmartTokens(access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN, token_type="Bearer", expires_in=900)

    # When they are formatted for a log or a traceback
    texts = [repr(tokens), str(tokens), f"{tokens}"]

    # Then neither token appears
    for text in texts:
        assert ACCESS_TOKEN not in text
        assert REFRESH_TOKEN not in text
        assert "expires_in=900" in text


def test_config_repr_hides_secret(config: WalmartConfig) -> None:
    # Given a client configuration
    # When it is formatted
    # Then the client secret does not appear
    assert CLIENT_SECRET not in repr(config)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "invalid_grant", "error_description": f"code {CODE} already used"}),
        (400, {"error": f"bad code {CODE}"}),
        (401, {"error": "invalid_client", "error_description": f"secret {CLIENT_SECRET} is wrong"}),
        (200, {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": f"{CODE}"}),
        (200, {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 900}),
        (200, {"error": "invalid_grant", "error_description": f"{CODE}", "access_token": ACCESS_TOKEN}),
        (500, {"error": "server_error", "error_description": f"{CODE} {ACCESS_TOKEN}"}),
    ],
)
def test_exchange_errors_omit_secret_values(
    client: WalmartClient, walmart_api: responses.RequestsMock, status: int, body: dict[str, object]
) -> None:
    # Given Walmart returns an error or a broken body that echoes the code, the token or the secret
    walmart_api.post(TOKEN_URL, status=status, body=json.dumps(body), content_type="application/json")

    # When the client exchanges the code
    with pytest.raises(WalmartError) as raised:
        client.exchange_code(CODE, SELLER_ID)

    # Then the error message and its repr contain none of those values
    for text in (str(raised.value), repr(raised.value)):
        assert CODE not in text
        assert ACCESS_TOKEN not in text
        assert CLIENT_SECRET not in text


def test_profile_errors_omit_access_token(client: WalmartClient, walmart_api: responses.RequestsMock) -> None:
    # Given Walmart rejects the access token and echoes it
    walmart_api.get(PROFILE_URL, status=401, json={"error": f"token {ACCESS_TOKEN} expired"})

    # When the client reads the profile
    with pytest.raises(WalmartError) as raised:
        client.partner_profile(ACCESS_TOKEN, SELLER_ID)

    # Then the error message does not contain the token
    assert ACCESS_TOKEN not in str(raised.value)


def test_exchange_logs_omit_secret_values(
    client: WalmartClient,
    walmart_api: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given DEBUG logging everywhere and Walmart accepting a code exchange and a profile request
    caplog.set_level(logging.DEBUG)
    walmart_api.post(TOKEN_URL, json=TOKEN_BODY)
    walmart_api.get(PROFILE_URL, json={"partner": {"partnerId": SELLER_ID}})

    # When the client exchanges the code and reads the profile
    tokens = client.exchange_code(CODE, SELLER_ID)
    client.partner_profile(tokens.access_token, SELLER_ID)

    # Then no log line contains the code, a token or the client secret
    logged = caplog.text + capsys.readouterr().out
    assert "walmart token response" in logged
    for secret in (CODE, ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET):
        assert secret not in logged


def test_client_rejects_http_api_url(config: WalmartConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an API base URL over plain http and no opt-in for insecure transport
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    insecure = WalmartConfig(
        authorize_url=config.authorize_url,
        api_base_url="http://walmart.test",
        client_id=config.client_id,
        client_secret=config.client_secret,
        redirect_uri=config.redirect_uri,
    )

    # When a client is created
    # Then it raises ValueError naming the https requirement
    with pytest.raises(ValueError, match="must use https"):
        WalmartClient(insecure)


@pytest.mark.parametrize("empty", ["client_id", "client_secret", "redirect_uri"])
def test_config_rejects_empty_value(config: WalmartConfig, empty: str) -> None:
    # Given a configuration with one empty required value
    values = {
        "authorize_url": config.authorize_url,
        "api_base_url": config.api_base_url,
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "redirect_uri": config.redirect_uri,
        empty: "",
    }

    # When it is created
    # Then it raises ValueError naming the field
    with pytest.raises(ValueError, match=empty):
        WalmartConfig(**values)
