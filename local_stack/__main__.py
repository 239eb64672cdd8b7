"""Entry point of `python -m local_stack` (what `make run` runs): start the stack, print its URLs, run until stopped.

Ports come from PORT (gateway, default 3000), WALMART_PORT (stand-in Walmart, default 3001) and MOTO_PORT (moto
server, default 3002). SIGINT (Ctrl+C) or SIGTERM stops every part and exits with status 0.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local_stack.stack import LocalStack

ROOT = Path(__file__).resolve().parent.parent
# In Lambda the layer's package is on the import path; locally the layer folder is added the same way.
LAYER_PATH = ROOT / "layers" / "shared"


def _port_from_environment(variable: str, default: int) -> int:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) > 65535:
        raise SystemExit(f"error: {variable} must be a port number from 0 to 65535, got {text!r}")
    return int(text)


def _print_summary(stack: LocalStack) -> None:
    urls = stack.urls
    lines = [
        "",
        "Local stack is running on 127.0.0.1. Press Ctrl+C to stop it.",
        f"  gateway (HTTP API)   {urls.gateway}",
        f"  dashboard            {urls.app}",
        f"  outbox               {urls.outbox}",
        f"  stand-in Walmart     {urls.walmart}  (logins: {urls.walmart}/logins)",
        f"  moto server          {urls.moto}",
        "",
        'Seeded users (get a token with POST /_local/token {"userId": ...}):',
    ]
    lines += [f"  {user.user_id:<20} {user.role:<11} {user.name}" for user in stack.users]
    lines += ["", "Stand-in Walmart logins:"]
    lines += [f"  {login.login:<48} {login.role:<6} seller {login.seller_id}" for login in stack.walmart_logins]
    print("\n".join(lines), flush=True)  # noqa: T201 - the command's output for the person who started it


def main() -> int:
    """Run the stack until SIGINT or SIGTERM; return the process exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # werkzeug logs every moto request line, and botocore and PynamoDB log each new client; warnings still show.
    for noisy in ("werkzeug", "botocore", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if str(LAYER_PATH) not in sys.path:
        sys.path.insert(0, str(LAYER_PATH))

    from local_stack.stack import DEFAULT_MOTO_PORT, DEFAULT_PORT, DEFAULT_WALMART_PORT, LocalStack, StackError

    stack = LocalStack(
        port=_port_from_environment("PORT", DEFAULT_PORT),
        walmart_port=_port_from_environment("WALMART_PORT", DEFAULT_WALMART_PORT),
        moto_port=_port_from_environment("MOTO_PORT", DEFAULT_MOTO_PORT),
    )
    stopping = threading.Event()

    def request_stop(signal_number: int, frame: FrameType | None) -> None:
        logging.getLogger("local_stack").info("stop requested signal=%s", signal.Signals(signal_number).name)
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start()
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201
        return 1
    try:
        _print_summary(stack)
        # wait() with a timeout returns periodically, so the signal handler runs promptly on every platform.
        while not stopping.wait(1.0):
            pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
