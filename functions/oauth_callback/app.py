"""OAuth callback: finishes a renewal when Walmart redirects the browser back, and shows how it ended."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from renewals import flow_pages, renewal
from renewals.clock import clock
from renewals.data.models import bind_tables
from renewals.observability import logger, metrics, tracer
from renewals.settings import get_settings

settings = get_settings()
bind_tables(settings)
app = APIGatewayHttpResolver()


def _reference() -> str:
    return app.lambda_context.aws_request_id if app.lambda_context else "unknown"


@app.get("/oauth/callback")
def callback() -> Response:
    event = app.current_event
    request = renewal.parse_callback(event.raw_query_string, event.cookies or [])
    result = renewal.complete_renewal(request, clock.now(), settings)
    return flow_pages.callback_response(settings, result, _reference())


@app.not_found
def handle_unknown_route(_: Exception) -> Response:
    return flow_pages.not_found_page(settings)


@app.exception_handler(Exception)
def handle_unexpected_error(_: Exception) -> Response:
    logger.exception("oauth callback failed")
    return flow_pages.internal_error_page(settings, _reference())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
