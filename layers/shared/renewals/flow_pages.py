"""Responses of the OAuth start and callback routes: the redirects, and a page for every way a flow can end.

Every page comes from `web.page`, so each one carries no-store caching, a Content-Security-Policy and framing
denial. Failure pages offer a Try again action and show the Lambda request id as a support reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aws_lambda_powertools.event_handler import Response

from renewals.authorization import AuthorizationStart
from renewals.data.models import CHANNEL_DASHBOARD, CHANNEL_MAGIC_LINK
from renewals.oauth_start import StartProblem, StartRejected
from renewals.renewal import CallbackResult, Outcome
from renewals.settings import Settings
from renewals.web import expired_cookie, page, redirect

RESULT_TEMPLATE = "result.html"
TRY_AGAIN = "Try again"
BACK_TO_APP = "Back to the app"
MAIN_LOGIN_ONLY = (
    "Only the main (admin) Walmart Seller Center login of the seller account can approve the connection. "
    "Sign in with that login, then choose Approve."
)
FROM_EMAIL = "If you came from a renewal email, open its Renew Connection button again to start over."


@dataclass(frozen=True)
class PageText:
    """Status, title and paragraphs of one result page."""

    status_code: int
    title: str
    paragraphs: tuple[str, ...]


START_PAGES = {
    StartProblem.MISSING: PageText(
        400,
        "This renewal link is incomplete",
        ("The link that opened this page carries no renewal ticket.", "Go back to the app and choose Renew again."),
    ),
    StartProblem.MALFORMED: PageText(
        400,
        "This renewal link is not valid",
        ("The link that opened this page was changed or cut short.", "Go back to the app and choose Renew again."),
    ),
    StartProblem.UNUSABLE: PageText(
        410,
        "This renewal link has expired",
        (
            "A renewal link from the app works once, and only for a few minutes.",
            "Go back to the app and choose Renew again to continue.",
        ),
    ),
}


def authorize_redirect(settings: Settings, started: AuthorizationStart) -> Response:
    """Redirect the browser to Walmart's authorize URL and set the cookie that binds the flow to it."""
    return redirect(settings, started.authorize_url, 302, cookies=[started.binding_cookie])


def start_rejected_page(settings: Settings, error: StartRejected, reference: str) -> Response:
    """Return the page for a start ticket that cannot begin a renewal."""
    if error.problem is StartProblem.ALREADY_RENEWED:
        return _already_renewed_page(settings, error.account_name)
    text = START_PAGES[error.problem]
    return _problem_page(settings, text, BACK_TO_APP, reference)


def _already_renewed_page(settings: Settings, account_name: str | None) -> Response:
    subject = f"The Walmart connection of {account_name}" if account_name else "This Walmart connection"
    return page(
        settings,
        RESULT_TEMPLATE,
        200,
        kind="ok",
        title="Walmart connection already renewed",
        paragraphs=[f"{subject} is already renewed.", "Nothing more is needed."],
        action_url=settings.app_url,
        action_label="Go to the app",
    )


def callback_response(settings: Settings, result: CallbackResult, reference: str) -> Response:
    """Return the redirect or page that shows a callback's outcome, dropping the binding cookie when it is done."""
    response = _callback_response(settings, result, reference)
    if result.clear_cookie:
        response.cookies.append(expired_cookie(settings, result.clear_cookie))
    return response


def _callback_response(settings: Settings, result: CallbackResult, reference: str) -> Response:
    if result.outcome is Outcome.RENEWED:
        return _renewed_response(settings, result)
    if result.outcome is Outcome.IN_PROGRESS:
        return page(
            settings,
            RESULT_TEMPLATE,
            202,
            kind="info",
            title="Your renewal is being completed",
            paragraphs=[
                "Walmart's approval arrived more than once, and the first one is still being processed.",
                "Check the app in a minute to see whether the connection is renewed.",
            ],
            action_url=settings.app_url,
            action_label="Go to the app",
            reference=reference,
        )
    text = _callback_problem_text(settings, result)
    if result.channel != CHANNEL_DASHBOARD:
        # Magic-link flows have no app session to start over from, and unknown flows may be either kind.
        text = PageText(text.status_code, text.title, (*text.paragraphs, FROM_EMAIL))
    return _problem_page(settings, text, TRY_AGAIN, reference)


