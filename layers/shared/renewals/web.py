"""HTML pages and redirects of the browser routes, with the security headers every page carries."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from jinja2 import Environment, PackageLoader, select_autoescape

from renewals.settings import Settings

HTML = "text/html; charset=utf-8"
BINDING_COOKIE_PREFIX = "wm_renewal_"
SECURE_COOKIE_PREFIX = "__Host-"


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("renewals", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template_name: str, **context: object) -> str:
    """Render a template from the package's templates folder with HTML autoescaping."""
    return _templates().get_template(template_name).render(**context)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def security_headers(settings: Settings) -> dict[str, str]:
    """Return the headers of every HTML page and browser redirect.

    Browsers apply `form-action` to the redirect that follows a form post, so Walmart's origin is allowed there.
    """
    policy = "; ".join(
        [
            "default-src 'none'",
            "style-src 'unsafe-inline'",
            "img-src 'self' data:",
            f"form-action 'self' {_origin(settings.walmart_authorize_url)}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )
    return {
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def page(settings: Settings, template_name: str, status_code: int = 200, **context: object) -> Response:
    """Return an HTML page response rendered from `pages/<template_name>`."""
    body = render(f"pages/{template_name}", app_url=settings.app_url, **context)
    return Response(status_code=status_code, content_type=HTML, body=body, headers=security_headers(settings))


def redirect(
    settings: Settings, location: str, status_code: int = 302, cookies: list[Cookie] | None = None
) -> Response:
    """Return a redirect to a URL that the caller built from configuration, never from the request."""
    headers = {**security_headers(settings), "Location": location}
    return Response(status_code=status_code, headers=headers, cookies=cookies or [], body="")


def binding_cookie_name(settings: Settings, state_hash: str) -> str:
    """Name the browser-binding cookie after its flow, so several renewals can run in one browser at once.

    Over https the `__Host-` prefix makes browsers require Secure, Path=/ and no Domain.
    """
    prefix = SECURE_COOKIE_PREFIX if settings.uses_https else ""
    return f"{prefix}{BINDING_COOKIE_PREFIX}{state_hash[:16]}"


def binding_cookie(settings: Settings, state_hash: str, secret: str, max_age_seconds: int) -> Cookie:
    """Return the short-lived HttpOnly, SameSite=Lax cookie that ties an OAuth flow to the browser that began it.

    Lax lets the cookie ride on Walmart's top-level redirect back to the callback, and on nothing cross-site else.
    """
    return Cookie(
        name=binding_cookie_name(settings, state_hash),
        value=secret,
        path="/",
        secure=settings.uses_https,
        http_only=True,
        max_age=max_age_seconds,
        same_site=SameSite.LAX_MODE,
    )


def expired_cookie(settings: Settings, name: str) -> Cookie:
    """Return a cookie that makes the browser drop the cookie `name`."""
    return Cookie(
        name=name,
        value="",
        path="/",
        secure=settings.uses_https,
        http_only=True,
        max_age=0,
        same_site=SameSite.LAX_MODE,
    )
