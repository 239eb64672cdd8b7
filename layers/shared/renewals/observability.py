"""The one Logger, Tracer and Metrics of every function, with a log formatter that keeps secrets out of logs."""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

# Keys whose values are credentials or single-use secrets. A value under such a key is never written.
SECRET_KEY_PATTERN = re.compile(
    r"(token|secret|password|authorization|cookie|code|state|ticket|nonce|binding|credential)", re.IGNORECASE
)
EMAIL_PATTERN = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
REDACTED = "[redacted]"
# Keys that look secret by name but carry only public identifiers or outcomes.
SAFE_KEYS = frozenset({"status_code", "error_code", "correlation_id", "state_outcome", "state_consumed"})


def mask_email(address: str) -> str:
    """Return an address with its local part cut to the first character, such as `j***@example.com`."""
    return EMAIL_PATTERN.sub(lambda match: f"{match.group(1)}***@{match.group(2)}", address)


def redact(value: Any, key: str = "") -> Any:
    """Return a copy of a log value with secret-named keys removed and email addresses masked."""
    if key and key not in SAFE_KEYS and SECRET_KEY_PATTERN.search(key):
        return REDACTED
    if isinstance(value, str):
        return mask_email(value)
    if isinstance(value, dict):
        return {name: redact(item, str(name)) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools JSON formatter that redacts every record before it is serialized."""

    def serialize(self, log: dict[str, Any]) -> str:
        protected = {"level", "location", "timestamp", "service", "function_request_id", "xray_trace_id"}
        cleaned = {name: value if name in protected else redact(value, name) for name, value in log.items()}
        return super().serialize(cleaned)


logger = Logger(logger_formatter=RedactingFormatter())
tracer = Tracer()
metrics = Metrics()
