"""Stand-in for Walmart's authorization server, used by the local stack and tests. Never deployed.

It speaks the parts of Walmart's protocol that the service uses:
- `GET /authorize` shows a sign-in and consent page with seeded Seller Center logins, and `POST /authorize`
  (the page's Approve and Decline buttons) redirects to the registered redirect URI with a code or an error;
- `POST /v3/token` exchanges a code or a refresh token, checking HTTP Basic client authentication, the `WM_*`
  headers, the redirect URI bound to the code and single use of codes;
- `GET /v3/settings/partnerprofile` returns the seller of the access token in `WM_SEC.ACCESS_TOKEN`;
- `GET /logins` lists the seeded logins as JSON.

All state is in memory, guarded by one lock, so the app is safe under a threaded server.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

CODE_LIFETIME = timedelta(minutes=15)
ACCESS_TOKEN_LIFETIME = timedelta(seconds=900)
REFRESH_TOKEN_LIFETIME = timedelta(days=365)
# Headers that Walmart requires on every token request. WM_MARKET is sent by the client and recorded, not required.
REQUIRED_TOKEN_HEADERS = ("WM_QOS.CORRELATION_ID", "WM_SVC.NAME", "WM_PARTNER.ID")
REQUIRED_API_HEADERS = ("WM_QOS.CORRELATION_ID", "WM_SVC.NAME")
# WSGI environ key under which the stand-in's server keeps request headers with their names as sent.
RAW_HEADERS_KEY = "walmart_stand_in.raw_headers"
NON_ADMIN_DESCRIPTION = "Only the main Seller Center login can approve this app"
DECLINED_DESCRIPTION = "The seller declined access to the app"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SellerLogin:
    """Seller Center login offered on the consent page. `role` is "admin" (the main login) or "user"."""

    login: str
    seller_id: str
    role: str
    display_name: str

    def __post_init__(self) -> None:
        if self.role not in ("admin", "user"):
            raise ValueError(f"SellerLogin.role must be 'admin' or 'user', got {self.role!r} for {self.login!r}")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class StandInConfig:
    """Client registration, seeded logins and clock of the stand-in. `now` returns an aware UTC datetime."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    logins: Sequence[SellerLogin]
    now: Callable[[], datetime] = _utc_now


@dataclass(frozen=True)
class RecordedRequest:
    """Headers and form fields of one request, kept in memory for tests to inspect.

    `headers` looks names up case-insensitively. Behind WalmartStandInServer it contains every name as sent.
    Behind another WSGI server it contains the names that server passes on.
    """

    headers: Headers
    form: dict[str, str]


@dataclass
class _IssuedCode:
    client_id: str
    redirect_uri: str
    seller_id: str
    expires_at: datetime
    used: bool = False


@dataclass(frozen=True)
class _IssuedToken:
    seller_id: str
    expires_at: datetime


