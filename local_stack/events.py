"""API Gateway HTTP API payload format 2.0: the events the local gateway and tests hand to real handlers."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

# Content types that API Gateway passes through as text; every other body arrives base64-encoded.
TEXT_CONTENT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


def _is_text(content_type: str) -> bool:
    lowered = content_type.lower()
    return any(lowered.startswith(prefix) for prefix in TEXT_CONTENT_TYPES)


@dataclass
class HttpRequest:
    """An incoming request, before it becomes an event."""

    method: str
    path: str
    raw_query: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = "127.0.0.1"


def build_http_event(
    request: HttpRequest,
    route_key: str,
    path_parameters: Mapping[str, str] | None = None,
    jwt_claims: Mapping[str, Any] | None = None,
    domain_name: str = "127.0.0.1",
) -> dict[str, Any]:
    """Build a payload 2.0 event the way API Gateway does.

    Header names are lowercased and repeated headers joined with commas. Cookies move from the Cookie header to
    `cookies`. Repeated query parameters are joined with commas in `queryStringParameters`, while
    `rawQueryString` keeps the original. Bodies that are not text arrive base64-encoded.
    """
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value

    query: dict[str, str] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value

    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".")[0],
            "http": {
                "method": request.method.upper(),
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if jwt_claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": dict(jwt_claims), "scopes": None}}
    if request.body:
        text = _as_text(request.body) if _is_text(headers.get("content-type", "")) else None
        if text is not None:
            event["body"] = text
        else:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def _as_text(body: bytes) -> str | None:
    # A body labelled as text that is not valid UTF-8 travels base64-encoded, as API Gateway sends binary data.
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def simple_event(
    method: str,
    path: str,
    route_key: str | None = None,
    query: Iterable[tuple[str, str]] | str = (),
    headers: Mapping[str, str] | None = None,
    cookies: Iterable[str] = (),
    form: Mapping[str, str] | None = None,
    json_body: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    jwt_claims: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build an event from keyword arguments, for tests. `query` may repeat names or be a raw query string."""
    raw_query = query if isinstance(query, str) else urlencode(list(query))
    header_list = list((headers or {}).items())
    cookie_list = list(cookies)
    if cookie_list:
        header_list.append(("Cookie", "; ".join(cookie_list)))
    body = b""
    if form is not None:
        body = urlencode(dict(form)).encode("utf-8")
        header_list.append(("Content-Type", "application/x-www-form-urlencoded"))
    elif json_body is not None:
        body = json_body.encode("utf-8")
        header_list.append(("Content-Type", "application/json"))
    request = HttpRequest(method=method, path=path, raw_query=raw_query, headers=header_list, body=body)
    return build_http_event(
        request,
        route_key or f"{method.upper()} {path}",
        path_parameters=path_parameters,
        jwt_claims=jwt_claims,
    )
