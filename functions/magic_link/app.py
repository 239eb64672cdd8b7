"""Magic-link pages. GET shows a "Continue to Walmart" page and changes nothing except recording the view,
because email scanners fetch links before people click them. Only the page's form POST starts Walmart's OAuth flow."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from renewals import magic_links
from renewals.clock import clock
from renewals.data.models import bind_tables
from renewals.emails import format_day
from renewals.magic_links import LinkResolution, LinkStatus
from renewals.observability import logger, metrics, tracer
from renewals.settings import get_settings
from renewals.web import page, redirect

settings = get_settings()
bind_tables(settings)
app = APIGatewayHttpResolver()


@app.get("/r/<token>")
def show_link(token: str) -> Response:
    resolution = magic_links.open_link(token, clock.now())
    return _link_page(resolution, token)


@app.post("/r/<token>")
def continue_to_walmart(token: str) -> Response:
    continuation = magic_links.continue_link(token, clock.now(), settings)

    if continuation.authorization is None:
        return _link_page(continuation.resolution, token)

    metrics.add_metric(name="MagicLinkContinued", unit="Count", value=1)
    start = continuation.authorization
    return redirect(settings, start.authorize_url, status_code=303, cookies=[start.binding_cookie])


def _link_page(resolution: LinkResolution, token: str) -> Response:
    account = resolution.account
    if resolution.status is LinkStatus.LIVE and account is not None and resolution.link is not None:
        return page(
            settings,
            "magic_link.html",
            title=f"Renew the Walmart connection of {account.account_name}",
            account_name=account.account_name,
            accountant_name=account.accountant_name,
            expires_on=format_day(resolution.link.expires_at),
            form_action=magic_links.link_url(settings, token),
        )
    if resolution.status is LinkStatus.RENEWED and account is not None:
        return page(
            settings,
            "magic_link_renewed.html",
            title="Walmart connection renewed",
            kind="ok",
            account_name=account.account_name,
        )
    return _unusable_page()


def _unusable_page() -> Response:
    # Unknown, expired and revoked links get the same page and status, so the page reveals nothing about a token.
    return page(
        settings,
        "magic_link_unusable.html",
        status_code=404,
        title="Link no longer works",
        kind="problem",
        ttl_days=settings.magic_link_ttl_days,
    )


@app.not_found
def handle_unknown_route(_: Exception) -> Response:
    return _unusable_page()


@app.exception_handler(Exception)
def handle_unexpected_error(error: Exception) -> Response:
    logger.exception("magic link request failed")
    reference = app.lambda_context.aws_request_id if app.lambda_context else "unknown"
    return page(
        settings,
        "result.html",
        status_code=500,
        title="Something went wrong",
        kind="problem",
        paragraphs=[
            "We could not take you to Walmart just now, and nothing was changed.",
            "Open the link from your email again in a few minutes. If it keeps failing, contact support and quote "
            "the reference below.",
        ],
        action_url=settings.app_url,
        action_label="Go to the app",
        reference=reference,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
# Responses carry the token in the form action and the OAuth state in Location, so they stay out of traces.
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
