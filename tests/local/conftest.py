"""Fixture that runs the whole local stack with `python -m local_stack`, as `make run` does, on free ports.

The stack runs in a subprocess because it sets the functions' environment variables in os.environ and keeps
moto's data in process-wide backends, both of which would leak into the moto-mock tests of other folders.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.local.stack_process import StackProcess, start_stack_process


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """Run one local stack for the whole session and stop it at the end."""
    stack = start_stack_process(tmp_path_factory.mktemp("local_stack") / "stack.log")
    try:
        stack.wait_until_healthy()
        yield stack
    finally:
        stack.terminate()
