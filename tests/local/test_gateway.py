"""Unit tests of the local gateway: routing, payload 2.0 events, response mapping and CORS, with fake handlers."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from werkzeug.test import Client

from local_stack.gateway import CorsPolicy, Gateway, InvalidLambdaResponse, map_lambda_result
from local_stack.jwt_issuer import JwtIssuer
from local_stack.template import HttpRoute, cors_configuration, http_routes

APP_ORIGIN = "http://127.0.0.1:3000"


class FakeFunction:
    """Records each event and returns a fixed result, or raises `error`."""

    def __init__(self, result: Any = None, error: Exception | None = None) -> None:
        self.result = {"statusCode": 200, "body": "ok"} if result is None else result
        self.error = error
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if self.error is not None:
            raise self.error
        return self.result


def route(method: str, path: str, function_id: str = "Fake", requires_jwt: bool = False) -> HttpRoute:
    return HttpRoute(
        function_id=function_id,
        code_uri=Path("functions/fake"),
        handler="app.lambda_handler",
        method=method,
        path=path,
        requires_jwt=requires_jwt,
    )


def gateway_client(
    function: FakeFunction,
    routes: list[HttpRoute] | None = None,
    cors: CorsPolicy | None = None,
    is_ready: bool = True,
) -> Client:
    routes = routes or [route("GET", "/items"), route("POST", "/r/{token}"), route("GET", "/r/{token}")]
    gateway = Gateway(
        routes=routes,
        functions={"Fake": function},
        authorizer=JwtIssuer("http://127.0.0.1:3000/_local").authorizer(),
        cors=cors,
        is_ready=lambda: is_ready,
    )
    # use_cookies=False keeps the Cookie header exactly as each test sends it.
    return Client(gateway, use_cookies=False)


def template_cors() -> CorsPolicy:
    return CorsPolicy.from_configuration(cors_configuration(), {"AppOrigin": APP_ORIGIN})


def test_form_post_arrives_base64() -> None:
    # Given a route for a form post
    function = FakeFunction()
    client = gateway_client(function)

    # When a browser posts a form
    client.post("/r/abc", data={"login": "a@b.example", "decision": "approve"})

    # Then the body arrives base64-encoded, as API Gateway sends non-text bodies
    event = function.events[0]
    assert event["isBase64Encoded"] is True
    assert parse_qs(base64.b64decode(event["body"]).decode()) == {"login": ["a@b.example"], "decision": ["approve"]}


def test_json_body_arrives_as_text() -> None:
    # Given a route for a post
    function = FakeFunction()
    client = gateway_client(function)

    # When a JSON body is posted
    client.post("/r/abc", json={"userId": "u1"})

    # Then the body stays text
    event = function.events[0]
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"userId": "u1"}


def test_invalid_utf8_text_arrives_base64() -> None:
    # Given a route for a post
    function = FakeFunction()
    client = gateway_client(function)

    # When a body labelled as JSON is not valid UTF-8
    response = client.post("/r/abc", data=b"\xff\xfe", content_type="application/json")

    # Then the handler still gets it, base64-encoded and byte for byte
    event = function.events[0]
    assert response.status_code == 200
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe"


def test_repeated_query_joined_with_commas() -> None:
    # Given a route
    function = FakeFunction()
    client = gateway_client(function)

    # When a query string repeats a name
    client.get("/items?state=one&state=two&code=x%2By")

    # Then queryStringParameters joins the values and rawQueryString keeps the original
    event = function.events[0]
    assert event["queryStringParameters"] == {"state": "one,two", "code": "x+y"}
    assert event["rawQueryString"] == "state=one&state=two&code=x%2By"


def test_cookies_move_to_cookie_list() -> None:
    # Given a route
    function = FakeFunction()
    client = gateway_client(function)

    # When the browser sends several cookies
    client.get("/items", headers={"Cookie": "first=1; second=2; third=3"})

    # Then the event lists them in `cookies` and drops the Cookie header
    event = function.events[0]
    assert event["cookies"] == ["first=1", "second=2", "third=3"]
    assert "cookie" not in event["headers"]


def test_request_headers_lowercased() -> None:
    # Given a route
    function = FakeFunction()
    client = gateway_client(function)

    # When a request carries mixed-case header names
    client.get("/items", headers={"X-Correlation-ID": "abc", "User-Agent": "pytest"})

    # Then the event's header names are lowercase, with values unchanged
    headers = function.events[0]["headers"]
    assert headers["x-correlation-id"] == "abc"
    assert headers["user-agent"] == "pytest"
    assert all(name == name.lower() for name in headers)


def test_request_context_describes_request() -> None:
    # Given a route with a path parameter
    function = FakeFunction()
    client = gateway_client(function)

    # When the route is called
    client.get("/r/tok%2Den")

    # Then the event carries the route key, the raw path, the decoded path parameter and requestContext.http
    event = function.events[0]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /r/{token}"
    assert event["rawPath"] == "/r/tok%2Den"
    assert event["pathParameters"] == {"token": "tok-en"}
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["headers"]["x-forwarded-proto"] == "http"


def test_two_cookies_two_set_cookie_headers() -> None:
    # Given a handler that sets two cookies
    function = FakeFunction({"statusCode": 302, "headers": {"Location": "/next"}, "cookies": ["a=1; Path=/", "b=2"]})
    client = gateway_client(function)

    # When it is called
    response = client.get("/items")

    # Then each cookie becomes its own Set-Cookie header
    assert response.status_code == 302
    assert response.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2"]
    assert response.headers["Location"] == "/next"


def test_base64_response_body_decoded() -> None:
    # Given a handler that returns a binary body
    payload = bytes(range(256))
    result = {"statusCode": 200, "body": base64.b64encode(payload).decode(), "isBase64Encoded": True}
    client = gateway_client(FakeFunction(result))

    # When it is called
    response = client.get("/items")

    # Then the client receives the decoded bytes
    assert response.data == payload


def test_response_headers_passed_through() -> None:
    # Given a handler that sets headers
    result = {"statusCode": 201, "headers": {"Content-Type": "text/html; charset=utf-8", "X-Extra": 7}, "body": "<p>"}
    client = gateway_client(FakeFunction(result))

    # When it is called
    response = client.get("/items")

    # Then status, headers and body arrive as returned
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["X-Extra"] == "7"
    assert response.get_data(as_text=True) == "<p>"


def test_result_without_status_is_json() -> None:
    # Given a handler that returns a plain object
    client = gateway_client(FakeFunction({"message": "hello"}))

    # When it is called
    response = client.get("/items")

    # Then API Gateway's rule applies: status 200 and the object as the JSON body
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.get_json() == {"message": "hello"}


def test_string_result_is_json_string() -> None:
    # Given a handler that returns a string
    client = gateway_client(FakeFunction("hello"))

    # When it is called
    response = client.get("/items")

    # Then the body is the string as JSON text
    assert response.status_code == 200
    assert response.get_data(as_text=True) == '"hello"'


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "200"},
        {"statusCode": 99},
        {"statusCode": True},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "cookies": "a=1"},
        {"statusCode": 200, "headers": {"X-List": ["a", "b"]}},
        {"statusCode": 200, "body": "***", "isBase64Encoded": True},
        {"statusCode": 200, "headers": ["X-A"]},
    ],
)
def test_malformed_result_rejected(result: dict[str, Any]) -> None:
    # Given a malformed handler result, when it is mapped, then it is rejected
    with pytest.raises(InvalidLambdaResponse):
        map_lambda_result(result)


def test_malformed_result_gives_500() -> None:
    # Given a handler whose result has no valid statusCode
    client = gateway_client(FakeFunction({"statusCode": "oops"}))

    # When it is called
    response = client.get("/items")

    # Then the client gets API Gateway's 500
    assert response.status_code == 500
    assert response.get_json() == {"message": "Internal Server Error"}


def test_handler_exception_gives_500(caplog: pytest.LogCaptureFixture) -> None:
    # Given a handler that raises
    client = gateway_client(FakeFunction(error=RuntimeError("boom")))

    # When it is called
    response = client.get("/items")

    # Then the client gets a bare 500 and the traceback goes to the log
    assert response.status_code == 500
    assert response.get_json() == {"message": "Internal Server Error"}
    assert "RuntimeError: boom" in caplog.text


def test_unknown_path_is_404() -> None:
    # Given a gateway
    function = FakeFunction()
    client = gateway_client(function)

    # When a path without a route is requested
    response = client.get("/nothing/here")

    # Then the response is API Gateway's 404 and no handler runs
    assert response.status_code == 404
    assert response.get_json() == {"message": "Not Found"}
    assert function.events == []


def test_wrong_method_is_404() -> None:
    # Given a GET-only route
    function = FakeFunction()
    client = gateway_client(function)

    # When it is called with DELETE
    response = client.delete("/items")

    # Then the response is 404, as HTTP APIs give for an unmatched method
    assert response.status_code == 404
    assert response.get_json() == {"message": "Not Found"}
    assert function.events == []


def test_literal_route_beats_parameter() -> None:
    # Given a literal route and a parameter route that both match /r/special
    function = FakeFunction()
    routes = [route("GET", "/r/{token}"), route("GET", "/r/special")]
    client = gateway_client(function, routes=routes)

    # When /r/special is requested
    client.get("/r/special")

    # Then the literal route is chosen
    assert function.events[0]["routeKey"] == "GET /r/special"


def test_parameter_matches_one_segment() -> None:
    # Given a route /r/{token}
    function = FakeFunction()
    client = gateway_client(function)

    # When the path has an extra segment
    response = client.get("/r/abc/extra")

    # Then it does not match
    assert response.status_code == 404


def test_not_ready_gives_503() -> None:
    # Given a gateway whose stack is still starting
    function = FakeFunction()
    client = gateway_client(function, is_ready=False)

    # When a route is called
    response = client.get("/items")

    # Then it returns 503 without running the handler
    assert response.status_code == 503
    assert function.events == []


def test_template_routes_unique_and_guarded() -> None:
    # Given the routes of template.yaml
    routes = http_routes()

    # When they are grouped by method and path
    keys = [f"{item.method} {item.path}" for item in routes]

    # Then every route is unique and the JSON API routes require the JWT authorizer
    assert len(keys) == len(set(keys))
    assert all(item.requires_jwt for item in routes if item.path.startswith("/api/"))
    assert not any(item.requires_jwt for item in routes if not item.path.startswith("/api/"))


def test_preflight_for_allowed_origin() -> None:
    # Given the template's CORS configuration
    function = FakeFunction()
    client = gateway_client(function, cors=template_cors())

    # When the app's origin sends a preflight without a token
    response = client.options("/items", headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST"})

    # Then the gateway returns 204 with the allowed methods and headers, and no handler runs
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,DELETE"
    assert response.headers["Access-Control-Allow-Headers"] == "authorization,content-type"
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert function.events == []


def test_preflight_other_origin_no_headers() -> None:
    # Given the template's CORS configuration
    client = gateway_client(FakeFunction(), cors=template_cors())

    # When another origin sends a preflight
    response = client.options(
        "/items", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )

    # Then the response carries no CORS headers
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


def test_cors_headers_on_allowed_response() -> None:
    # Given a handler that sets its own CORS header
    result = {"statusCode": 429, "headers": {"Retry-After": "60", "Access-Control-Allow-Origin": "*"}, "body": ""}
    client = gateway_client(FakeFunction(result), cors=template_cors())

    # When the app's origin calls it
    response = client.get("/items", headers={"Origin": APP_ORIGIN})

    # Then the configured CORS headers replace the handler's
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert response.headers["Access-Control-Expose-Headers"] == "retry-after"
    assert response.headers.getlist("Access-Control-Allow-Origin") == [APP_ORIGIN]


def test_cors_absent_for_other_origin() -> None:
    # Given a handler that sets its own CORS header
    result = {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"}, "body": ""}
    client = gateway_client(FakeFunction(result), cors=template_cors())

    # When another origin calls it
    response = client.get("/items", headers={"Origin": "http://evil.example"})

    # Then the response carries no CORS headers at all
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Expose-Headers" not in response.headers


def test_cors_origin_parameter_required() -> None:
    # Given a CORS configuration that refers to a parameter without a local value, when it is resolved
    with pytest.raises(ValueError, match="AppOrigin"):
        CorsPolicy.from_configuration(cors_configuration(), {})
