"""PynamoDB attributes that enforce the project's time rules."""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import TTLAttribute, UnicodeAttribute

from renewals.clock import from_iso, require_utc, to_iso


class UTCTimeAttribute(UnicodeAttribute):
    """A timezone-aware UTC datetime stored as a sortable ISO 8601 string; naive datetimes are rejected."""

    def serialize(self, value: datetime) -> str:
        return to_iso(value)

    def deserialize(self, value: str) -> datetime:
        return from_iso(value)


class ExpiryAttribute(TTLAttribute):
    """Expiry in epoch seconds, which is also the table's TTL attribute.

    DynamoDB deletes expired items up to days late, so readers must also compare it with the clock.
    """

    def _normalize(self, value: object) -> datetime | None:
        # The base class also takes a timedelta relative to time.time(), which would bypass the project's clock.
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expiry must be a timezone-aware datetime, not {type(value).__name__}")
        return super()._normalize(require_utc(value))
