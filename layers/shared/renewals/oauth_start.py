"""OAuth start for dashboard renewals: turn a single-use start ticket into Walmart's authorize redirect."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from urllib.parse import parse_qsl

from aws_lambda_powertools.metrics import MetricUnit

from renewals.authorization import AuthorizationStart, begin_authorization
from renewals.data.accounts import get_account, is_pending
from renewals.data.flows import AlreadyUsed, get_start_ticket, use_start_ticket
from renewals.data.models import CHANNEL_DASHBOARD
from renewals.observability import logger, metrics
from renewals.settings import Settings
from renewals.tokens import hash_token

# tokens.new_token returns 32 random bytes as unpadded URL-safe base64, which is 43 characters long.
TICKET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


class StartProblem(StrEnum):
    """Reason that a start request ends on a page instead of Walmart's authorize redirect."""

    MISSING = "missing"  # no ticket parameter, or an empty one
    MALFORMED = "malformed"  # a repeated ticket parameter, or a value that no ticket can have
    UNUSABLE = "unusable"  # unknown, expired or already used, or the account is gone
    ALREADY_RENEWED = "already_renewed"


class StartRejected(Exception):
    """Raised when a start ticket cannot begin a renewal. `account_name` is set for an already renewed account."""

    def __init__(self, problem: StartProblem, account_name: str | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.account_name = account_name


def ticket_from_query(raw_query: str) -> str:
    """Return the one `ticket` value of a raw query string, raising StartRejected when it is absent or repeated.

    The raw string is parsed because API Gateway joins repeated parameters with commas in
    `queryStringParameters`, which would hide a repeat.
    """
    values = [value for name, value in parse_qsl(raw_query, keep_blank_values=True) if name == "ticket"]
    if len(values) > 1:
        raise StartRejected(StartProblem.MALFORMED)
    if not values or not values[0]:
        raise StartRejected(StartProblem.MISSING)
    if not TICKET_PATTERN.match(values[0]):
        raise StartRejected(StartProblem.MALFORMED)
    return values[0]


def start_from_ticket(raw_query: str, now: datetime, settings: Settings) -> AuthorizationStart:
    """Use the start ticket in the query and create the OAuth state for its account.

    The ticket is marked used in one conditional write before anything else happens, so it starts at most one
    flow. Raises StartRejected for a missing, malformed, unknown, expired or used ticket, for an account that is
    gone or no longer visible to the ticket's user, and for an account that needs no renewal.
    """
    ticket_hash = hash_token(ticket_from_query(raw_query))
    ticket = get_start_ticket(ticket_hash, now)
    if ticket is None or ticket.used_at is not None:
        logger.info("start ticket rejected", reason="unknown, expired or used")
        raise StartRejected(StartProblem.UNUSABLE)
    try:
        use_start_ticket(ticket, now)
    except AlreadyUsed:
        logger.info("start ticket rejected", reason="used by a concurrent request")
        raise StartRejected(StartProblem.UNUSABLE) from None

    account = get_account(ticket.account_id)
    # Access is checked again because the owner or accountant may have changed since the ticket was issued.
    if account is None or ticket.user_id not in (account.owner_id, account.accountant_id):
        logger.info("start ticket rejected", reason="account not visible", account_id=ticket.account_id)
        raise StartRejected(StartProblem.UNUSABLE)
    if not is_pending(account):
        logger.info("renewal not started", reason="already renewed", account_id=account.account_id)
        raise StartRejected(StartProblem.ALREADY_RENEWED, account_name=account.account_name)

    started = begin_authorization(
        settings, now, account.account_id, channel=CHANNEL_DASHBOARD, initiator_id=ticket.user_id
    )
    logger.info("renewal started", account_id=account.account_id, channel=CHANNEL_DASHBOARD)
    metrics.add_metric(name="RenewalStarted", unit=MetricUnit.Count, value=1)
    return started
