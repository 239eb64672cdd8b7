"""Tests of the local Lambda runtime: execution environment pools, cold starts, context and timeouts."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from local_stack.lambda_runtime import FunctionPool, FunctionSpec, FunctionTimedOut, function_specs

# A handler module with an object created per import, and a handler that can block until a test releases it.
HANDLER_SOURCE = """
import time

IMPORT_ID = object()


def lambda_handler(event, context):
    if "entered" in event:
        event["entered"].set()
        event["release"].wait(10)
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise ValueError("handler failed on purpose")
    return {
        "module": __name__,
        "import_id": id(IMPORT_ID),
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "memory": context.memory_limit_in_mb,
        "name": context.function_name,
    }
"""


@pytest.fixture
def spec(tmp_path: Path) -> FunctionSpec:
    module_path = tmp_path / "app.py"
    module_path.write_text(HANDLER_SOURCE, encoding="utf-8")
    return FunctionSpec(
        function_id="FakeFunction",
        module_path=module_path,
        handler_name="lambda_handler",
        timeout_seconds=5,
        memory_mb=256,
    )


def test_warm_environment_reused(spec: FunctionSpec) -> None:
    # Given a pool
    pool = FunctionPool(spec)

    # When two requests run one after the other
    first = pool.invoke({})
    second = pool.invoke({})

    # Then the second runs in the same environment with a new request id
    assert pool.size == 1
    assert first["module"] == second["module"]
    assert first["request_id"] != second["request_id"]


def test_busy_pool_grows(spec: FunctionSpec) -> None:
    # Given a pool whose only environment is busy with a blocked request
    pool = FunctionPool(spec)
    entered, release = threading.Event(), threading.Event()
    blocked_result: dict = {}
    worker = threading.Thread(
        target=lambda: blocked_result.update(pool.invoke({"entered": entered, "release": release}))
    )
    worker.start()
    assert entered.wait(10)

    # When a second request arrives
    second = pool.invoke({})
    release.set()
    worker.join(10)

    # Then it runs in a freshly imported module, a second environment
    assert pool.size == 2
    assert second["module"] != blocked_result["module"]
    assert second["import_id"] != blocked_result["import_id"]


def test_context_carries_limits(spec: FunctionSpec) -> None:
    # Given a pool for a function with a 5 s timeout and 256 MB
    pool = FunctionPool(spec)

    # When a request runs
    result = pool.invoke({})

    # Then the context reports the function's name, memory and remaining time
    assert result["name"] == "FakeFunction"
    assert result["memory"] == 256
    assert 0 < result["remaining_ms"] <= 5000


def test_handler_error_keeps_environment(spec: FunctionSpec) -> None:
    # Given a pool
    pool = FunctionPool(spec)

    # When a handler raises
    with pytest.raises(ValueError, match="on purpose"):
        pool.invoke({"fail": True})

    # Then the environment stays in the pool for the next request
    pool.invoke({})
    assert pool.size == 1


def test_timeout_discards_environment(spec: FunctionSpec) -> None:
    # Given a function with a 0.05 s timeout
    short = FunctionSpec(
        function_id=spec.function_id,
        module_path=spec.module_path,
        handler_name=spec.handler_name,
        timeout_seconds=0.05,
        memory_mb=128,
    )
    pool = FunctionPool(short)

    # When its handler runs longer
    with pytest.raises(FunctionTimedOut):
        pool.invoke({"sleep": 0.2})

    # Then the environment is discarded, as Lambda discards one after a timeout
    assert pool.size == 0


def test_missing_module_raises(tmp_path: Path) -> None:
    # Given a function whose handler file does not exist
    spec = FunctionSpec(
        function_id="Missing",
        module_path=tmp_path / "app.py",
        handler_name="lambda_handler",
        timeout_seconds=3,
        memory_mb=128,
    )

    # When it is invoked, then the import error propagates and no environment is kept
    pool = FunctionPool(spec)
    with pytest.raises(FileNotFoundError):
        pool.invoke({})
    assert pool.size == 0


def test_template_specs_use_globals() -> None:
    # Given the functions of template.yaml
    specs = function_specs()

    # When their limits are read
    callback = specs["OAuthCallbackFunction"]
    api = specs["RenewalsApiFunction"]

    # Then a function's own Timeout wins over Globals, and Globals fill the rest
    assert callback.timeout_seconds == 29
    assert api.timeout_seconds == 15
    assert api.memory_mb == 256
    assert api.module_path.name == "app.py"
    assert api.module_path.parent.name == "renewals_api"


def test_full_pool_makes_requests_wait(spec: FunctionSpec) -> None:
    # Given a pool capped at one environment, busy with a blocked request
    pool = FunctionPool(spec, max_environments=1)
    entered, release = threading.Event(), threading.Event()
    worker = threading.Thread(target=lambda: pool.invoke({"entered": entered, "release": release}))
    worker.start()
    assert entered.wait(10)

    # When a second request arrives, and the first is released only afterwards
    results: list[dict] = []
    waiter = threading.Thread(target=lambda: results.append(pool.invoke({})))
    waiter.start()
    waiter.join(0.5)
    still_waiting = waiter.is_alive()
    release.set()
    worker.join(10)
    waiter.join(10)

    # Then the second request waited for the one environment instead of starting another
    assert still_waiting
    assert len(results) == 1
    assert pool.size == 1


def test_pool_cap_must_be_positive(spec: FunctionSpec) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FunctionPool(spec, max_environments=0)
