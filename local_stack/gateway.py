"""Local stand-in for the HttpApi: routes from template.yaml, payload 2.0 events, the JWT authorizer and CORS.

The gateway follows API Gateway's behaviour for HTTP APIs wherever a handler or a client can tell the difference:
- a path or method without a route gets 404 `{"message":"Not Found"}`;
- a guarded route without a valid bearer token gets 401 `{"message":"Unauthorized"}` and the handler is not called;
- a CORS preflight gets 204 from the gateway itself, and CORS headers from a handler are replaced by the
  configured ones;
- a handler that raises, times out or returns a malformed result gets 500 `{"message":"Internal Server Error"}`;
- a handler result without `statusCode` becomes a 200 JSON response whose body is the result.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, unquote

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local_stack.events import HttpRequest, build_http_event
from local_stack.jwt_issuer import JwtAuthorizer, JwtRejected, event_claims
from local_stack.template import HttpRoute

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

# WSGI environ key under which the gateway's server keeps request headers with their names as sent.
RAW_HEADERS_KEY = "local_gateway.raw_headers"
ANY_METHOD = "ANY"


class Invoker(Protocol):
    """Something that runs a function for an event and returns the handler's result, such as a FunctionPool."""

    def invoke(self, event: dict[str, Any]) -> Any: ...


class InvalidLambdaResponse(ValueError):
    """Raised when a handler result is not a response API Gateway can map."""


class _NoDefaultContentType(Response):
    # API Gateway passes on the handler's headers as they are, so no Content-Type is added when the handler set none.
    default_mimetype = None


