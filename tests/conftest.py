"""Fixtures shared by every test: fake AWS credentials, moto resources built from template.yaml, and handlers."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

# Powertools reads these when the shared logger and metrics are created, which happens while test modules are
# collected, before any fixture runs.
os.environ.update(
    POWERTOOLS_SERVICE_NAME="walmart-connection-renewal",
    POWERTOOLS_METRICS_NAMESPACE="WalmartConnectionRenewal",
    POWERTOOLS_TRACE_DISABLED="true",
)

import boto3  # noqa: E402 - after the Powertools variables above
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from local_stack.moto_patches import serialize_dynamodb_item_operations
from local_stack.resources import LocalResources, provision
from renewals.data import aws as aws_access
from renewals.data.models import bind_tables
from renewals.observability import logger, metrics
from renewals.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"

# Values of the settings that do not name an AWS resource. The public base is https so cookies carry Secure.
SERVICE_ENVIRONMENT = {
    "PUBLIC_BASE_URL": "https://renew.example.test",
    "APP_URL": "https://app.example.test/dashboard",
    "WALMART_AUTHORIZE_URL": "https://walmart.test/authorize",
    "WALMART_API_BASE_URL": "https://walmart.test",
    "WALMART_REDIRECT_URI": "https://renew.example.test/oauth/callback",
    "POWERTOOLS_SERVICE_NAME": "walmart-connection-renewal",
    "POWERTOOLS_METRICS_NAMESPACE": "WalmartConnectionRenewal",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point boto3 at fake credentials and a fixed region, so nothing can reach a real AWS account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in SERVICE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(autouse=True)
def clear_metrics() -> Iterator[None]:
    """Drop metrics that domain code added outside a handler, so a later test's handler does not flush them."""
    yield
    metrics.clear_metrics()


def _clear_caches() -> None:
    get_settings.cache_clear()
    aws_access.client.cache_clear()
    parameters.clear_caches()
    parameters.base.DEFAULT_PROVIDERS.clear()


@dataclass
class AwsStack:
    """Resources created in moto for one test."""

    resources: LocalResources
    settings: Settings

    def client(self, service: str) -> Any:
        return boto3.client(service)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStack]:
    """Create the template's tables and the other resources in moto, and point Settings and models at them."""
    with mock_aws():
        _clear_caches()
        resources = provision()
        for name, value in resources.environment.items():
            monkeypatch.setenv(name, value)
        settings = get_settings()
        bind_tables(settings)
        yield AwsStack(resources=resources, settings=settings)
        _clear_caches()


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's conditional writes atomic per item, as DynamoDB's are, for tests that race threads."""
    serialize_dynamodb_item_operations(monkeypatch.setattr)


def load_handler(function_folder: str) -> ModuleType:
    """Import functions/<folder>/app.py as a fresh module, the way a new Lambda execution environment would."""
    path = ROOT / "functions" / function_folder / "app.py"
    module_name = f"handler_{function_folder}_{len(sys.modules)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_event(name: str) -> dict[str, Any]:
    """Return a sample event from the events folder."""
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Collect what the shared Powertools logger writes, formatted exactly as in Lambda.

    Powertools binds its handler to the stdout of import time, which pytest's capsys cannot see, so this
    fixture adds a second handler with the same formatter.
    """
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger._logger.removeHandler(handler)
