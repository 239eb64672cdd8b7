from datetime import UTC, datetime, timedelta, timezone

import pytest

from renewals.clock import Clock, FixedClock, NaiveDatetimeError, from_iso, require_utc, to_epoch, to_iso


def test_require_utc_rejects_naive():
    # Given a datetime without a timezone
    naive = datetime(2026, 12, 4, 12, 0, 0)

    # When / Then it is rejected with a message that gives the reason
    with pytest.raises(NaiveDatetimeError, match="naive datetime"):
        require_utc(naive)


def test_require_utc_converts_offsets():
    # Given a time in UTC+2
    plus_two = datetime(2026, 12, 4, 14, 0, tzinfo=timezone(timedelta(hours=2)))

    # When it is normalised
    normalised = require_utc(plus_two)

    # Then it is the same instant in UTC
    assert normalised == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert normalised.tzinfo is UTC


def test_iso_round_trip_keeps_microseconds():
    moment = datetime(2026, 12, 4, 12, 30, 15, 123456, tzinfo=UTC)

    text = to_iso(moment)

    assert text == "2026-12-04T12:30:15.123456Z"
    assert from_iso(text) == moment


def test_iso_strings_sort_like_times():
    earlier = to_iso(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    later = to_iso(datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC))

    assert earlier < later


def test_to_iso_rejects_naive():
    with pytest.raises(NaiveDatetimeError):
        to_iso(datetime(2026, 12, 4))


def test_to_epoch_is_whole_seconds():
    assert to_epoch(datetime(1970, 1, 1, 0, 1, 30, 999, tzinfo=UTC)) == 90


def test_clock_offset_shifts_now():
    # Given a clock shifted one day ahead
    clock = Clock()
    before = clock.now()
    clock.set_offset(timedelta(days=1))

    # When it is read
    shifted = clock.now()

    # Then it is about a day later and still UTC
    assert shifted - before >= timedelta(days=1)
    assert shifted.tzinfo is UTC


def test_fixed_clock_advances_only_when_told():
    start = datetime(2026, 12, 4, tzinfo=UTC)
    clock = FixedClock(start)

    clock.advance(timedelta(minutes=5))

    assert clock.now() == start + timedelta(minutes=5)


def test_fixed_clock_rejects_naive_start():
    with pytest.raises(NaiveDatetimeError):
        FixedClock(datetime(2026, 12, 4))
