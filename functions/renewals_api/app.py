"""JSON API behind the app's pop-up and "Review connections" page. The HttpApi JWT authorizer guards every route."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from renewals import client_actions, connections
from renewals.access import caller_id
from renewals.clock import clock, to_iso
from renewals.data.models import bind_tables
from renewals.errors import DomainError
from renewals.observability import logger, metrics, tracer
from renewals.settings import get_settings

settings = get_settings()
bind_tables(settings)
app = APIGatewayHttpResolver()


def _json(status_code: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(payload),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _caller() -> str:
    return caller_id(app.current_event.raw_event)


@app.get("/api/renewals/summary")
def get_summary() -> Response:
    return _json(200, connections.summary(_caller(), clock.now(), settings))


@app.post("/api/renewals/summary/dismiss")
def dismiss_summary() -> Response:
    connections.dismiss(_caller(), clock.now(), settings)
    return Response(status_code=204, headers={"Cache-Control": "no-store"}, body="")


@app.get("/api/renewals/connections")
def list_connections() -> Response:
    return _json(200, {"connections": connections.list_connections(_caller(), settings)})


@app.post("/api/renewals/connections/<accountId>/start")
def start_renewal(accountId: str) -> Response:  # noqa: N803 - the route's path parameter name
    url = connections.issue_start_url(_caller(), accountId, clock.now(), settings)
    return _json(200, {"url": url})


@app.post("/api/renewals/connections/<accountId>/magic-links")
def issue_magic_link(accountId: str) -> Response:  # noqa: N803
    link = client_actions.issue_client_link(_caller(), accountId, clock.now(), settings)
    return _json(201, {"url": link.url, "expiresAt": to_iso(link.expires_at)})


@app.delete("/api/renewals/connections/<accountId>/magic-links")
def revoke_magic_links(accountId: str) -> Response:  # noqa: N803
    client_actions.revoke_client_links(_caller(), accountId, clock.now(), settings)
    return Response(status_code=204, headers={"Cache-Control": "no-store"}, body="")


@app.post("/api/renewals/connections/<accountId>/reminders")
def send_reminder(accountId: str) -> Response:  # noqa: N803
    reminder = client_actions.send_manual_reminder(_caller(), accountId, clock.now(), settings)
    return _json(202, {"sentAt": to_iso(reminder.sent_at), "to": reminder.masked_recipient})


@app.exception_handler(DomainError)
def handle_domain_error(error: DomainError) -> Response:
    logger.info("request rejected", error_code=error.code, status_code=error.status_code)
    headers = {}
    retry_after = getattr(error, "retry_after_seconds", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return _json(error.status_code, {"error": {"code": error.code, "message": error.message}}, headers)


@app.not_found
def handle_unknown_route(_: Exception) -> Response:
    return _json(404, {"error": {"code": "not_found", "message": "no such API route"}})


@app.exception_handler(Exception)
def handle_unexpected_error(error: Exception) -> Response:
    logger.exception("request failed")
    reference = app.lambda_context.aws_request_id if app.lambda_context else "unknown"
    message = f"the request failed; try again, and quote reference {reference} if it keeps failing"
    return _json(500, {"error": {"code": "internal_error", "message": message}})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
