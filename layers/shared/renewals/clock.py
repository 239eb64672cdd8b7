"""Time source for all domain code, so tests and the local stack can move time without patching datetime."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class NaiveDatetimeError(ValueError):
    """Raised when a datetime without a timezone reaches code that stores or compares times."""


def require_utc(value: datetime) -> datetime:
    """Return `value` converted to UTC, raising NaiveDatetimeError when it carries no timezone."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(f"naive datetime {value.isoformat()} is not allowed; pass a timezone-aware UTC value")
    return value.astimezone(UTC)


def to_epoch(value: datetime) -> int:
    """Return whole epoch seconds, the unit of DynamoDB TTL attributes."""
    return int(require_utc(value).timestamp())


def to_iso(value: datetime) -> str:
    """Return an ISO 8601 UTC string with a `Z` suffix, sortable as text."""
    return require_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str) -> datetime:
    """Parse a string written by `to_iso` (or any ISO 8601 string with an offset) into an aware UTC datetime."""
    return require_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


class Clock:
    """Wall clock in UTC with an adjustable offset, which only the local stack changes."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            offset = self._offset
        return datetime.now(UTC) + offset

    @property
    def offset(self) -> timedelta:
        with self._lock:
            return self._offset

    def set_offset(self, offset: timedelta) -> None:
        with self._lock:
            self._offset = offset


class FixedClock(Clock):
    """Clock that stays at a given instant until moved, for tests."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self._at = require_utc(at)

    def now(self) -> datetime:
        return self._at + self.offset

    def advance(self, delta: timedelta) -> None:
        self._at += delta


clock = Clock()
"""The process-wide clock that handlers pass to domain code."""
