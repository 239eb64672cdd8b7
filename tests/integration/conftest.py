"""Fixtures shared by the integration tests of the JSON API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType

import pytest

from renewals.clock import clock
from tests.conftest import AwsStack, load_handler


@pytest.fixture
def api(aws: AwsStack) -> ModuleType:
    """Return a freshly imported renewals API handler module, bound to the test's moto resources."""
    return load_handler("renewals_api")


@pytest.fixture
def shifted_clock() -> Iterator[None]:
    """Put the shared clock back to real time after a test that shifts it."""
    yield
    clock.set_offset(timedelta(0))