def _json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(json.dumps(payload), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# ------------------------------------------------------------------ routes


@dataclass(frozen=True)
class _CompiledRoute:
    route: HttpRoute
    pattern: re.Pattern[str]
    parameter_names: tuple[str, ...]
    literal_segments: int

    @property
    def route_key(self) -> str:
        return f"{self.route.method} {self.route.path}"


def _compile(route: HttpRoute) -> _CompiledRoute:
    """Turn a path template such as /r/{token} or /files/{proxy+} into a regular expression over the raw path."""
    parts = []
    names = []
    literals = 0
    for segment in route.path.strip("/").split("/"):
        match = re.fullmatch(r"\{([^{}+]+)(\+?)\}", segment)
        if match is None:
            parts.append(re.escape(segment))
            literals += 1
        elif match.group(2):
            parts.append(f"(?P<p{len(names)}>.+)")
            names.append(match.group(1))
        else:
            parts.append(f"(?P<p{len(names)}>[^/]+)")
            names.append(match.group(1))
    pattern = re.compile("/" + "/".join(parts) if parts != [""] else "/")
    return _CompiledRoute(route=route, pattern=pattern, parameter_names=tuple(names), literal_segments=literals)


class RouteTable:
    """The routes of the HttpApi. When several match, the one with the most literal path segments wins."""

    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        compiled = [_compile(route) for route in routes]
        self._routes = sorted(compiled, key=lambda item: -item.literal_segments)

    def match(self, method: str, raw_path: str) -> tuple[_CompiledRoute, dict[str, str]] | None:
        """Return the route for the method and raw (still percent-encoded) path with its decoded path parameters."""
        for compiled in self._routes:
            if compiled.route.method not in (method, ANY_METHOD):
                continue
            found = compiled.pattern.fullmatch(raw_path)
            if found is None:
                continue
            parameters = {
                name: unquote(found.group(f"p{index}")) for index, name in enumerate(compiled.parameter_names)
            }
            return compiled, parameters
        return None


# ------------------------------------------------------------------ CORS


@dataclass(frozen=True)
class CorsPolicy:
    """The HttpApi's CorsConfiguration with its origins resolved."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any], parameters: Mapping[str, str]) -> CorsPolicy:
        """Build the policy from a template CorsConfiguration, resolving `!Ref` origins through `parameters`."""
        origins = []
        for origin in configuration.get("AllowOrigins", []):
            if isinstance(origin, dict) and "Ref" in origin:
                name = origin["Ref"]
                if name not in parameters:
                    raise ValueError(f"CorsConfiguration origin refers to parameter {name}, which has no local value")
                origins.append(parameters[name])
            else:
                origins.append(str(origin))
        max_age = configuration.get("MaxAge")
        return cls(
            allow_origins=tuple(origins),
            allow_methods=tuple(str(method).upper() for method in configuration.get("AllowMethods", [])),
            allow_headers=tuple(str(header).lower() for header in configuration.get("AllowHeaders", [])),
            expose_headers=tuple(str(header).lower() for header in configuration.get("ExposeHeaders", [])),
            max_age=int(max_age) if max_age is not None else None,
            allow_credentials=bool(configuration.get("AllowCredentials", False)),
        )

    def allows(self, origin: str | None) -> bool:
        return origin is not None and (origin in self.allow_origins or "*" in self.allow_origins)

    def preflight_headers(self, origin: str) -> dict[str, str]:
        headers = {"Access-Control-Allow-Origin": origin}
        if self.allow_methods:
            headers["Access-Control-Allow-Methods"] = ",".join(self.allow_methods)
        if self.allow_headers:
            headers["Access-Control-Allow-Headers"] = ",".join(self.allow_headers)
        if self.max_age is not None:
            headers["Access-Control-Max-Age"] = str(self.max_age)
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    def response_headers(self, origin: str) -> dict[str, str]:
        headers = {"Access-Control-Allow-Origin": origin}
        if self.expose_headers:
            headers["Access-Control-Expose-Headers"] = ",".join(self.expose_headers)
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers


# ------------------------------------------------------------------ responses


def map_lambda_result(result: Any) -> Response:
    """Build the HTTP response API Gateway makes from a payload 2.0 handler result.

    A dict with `statusCode` gives the status, `headers`, one Set-Cookie header per item of `cookies`, and a body
    decoded from base64 when `isBase64Encoded` is true. Any other JSON value becomes a 200 response with
    content type application/json whose body is that value as JSON text.
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        try:
            body = json.dumps(result)
        except (TypeError, ValueError) as error:
            raise InvalidLambdaResponse(f"the result is not JSON-serializable: {error}") from None
        return Response(body, status=200, mimetype="application/json")

    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidLambdaResponse(f"statusCode must be an integer from 100 to 599, got {status!r}")

    response = _NoDefaultContentType(status=status)
    headers = result.get("headers") or {}
    if not isinstance(headers, dict):
        raise InvalidLambdaResponse("headers must be an object of header names to values")
    for name, value in headers.items():
        if isinstance(value, dict | list):
            raise InvalidLambdaResponse(f"header {name} must have a single value, got {type(value).__name__}")
        response.headers.add(str(name), _header_text(value))

    cookies = result.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(cookie, str) for cookie in cookies):
        raise InvalidLambdaResponse("cookies must be a list of Set-Cookie strings")
    for cookie in cookies:
        response.headers.add("Set-Cookie", cookie)

    body = result.get("body")
    if body is None:
        response.set_data(b"")
    elif not isinstance(body, str):
        raise InvalidLambdaResponse(f"body must be a string, got {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        try:
            response.set_data(base64.b64decode(body, validate=True))
        except binascii.Error:
            raise InvalidLambdaResponse("isBase64Encoded is true but the body is not valid base64") from None
    else:
        response.set_data(body.encode("utf-8"))
    return response


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# ------------------------------------------------------------------ the gateway


class Gateway:
    """WSGI application that invokes the functions of the template's HttpApi routes.

    `local_handler` serves the local-only routes: it returns a response for the paths it owns and None for
    every other path. Until `is_ready` returns True, every other route gets 503.
    """

    def __init__(
        self,
        routes: Sequence[HttpRoute],
        functions: Mapping[str, Invoker],
        authorizer: JwtAuthorizer | None,
        cors: CorsPolicy | None = None,
        local_handler: Callable[[Request], Response | None] | None = None,
        is_ready: Callable[[], bool] = lambda: True,
    ) -> None:
        missing = sorted({route.function_id for route in routes} - set(functions))
        if missing:
            raise ValueError(f"routes name functions without an invoker: {', '.join(missing)}")
        if authorizer is None and any(route.requires_jwt for route in routes):
            raise ValueError("some routes require the JWT authorizer, but no authorizer was given")
        self._routes = RouteTable(routes)
        self._functions = functions
        self._authorizer = authorizer
        self._cors = cors
        self._local_handler = local_handler
        self._is_ready = is_ready

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Return the response to one request."""
        if self._local_handler is not None:
            local_response = self._local_handler(request)
            if local_response is not None:
                return local_response

        started = time.monotonic()
        origin = request.headers.get("Origin")
        if self._is_preflight(request):
            response = _NoDefaultContentType(status=204)
            if self._cors is not None and self._cors.allows(origin):
                response.headers.update(self._cors.preflight_headers(origin or ""))
            route_key = "OPTIONS (CORS preflight)"
        else:
            if not self._is_ready():
                response, route_key = _json_response(503, {"message": "Service Unavailable"}), "-"
            else:
                response, route_key = self._route(request)
            if self._cors is not None:
                self._apply_cors(response, origin)

        response.headers["Apigw-Requestid"] = base64.urlsafe_b64encode(uuid.uuid4().bytes[:12]).decode("ascii")
        log.info(
            "request handled method=%s route=%s status=%d duration_ms=%.0f",
            request.method,
            route_key,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    def _is_preflight(self, request: Request) -> bool:
        return (
            self._cors is not None
            and request.method == "OPTIONS"
            and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers
        )

    def _apply_cors(self, response: Response, origin: str | None) -> None:
        # API Gateway ignores CORS headers from the integration once CORS is configured on the API.
        for name in {name for name, _ in response.headers.items() if name.lower().startswith("access-control-")}:
            del response.headers[name]
        if self._cors is not None and self._cors.allows(origin):
            response.headers.update(self._cors.response_headers(origin or ""))

    def _route(self, request: Request) -> tuple[Response, str]:
        raw_path = _raw_path(request.environ)
        matched = self._routes.match(request.method, raw_path)
        if matched is None:
            return _json_response(404, {"message": "Not Found"}), "-"
        compiled, path_parameters = matched
        route = compiled.route

        claims = None
        if route.requires_jwt:
            assert self._authorizer is not None
            try:
                claims = event_claims(self._authorizer.verify(request.headers.get("Authorization")))
            except JwtRejected as rejection:
                challenge = f'Bearer scope="" error="invalid_token" error_description="{rejection.reason}"'
                response = _json_response(401, {"message": "Unauthorized"}, {"WWW-Authenticate": challenge})
                return response, compiled.route_key

        event = build_http_event(
            _http_request(request, raw_path),
            compiled.route_key,
            path_parameters=path_parameters or None,
            jwt_claims=claims,
            domain_name=request.host.split(":")[0],
        )
        try:
            result = self._functions[route.function_id].invoke(event)
            response = map_lambda_result(result)
        except Exception:
            # The traceback goes to the log as Lambda's would go to CloudWatch; the client learns nothing.
            log.exception("handler failed function=%s route=%s", route.function_id, compiled.route_key)
            response = _json_response(500, {"message": "Internal Server Error"})
        return response, compiled.route_key


def _raw_path(environ: WSGIEnvironment) -> str:
    """Return the request path as sent, still percent-encoded, like the event's rawPath."""
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw_uri:
        return raw_uri.split("?", 1)[0] or "/"
    return quote(environ.get("PATH_INFO", "/"))


def _http_request(request: Request, raw_path: str) -> HttpRequest:
    raw_headers = request.environ.get(RAW_HEADERS_KEY)
    headers = list(raw_headers) if raw_headers is not None else list(request.headers.items())
    # API Gateway adds these for every request; the handlers see them as they would in AWS.
    headers += [
        ("X-Forwarded-For", request.remote_addr or "127.0.0.1"),
        ("X-Forwarded-Port", str(request.environ.get("SERVER_PORT", ""))),
        ("X-Forwarded-Proto", request.scheme),
    ]
    return HttpRequest(
        method=request.method,
        path=raw_path,
        raw_query=request.environ.get("QUERY_STRING", ""),
        headers=headers,
        body=request.get_data(),
        source_ip=request.remote_addr or "127.0.0.1",
    )


# ------------------------------------------------------------------ server


class _GatewayRequestHandler(WSGIRequestHandler):
    """Request handler that keeps headers as sent and leaves request logging to the gateway.

    werkzeug 3.1 drops request headers whose names contain "_", which API Gateway passes on, so the raw list is
    kept for the event. werkzeug's own request line would log query strings and magic-link paths, which carry
    tokens and OAuth codes, so it is switched off.
    """

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        environ[RAW_HEADERS_KEY] = list(self.headers.items())
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class ThreadedServer:
    """A threaded werkzeug server on 127.0.0.1 running in a daemon thread. Port 0 picks a free port."""

    def __init__(self, app: Callable[..., Iterable[bytes]], port: int, name: str) -> None:
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=_GatewayRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThreadedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        else:
            self._server.server_close()