class WalmartStandIn:
    """WSGI application of the stand-in. Create it with `create_walmart_app`."""

    def __init__(self, config: StandInConfig) -> None:
        self.config = config
        self._logins = {login.login: login for login in config.logins}
        # The first login of a seller names the seller in the partner profile.
        self._seller_names: dict[str, str] = {}
        for login in config.logins:
            self._seller_names.setdefault(login.seller_id, login.display_name)
        self._lock = threading.Lock()
        self._codes: dict[str, _IssuedCode] = {}
        self._access_tokens: dict[str, _IssuedToken] = {}
        self._refresh_tokens: dict[str, _IssuedToken] = {}
        self._token_requests: list[RecordedRequest] = []
        self._profile_requests: list[RecordedRequest] = []
        self._url_map = Map(
            [
                Rule("/authorize", methods=["GET"], endpoint=self._show_consent_page),
                Rule("/authorize", methods=["POST"], endpoint=self._decide_consent),
                Rule("/logins", methods=["GET"], endpoint=self._list_logins),
                Rule("/v3/token", methods=["POST"], endpoint=self._issue_token),
                Rule("/v3/settings/partnerprofile", methods=["GET"], endpoint=self._show_partner_profile),
            ]
        )

    @property
    def token_requests(self) -> list[RecordedRequest]:
        """Every request to `/v3/token` so far, oldest first, including rejected ones."""
        with self._lock:
            return list(self._token_requests)

    @property
    def profile_requests(self) -> list[RecordedRequest]:
        """Every request to `/v3/settings/partnerprofile` so far, oldest first."""
        with self._lock:
            return list(self._profile_requests)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        adapter = self._url_map.bind_to_environ(environ)
        try:
            handler, _ = adapter.match()
            response = handler(request)
        except HTTPException as error:
            response = error.get_response(environ)
        return response(environ, start_response)

    def _now(self) -> datetime:
        now = self.config.now()
        if now.tzinfo is None:
            raise ValueError("StandInConfig.now returned a naive datetime. Return an aware UTC datetime.")
        return now.astimezone(UTC)

    # Authorization endpoint

    def _show_consent_page(self, request: Request) -> Response:
        problem = self._check_authorize_query(request.args)
        if problem:
            return _bad_request_page("Invalid Walmart sign-in request", problem)

        rows = []
        first_admin = next((login for login in self.config.logins if login.is_admin), None)
        for login in self.config.logins:
            checked = " checked" if login is first_admin else ""
            role = "main (admin) login" if login.is_admin else "additional user, not admin"
            rows.append(
                "<li><label>"
                f'<input type="radio" name="login" value="{escape(login.login)}"{checked}> '
                f"<strong>{escape(login.login)}</strong> - seller {escape(login.seller_id)} "
                f"({escape(login.display_name)}), {role}"
                "</label></li>"
            )
        action = "/authorize?" + request.query_string.decode("latin-1")
        body = (
            f"<p>The app with client id <code>{escape(request.args['clientId'])}</code> requests access to your "
            "Walmart Marketplace seller account.</p>"
            "<p>Only the main (admin) Seller Center login of a seller account can approve an app.</p>"
            f'<form method="post" action="{escape(action)}">'
            f"<ul>{''.join(rows)}</ul>"
            '<button type="submit" name="decision" value="approve">Approve</button> '
            '<button type="submit" name="decision" value="decline">Decline</button>'
            "</form>"
        )
        return _html_page("Sign in to Walmart Seller Center", body)

    def _decide_consent(self, request: Request) -> Response:
        problem = self._check_authorize_query(request.args)
        if problem:
            return _bad_request_page("Invalid Walmart sign-in request", problem)

        redirect_uri = request.args["redirectUri"]
        state = request.args["state"]
        decision = request.form.get("decision")
        if decision not in ("approve", "decline"):
            message = f"Form field decision must be approve or decline, got {decision!r}."
            return _bad_request_page("Invalid Walmart sign-in request", message)
        if decision == "decline":
            return _redirect_with_denial(redirect_uri, DECLINED_DESCRIPTION, state)

        login = self._logins.get(request.form.get("login", ""))
        if login is None:
            message = f"Login {request.form.get('login', '')!r} is not a seeded Seller Center login."
            # Logins are usually email addresses, so the log line leaves the value out.
            return _bad_request_page("Unknown login", message, log_message="form field login is not a seeded login")
        if not login.is_admin:
            # Walmart documents that only the main login can approve but not what it redirects with when another
            # login tries, so the stand-in uses the RFC 6749 access_denied error response.
            return _redirect_with_denial(redirect_uri, NON_ADMIN_DESCRIPTION, state)

        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _IssuedCode(
                client_id=request.args["clientId"],
                redirect_uri=redirect_uri,
                seller_id=login.seller_id,
                expires_at=self._now() + CODE_LIFETIME,
            )
        log.info("walmart stand-in issued a code for seller %s", login.seller_id)
        return _redirect(
            redirect_uri,
            [
                ("code", code),
                ("type", "auth"),
                ("clientId", request.args["clientId"]),
                ("sellerId", login.seller_id),
                ("state", state),
            ],
        )

    def _check_authorize_query(self, args: Mapping[str, str]) -> str | None:
        """Return what is wrong with an authorize query, or None when it is valid."""
        if args.get("responseType") != "code":
            return f"Query parameter responseType must be 'code', got {args.get('responseType')!r}."
        if args.get("clientId") != self.config.client_id:
            return f"Query parameter clientId {args.get('clientId')!r} is not a registered client id."
        if args.get("redirectUri") != self.config.redirect_uri:
            return (
                f"Query parameter redirectUri {args.get('redirectUri')!r} is not the redirect URI registered for "
                "this client, so Walmart does not redirect to it."
            )
        if args.get("clientType") != "seller":
            return f"Query parameter clientType must be 'seller', got {args.get('clientType')!r}."
        for name in ("state", "nonce"):
            if not args.get(name):
                return f"Query parameter {name} is missing."
        return None

    def _list_logins(self, request: Request) -> Response:
        logins = [
            {"login": login.login, "sellerId": login.seller_id, "role": login.role, "name": login.display_name}
            for login in self.config.logins
        ]
        return Response(json.dumps(logins), mimetype="application/json")

    # Token endpoint and API

    def _issue_token(self, request: Request) -> Response:
        with self._lock:
            self._token_requests.append(RecordedRequest(headers=_sent_headers(request), form=dict(request.form)))

        authorization = request.authorization
        if (
            authorization is None
            or authorization.type != "basic"
            or not hmac.compare_digest(authorization.username or "", self.config.client_id)
            or not hmac.compare_digest(authorization.password or "", self.config.client_secret)
        ):
            response = _json_error(401, "invalid_client", "HTTP Basic client authentication is missing or invalid")
            response.headers["WWW-Authenticate"] = 'Basic realm="walmart"'
            return response
        missing = [name for name in REQUIRED_TOKEN_HEADERS if not request.headers.get(name)]
        if missing:
            return _json_error(400, "invalid_request", f"Missing header {missing[0]}")

        grant_type = request.form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(request)
        if grant_type == "refresh_token":
            return self._refresh(request)
        if not grant_type:
            return _json_error(400, "invalid_request", "Missing form field grant_type")
        return _json_error(400, "unsupported_grant_type", f"Grant type {grant_type!r} is not supported")

    def _exchange_code(self, request: Request) -> Response:
        code = request.form.get("code")
        redirect_uri = request.form.get("redirect_uri")
        partner_id = request.headers["WM_PARTNER.ID"]
        if not code or not redirect_uri:
            return _json_error(400, "invalid_request", "Form fields code and redirect_uri are required")

        now = self._now()
        with self._lock:
            issued = self._codes.get(code)
            if issued is None:
                return _json_error(400, "invalid_grant", "Authorization code is unknown")
            if issued.used:
                return _json_error(400, "invalid_grant", "Authorization code was already used")
            # A code counts as used from its first presentation, even when that exchange fails.
            issued.used = True
            if now >= issued.expires_at:
                return _json_error(400, "invalid_grant", "Authorization code expired")
            if issued.client_id != self.config.client_id:
                return _json_error(400, "invalid_grant", "Authorization code was issued to another client")
            if redirect_uri != issued.redirect_uri:
                return _json_error(400, "invalid_grant", "redirect_uri does not match the authorization request")
            if partner_id != issued.seller_id:
                return _json_error(400, "invalid_grant", "WM_PARTNER.ID is not the seller that approved the code")

            access_token = self._new_access_token(issued.seller_id, now)
            refresh_token = secrets.token_urlsafe(32)
            self._refresh_tokens[refresh_token] = _IssuedToken(issued.seller_id, now + REFRESH_TOKEN_LIFETIME)

        log.info("walmart stand-in exchanged a code for seller %s", partner_id)
        return _json_response(
            200,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
                "refresh_token": refresh_token,
            },
        )

    def _refresh(self, request: Request) -> Response:
        refresh_token = request.form.get("refresh_token")
        partner_id = request.headers["WM_PARTNER.ID"]
        if not refresh_token:
            return _json_error(400, "invalid_request", "Form field refresh_token is required")

        now = self._now()
        with self._lock:
            issued = self._refresh_tokens.get(refresh_token)
            if issued is None or now >= issued.expires_at:
                return _json_error(400, "invalid_grant", "Refresh token is unknown or expired")
            if partner_id != issued.seller_id:
                return _json_error(400, "invalid_grant", "WM_PARTNER.ID is not the seller of the refresh token")
            access_token = self._new_access_token(issued.seller_id, now)

        # Walmart returns a new access token only for a refresh, so the response has no refresh_token.
        return _json_response(
            200,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
            },
        )

    def _new_access_token(self, seller_id: str, now: datetime) -> str:
        """Issue an access token. The caller holds the lock."""
        access_token = secrets.token_urlsafe(32)
        self._access_tokens[access_token] = _IssuedToken(seller_id, now + ACCESS_TOKEN_LIFETIME)
        return access_token

    def _show_partner_profile(self, request: Request) -> Response:
        with self._lock:
            self._profile_requests.append(RecordedRequest(headers=_sent_headers(request), form={}))

        access_token = request.headers.get("WM_SEC.ACCESS_TOKEN")
        if not access_token:
            return _json_error(401, "invalid_token", "Missing header WM_SEC.ACCESS_TOKEN")
        missing = [name for name in REQUIRED_API_HEADERS if not request.headers.get(name)]
        if missing:
            return _json_error(400, "invalid_request", f"Missing header {missing[0]}")

        with self._lock:
            issued = self._access_tokens.get(access_token)
        if issued is None or self._now() >= issued.expires_at:
            return _json_error(401, "invalid_token", "Access token is unknown or expired")
        partner = {"partnerId": issued.seller_id, "partnerName": self._seller_names[issued.seller_id]}
        return _json_response(200, {"partner": partner})


