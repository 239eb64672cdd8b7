"""Routes that exist only in the local stack: everything under /_local/ and the placeholder page at /app/.

They are served by the gateway before it looks at the template's routes, and they are never part of
template.yaml, so a deployed stack has none of them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local_stack.jwt_issuer import JwtIssuer
from local_stack.outbox import Outbox, SentEmail
from local_stack.seed import DemoUser
from renewals.clock import Clock, to_iso

# Ten years either way keeps every shifted time within the range datetime and the ISO strings can represent.
MAX_CLOCK_OFFSET_SECONDS = 10 * 365 * 24 * 3600
LOCAL_PAGE_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


class BadRequest(Exception):
    """Raised by a local route for invalid input; the message is returned to the caller."""


def _json(status: int, payload: Any) -> Response:
    return Response(
        json.dumps(payload), status=status, mimetype="application/json", headers={"Cache-Control": "no-store"}
    )


def _error(status: int, code: str, message: str) -> Response:
    return _json(status, {"error": {"code": code, "message": message}})


def _html(template_name: str, **context: Any) -> Response:
    body = _templates.get_template(template_name).render(**context)
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": LOCAL_PAGE_POLICY}
    return Response(body, mimetype="text/html", headers=headers)


def _json_object(request: Request) -> dict[str, Any]:
    try:
        payload = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise BadRequest("the request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise BadRequest("the request body must be a JSON object")
    return payload


class _LinkCollector(HTMLParser):
    """Collects the http and https links of an HTML part with their text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag != "a" or self._href is None:
            return
        # Only web links are shown, so a javascript: or data: href in an email cannot run on the outbox page.
        # Emails often repeat the button's link as text, and each target is listed once.
        known = {link["href"] for link in self.links}
        if urlsplit(self._href).scheme in ("http", "https") and self._href not in known:
            label = " ".join("".join(self._text).split()) or self._href
            self.links.append({"href": self._href, "label": f"{label} ({self._href})"})
        self._href = None


def email_links(html: str) -> list[dict[str, str]]:
    """Return the web links of an email's HTML part, each with its href and a label naming text and target."""
    collector = _LinkCollector()
    collector.feed(html)
    collector.close()
    return collector.links