def _renewed_response(settings: Settings, result: CallbackResult) -> Response:
    if result.channel == CHANNEL_MAGIC_LINK:
        subject = f"The Walmart connection of {result.account_name}" if result.account_name else "Your connection"
        return page(
            settings,
            RESULT_TEMPLATE,
            200,
            kind="ok",
            title="Walmart connection renewed",
            paragraphs=[
                f"{subject} is renewed. Your Walmart data syncs to the app again.",
                "Nothing more is needed, and you can close this page.",
            ],
        )
    # See Other makes the browser load the app with GET, and reloading the app does not repeat the callback.
    return redirect(settings, success_url(settings, result.account_id or ""), 303)


def success_url(settings: Settings, account_id: str) -> str:
    """Return the configured app URL with a success marker that names the renewed account for the dashboard."""
    parts = urlsplit(settings.app_url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [("renewal", "success"), ("accountId", account_id)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _callback_problem_text(settings: Settings, result: CallbackResult) -> PageText:
    minutes = max(1, settings.oauth_state_ttl_seconds // 60)
    account = f"the account {result.account_name}" if result.account_name else "this account"
    texts = {
        Outcome.DECLINED: PageText(
            400,
            "Walmart connection not renewed",
            ("Walmart did not approve the connection, so nothing changed.", MAIN_LOGIN_ONLY),
        ),
        Outcome.MISSING_CODE: PageText(
            400,
            "Walmart sent no approval",
            (
                "Walmart returned to this page without an authorization code, so nothing changed. This happens "
                "when the approval was declined or not finished.",
                MAIN_LOGIN_ONLY,
            ),
        ),
        Outcome.INVALID_CALLBACK: PageText(
            400,
            "This sign-in response is not valid",
            ("The address that opened this page is incomplete or was changed.", "Start the renewal again."),
        ),
        Outcome.STATE_UNUSABLE: PageText(
            400,
            "This sign-in has expired or was already used",
            (
                f"A Walmart sign-in for a renewal works once and expires after {minutes} minutes.",
                "Start the renewal again.",
            ),
        ),
        Outcome.OTHER_BROWSER: PageText(
            400,
            "This sign-in was started in another browser",
            (
                "For your security, a renewal must finish in the browser where it started, and this browser "
                "does not hold that renewal's cookie.",
                "Start the renewal again in this browser, with cookies allowed.",
            ),
        ),
        Outcome.SELLER_MISMATCH: PageText(
            400,
            "Wrong Walmart seller account",
            (
                f"You signed in to Walmart with a seller account that is not the one connected to {account}.",
                "Nothing changed. Sign in with the main login of the right seller account and try again.",
            ),
        ),
        Outcome.GRANT_REJECTED: PageText(
            400,
            "Walmart did not accept the sign-in",
            ("The approval from Walmart expired or was already used, so nothing changed.", "Start the renewal again."),
        ),
        Outcome.WALMART_UNAVAILABLE: PageText(
            503,
            "Walmart is unavailable",
            ("Walmart did not respond properly, so nothing changed.", "Try again in a few minutes."),
        ),
    }
    return texts.get(result.outcome, _internal_error_text())


def _internal_error_text() -> PageText:
    return PageText(
        500,
        "The renewal could not be completed",
        (
            "Something went wrong on our side, and the connection was not renewed.",
            "Try again. If it keeps failing, contact support and quote the reference below.",
        ),
    )


def internal_error_page(settings: Settings, reference: str) -> Response:
    """Return the page for an unexpected failure."""
    return _problem_page(settings, _internal_error_text(), TRY_AGAIN, reference)


def not_found_page(settings: Settings) -> Response:
    """Return the page for a path that no route of the function serves."""
    text = PageText(404, "Page not found", ("This address does not lead to a renewal page.",))
    return _problem_page(settings, text, BACK_TO_APP, reference=None)


def _problem_page(settings: Settings, text: PageText, action_label: str, reference: str | None) -> Response:
    return page(
        settings,
        RESULT_TEMPLATE,
        text.status_code,
        kind="problem",
        title=text.title,
        paragraphs=list(text.paragraphs),
        action_url=settings.app_url,
        action_label=action_label,
        reference=reference,
    )