def create_walmart_app(config: StandInConfig) -> WalmartStandIn:
    """Build the stand-in's WSGI application from its configuration."""
    return WalmartStandIn(config)


def _redirect_with_denial(redirect_uri: str, description: str, state: str) -> Response:
    return _redirect(redirect_uri, [("error", "access_denied"), ("error_description", description), ("state", state)])


def _sent_headers(request: Request) -> Headers:
    raw = request.environ.get(RAW_HEADERS_KEY)
    return Headers(raw if raw is not None else request.headers)


def _redirect(redirect_uri: str, parameters: list[tuple[str, str]]) -> Response:
    """Redirect to `redirect_uri` with `parameters` appended to any query it already has."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + parameters
    location = urlunsplit(parts._replace(query=urlencode(query)))
    return Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def _html_page(title: str, body: str, status: int = 200) -> Response:
    """Render a page. `body` is HTML that the caller has already escaped."""
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return Response(page, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})


def _json_response(status: int, payload: Any) -> Response:
    return Response(
        json.dumps(payload), status=status, mimetype="application/json", headers={"Cache-Control": "no-store"}
    )


def _bad_request_page(title: str, message: str, log_message: str | None = None) -> Response:
    log.warning("walmart stand-in rejected an authorize request: %s", log_message or message)
    return _html_page(title, f"<p>{escape(message)}</p>", status=400)


def _json_error(status: int, error: str, description: str) -> Response:
    log.warning("walmart stand-in returned %s %s: %s", status, error, description)
    return _json_response(status, {"error": error, "error_description": description})


class _WalmartRequestHandler(WSGIRequestHandler):
    """Request handler that passes headers with underscores to the app and keeps query strings out of the log.

    werkzeug 3.1 drops every request header whose name contains "_", so that `X_Foo` cannot pose as `X-Foo`.
    Walmart's headers (`WM_SVC.NAME` and the others) all contain one, so they are added back here.
    """

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        environ[RAW_HEADERS_KEY] = list(self.headers.items())
        for name, value in self.headers.items():
            if "_" not in name:
                continue
            key = "HTTP_" + name.upper().replace("-", "_")
            value = value.replace("\r\n", "")
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The authorize query carries the OAuth state and nonce, so only the path is logged.
        path = urlsplit(self.path).path if hasattr(self, "path") else "-"
        log.info("walmart stand-in %s %s %s", getattr(self, "command", "-"), path, code)


class WalmartStandInServer:
    """Threaded HTTP server for the stand-in on 127.0.0.1. Port 0 picks a free port, and `url` names the port in use."""

    def __init__(self, app: WalmartStandIn, port: int = 0) -> None:
        self.app = app
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server, such as `http://127.0.0.1:3001`."""
        if self._server is None:
            raise RuntimeError("the Walmart stand-in server is not running. Call start() first.")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> WalmartStandInServer:
        if self._server is not None:
            raise RuntimeError("the Walmart stand-in server is already running")
        self._server = make_server(
            "127.0.0.1", self._port, self.app, threaded=True, request_handler=_WalmartRequestHandler
        )
        # A short poll interval lets stop() return within about 50 ms instead of the default 500 ms.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="walmart-stand-in", daemon=True
        )
        self._thread.start()
        log.info("walmart stand-in started on %s", self.url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        # serve_forever closes the listening socket when it returns.
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None
        log.info("walmart stand-in stopped")

    def __enter__(self) -> WalmartStandInServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
