"""Runs the real Lambda handlers in this process the way Lambda runs them: pools of execution environments.

Each function has a pool. An execution environment is a separate import of the function's handler module, so
creating one runs the module's top level again, like a cold start. An environment serves one request at a time,
and a request that finds every environment of its function busy creates a new one.

NOTE: only the handler module is imported per environment. The shared `renewals` package, os.environ and the
caches inside them (settings, boto3 clients, secrets, Powertools' cold-start flags) are shared by every
environment of the process, whereas in Lambda each environment is a separate process with its own copies. So
Powertools logs `cold_start: true` only for the first invocation of the process.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_stack.template import load_template, resources_of_type

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 3  # Lambda's default when neither the function nor Globals sets Timeout
DEFAULT_MAX_ENVIRONMENTS = 4  # per function; requests beyond it wait for a free environment
DEFAULT_MEMORY_MB = 128  # Lambda's default when neither the function nor Globals sets MemorySize
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_REGION = "us-east-1"

_module_numbers = itertools.count(1)


class FunctionTimedOut(RuntimeError):
    """Raised when a handler returned after its function's Timeout, when Lambda would have stopped it."""


@dataclass(frozen=True)
class FunctionSpec:
    """Location of a function's handler module and the limits the template gives the function."""

    function_id: str
    module_path: Path
    handler_name: str
    timeout_seconds: float
    memory_mb: int


def function_specs(template: dict[str, Any] | None = None) -> dict[str, FunctionSpec]:
    """Return a FunctionSpec for every AWS::Serverless::Function of the template, keyed by logical id.

    The handler setting `app.lambda_handler` names the module `app.py` under CodeUri and its `lambda_handler`.
    """
    template = template or load_template()
    root = Path(__file__).resolve().parent.parent
    defaults = template.get("Globals", {}).get("Function", {})
    specs = {}
    for function_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        properties = resource["Properties"]
        handler = properties.get("Handler", defaults.get("Handler"))
        if not handler or "." not in handler:
            raise ValueError(f"function {function_id} has no handler of the form module.function, got {handler!r}")
        module_name, handler_name = handler.rsplit(".", 1)
        module_path = root / properties["CodeUri"] / (module_name.replace(".", "/") + ".py")
        specs[function_id] = FunctionSpec(
            function_id=function_id,
            module_path=module_path,
            handler_name=handler_name,
            timeout_seconds=float(properties.get("Timeout", defaults.get("Timeout", DEFAULT_TIMEOUT_SECONDS))),
            memory_mb=int(properties.get("MemorySize", defaults.get("MemorySize", DEFAULT_MEMORY_MB))),
        )
    return specs


@dataclass
class LocalLambdaContext:
    """The context object Lambda passes to a handler, with a deadline of the function's Timeout."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    started_at: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[{self.function_version}]{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started_at
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


class ExecutionEnvironment:
    """One import of a function's handler module, serving one request at a time."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        module_name = f"local_lambda_{spec.function_id}_{next(_module_numbers)}"
        module_spec = importlib.util.spec_from_file_location(module_name, spec.module_path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot import the handler module {spec.module_path} of {spec.function_id}")
        module = importlib.util.module_from_spec(module_spec)
        # A real import registers the module, which dataclasses and pickling rely on to resolve its names.
        sys.modules[module_name] = module
        started = time.monotonic()
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
        self.init_seconds = time.monotonic() - started
        handler = getattr(module, spec.handler_name, None)
        if not callable(handler):
            raise ImportError(f"{spec.module_path} has no callable {spec.handler_name} for {spec.function_id}")
        self._handler: Callable[[dict[str, Any], Any], Any] = handler

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler with a fresh context; raise FunctionTimedOut when it ran past the Timeout."""
        context = LocalLambdaContext(
            function_name=self.spec.function_id,
            memory_limit_in_mb=self.spec.memory_mb,
            timeout_seconds=self.spec.timeout_seconds,
        )
        result = self._handler(event, context)
        elapsed = time.monotonic() - context.started_at
        if elapsed > self.spec.timeout_seconds:
            # NOTE: Python cannot stop the handler's thread, so the handler ran to its end and its side effects
            # happened; Lambda would have stopped it at the deadline.
            raise FunctionTimedOut(
                f"{self.spec.function_id} ran {elapsed:.1f} s, past its Timeout of {self.spec.timeout_seconds:g} s"
            )
        return result


class FunctionPool:
    """Execution environments of one function. A busy pool grows by one cold start per waiting request, up to
    `max_environments`. Further requests wait for an environment, as under a reserved concurrency limit.

    The cap matters because every environment shares this process and its two cores with moto, so a burst of
    cold starts would otherwise slow every request down past its function's Timeout.
    """

    def __init__(self, spec: FunctionSpec, max_environments: int = DEFAULT_MAX_ENVIRONMENTS) -> None:
        if max_environments < 1:
            raise ValueError(f"max_environments must be at least 1, not {max_environments}")
        self.spec = spec
        self._idle: list[ExecutionEnvironment] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_environments)
        self._created = 0

    @property
    def size(self) -> int:
        """Number of environments created and not discarded."""
        with self._lock:
            return self._created

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run the event on an idle environment, or on a new one when none is idle, and return the result."""
        with self._slots:
            environment = self._acquire()
            try:
                result = environment.invoke(event)
            except FunctionTimedOut:
                # Lambda discards an environment whose invocation timed out.
                self._discard()
                raise
            except BaseException:
                # A handler error leaves the environment usable, as in Lambda.
                self._release(environment)
                raise
            self._release(environment)
            return result

    def _acquire(self) -> ExecutionEnvironment:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        # The import runs outside the lock, so a slow cold start does not hold up requests for warm environments.
        environment = ExecutionEnvironment(self.spec)
        with self._lock:
            self._created += 1
        log.info(
            "cold start function=%s init_ms=%.0f pool_size=%d",
            self.spec.function_id,
            environment.init_seconds * 1000,
            self.size,
        )
        return environment

    def _release(self, environment: ExecutionEnvironment) -> None:
        with self._lock:
            self._idle.append(environment)

    def _discard(self) -> None:
        with self._lock:
            self._created -= 1