@dataclass
class LocalRoutes:
    """Handlers of the local-only routes. `not_ready` returns the parts of the stack that are not up yet."""

    users: Sequence[DemoUser]
    clock: Clock
    not_ready: Callable[[], list[str]]
    walmart_url: str
    gateway_url: str
    issuer: JwtIssuer | None = None
    outbox: Outbox | None = None

    def __post_init__(self) -> None:
        self._url_map = Map(
            [
                Rule("/_local/health", methods=["GET"], endpoint=self.health),
                Rule("/_local/users", methods=["GET"], endpoint=self.list_users),
                Rule("/_local/token", methods=["POST"], endpoint=self.issue_token),
                Rule("/_local/clock", methods=["GET"], endpoint=self.show_clock),
                Rule("/_local/clock", methods=["POST"], endpoint=self.shift_clock),
                Rule("/_local/outbox.json", methods=["GET"], endpoint=self.outbox_json),
                Rule("/_local/outbox", methods=["GET"], endpoint=self.outbox_page),
                Rule("/_local/sweep", methods=["POST"], endpoint=self.run_sweep),
                Rule("/_local/.well-known/jwks.json", methods=["GET"], endpoint=self.jwks),
                Rule("/_local/.well-known/openid-configuration", methods=["GET"], endpoint=self.openid_configuration),
                Rule("/app/", methods=["GET"], endpoint=self.dashboard),
            ],
            strict_slashes=True,
        )

    @staticmethod
    def owns(path: str) -> bool:
        return path.startswith("/_local/") or path == "/app" or path.startswith("/app/")

    def __call__(self, request: Request) -> Response | None:
        """Return the response for a local route, or None for a path the template's routes serve."""
        if not self.owns(request.path):
            return None
        adapter = self._url_map.bind_to_environ(request.environ)
        try:
            endpoint, arguments = adapter.match()
        except MethodNotAllowed as error:
            allowed = ", ".join(sorted(error.valid_methods or []))
            response = _error(405, "method_not_allowed", f"{request.path} accepts {allowed}")
            response.headers["Allow"] = allowed
            return response
        except NotFound:
            return _error(404, "not_found", f"no local route {request.path}; see docs/local-stack.md")
        except HTTPException as error:
            # werkzeug returns a redirect from /app to /app/.
            return error.get_response(request.environ)
        if endpoint not in (self.health, self.dashboard) and self.not_ready():
            return _error(503, "starting", "the local stack is still starting; poll GET /_local/health")
        try:
            return endpoint(request, **arguments)
        except BadRequest as error:
            return _error(400, "bad_request", str(error))

    # ------------------------------------------------------------ JSON routes

    def health(self, request: Request) -> Response:
        waiting = self.not_ready()
        if waiting:
            return _json(503, {"status": "starting", "waitingFor": waiting})
        return _json(200, {"status": "ok"})

    def list_users(self, request: Request) -> Response:
        return _json(200, {"users": [user.as_json() for user in self.users]})

    def issue_token(self, request: Request) -> Response:
        payload = _json_object(request)
        user_id = payload.get("userId")
        if not isinstance(user_id, str) or not user_id:
            raise BadRequest('the body needs "userId", a seeded user id as a string')
        user = next((user for user in self.users if user.user_id == user_id), None)
        if user is None:
            return _error(404, "not_found", f"user {user_id!r} is not a seeded user; GET /_local/users lists them")
        assert self.issuer is not None
        return _json(200, {"token": self.issuer.issue(user.user_id, user.name), "tokenType": "Bearer"})

    def show_clock(self, request: Request) -> Response:
        return self._clock_state()

    def shift_clock(self, request: Request) -> Response:
        payload = _json_object(request)
        offset = payload.get("offsetSeconds")
        if isinstance(offset, bool) or not isinstance(offset, int | float) or not math.isfinite(offset):
            raise BadRequest('the body needs "offsetSeconds", a number of seconds to add to the real time')
        if abs(offset) > MAX_CLOCK_OFFSET_SECONDS:
            raise BadRequest(
                f"offsetSeconds must be between -{MAX_CLOCK_OFFSET_SECONDS} and {MAX_CLOCK_OFFSET_SECONDS}"
            )
        self.clock.set_offset(timedelta(seconds=offset))
        return self._clock_state()

    def _clock_state(self) -> Response:
        offset = self.clock.offset.total_seconds()
        return _json(
            200, {"now": to_iso(self.clock.now()), "offsetSeconds": int(offset) if offset.is_integer() else offset}
        )

    def outbox_json(self, request: Request) -> Response:
        return _json(200, [email.as_json() for email in self._emails()])

    def run_sweep(self, request: Request) -> Response:
        # NOTE: the reminder sweep function is not in template.yaml yet, so there is nothing to invoke.
        return _error(501, "not_implemented", "the reminder sweep is not part of this build yet")

    def jwks(self, request: Request) -> Response:
        assert self.issuer is not None
        return _json(200, self.issuer.jwks())

    def openid_configuration(self, request: Request) -> Response:
        assert self.issuer is not None
        return _json(
            200,
            {"issuer": self.issuer.issuer, "jwks_uri": f"{self.gateway_url}/_local/.well-known/jwks.json"},
        )

    # ------------------------------------------------------------ pages

    def outbox_page(self, request: Request) -> Response:
        emails = [
            {
                "subject": email.subject,
                "to": email.to,
                "sender": email.sender,
                "sent_at_text": to_iso(email.sent_at),
                "html": email.html,
                "text": email.text,
                "links": email_links(email.html) if email.html else [],
            }
            for email in reversed(self._emails())
        ]
        return _html("outbox.html", title="Outbox", emails=emails, walmart_url=self.walmart_url)

    def dashboard(self, request: Request) -> Response:
        return _html(
            "app.html",
            title="Dashboard",
            users=list(self.users),
            renewal=request.args.get("renewal"),
            account_id=request.args.get("accountId"),
            gateway_url=self.gateway_url,
            walmart_url=self.walmart_url,
        )

    def _emails(self) -> list[SentEmail]:
        return self.outbox.emails() if self.outbox is not None else []
