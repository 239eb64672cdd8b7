"""Helpers that run `python -m local_stack`, as `make run` does, in a subprocess on free ports, for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 60
SHUTDOWN_TIMEOUT_SECONDS = 20
LOG_TAIL_CHARACTERS = 4000
STACK_COMMAND = [sys.executable, "-m", "local_stack"]


def free_ports(count: int) -> list[int]:
    """Return `count` distinct ports that are free on 127.0.0.1 right now."""
    sockets = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.bind(("127.0.0.1", 0))
            sockets.append(probe)
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def stack_environment(port: int, walmart_port: int, moto_port: int) -> dict[str, str]:
    """Return the environment for a stack subprocess: the caller's, minus AWS settings, plus the three ports."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment.update(PORT=str(port), WALMART_PORT=str(walmart_port), MOTO_PORT=str(moto_port))
    return environment


def log_tail(log_path: Path) -> str:
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    return text[-LOG_TAIL_CHARACTERS:]


@dataclass
class StackProcess:
    """A `python -m local_stack` subprocess and the URLs it serves."""

    process: subprocess.Popen[bytes]
    log_path: Path
    base_url: str
    walmart_url: str
    moto_url: str

    def wait_until_healthy(self, timeout_seconds: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Poll GET /_local/health until it returns 200; fail with the stack's log when it exits or times out."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"local stack exited with status {self.process.returncode}:\n{log_tail(self.log_path)}")
            try:
                if requests.get(f"{self.base_url}/_local/health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.terminate()
        pytest.fail(f"local stack was not healthy within {timeout_seconds} s:\n{log_tail(self.log_path)}")

    def terminate(self) -> int:
        """Send SIGTERM, wait for the exit and return the exit status; kill the process if it does not exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def token_for(self, user_id: str) -> str:
        """Return a bearer token for a seeded user from POST /_local/token."""
        response = requests.post(f"{self.base_url}/_local/token", json={"userId": user_id}, timeout=10)
        response.raise_for_status()
        return response.json()["token"]

    def outbox(self) -> list[dict[str, Any]]:
        """Return the sent emails from GET /_local/outbox.json, oldest first."""
        response = requests.get(f"{self.base_url}/_local/outbox.json", timeout=10)
        response.raise_for_status()
        return response.json()


def start_stack_process(log_path: Path) -> StackProcess:
    """Start `python -m local_stack` on free ports, with its output in `log_path`; do not wait for it."""
    port, walmart_port, moto_port = free_ports(3)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - a fixed command line with this interpreter
            STACK_COMMAND,
            cwd=ROOT,
            env=stack_environment(port, walmart_port, moto_port),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return StackProcess(
        process=process,
        log_path=log_path,
        base_url=f"http://127.0.0.1:{port}",
        walmart_url=f"http://127.0.0.1:{walmart_port}",
        moto_url=f"http://127.0.0.1:{moto_port}",
    )
