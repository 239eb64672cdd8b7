"""The whole local stack in one process: moto server, tables and secrets, demo data, stand-in Walmart and gateway.

Everything listens on 127.0.0.1 only. The handlers run in this process, so they share os.environ with it: start()
sets the functions' environment variables (the template's Globals, resolved to local values) before any handler
module is imported, and stop() puts the previous values back.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from aws_lambda_powertools.utilities import parameters
from moto.server import ThreadedMotoServer

from local_stack.gateway import CorsPolicy, Gateway, ThreadedServer
from local_stack.jwt_issuer import JwtIssuer
from local_stack.lambda_runtime import FunctionPool, function_specs
from local_stack.local_routes import LocalRoutes
from local_stack.moto_patches import serialize_dynamodb_item_operations
from local_stack.outbox import Outbox
from local_stack.resources import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, provision
from local_stack.seed import USERS, DemoUser, seed, user_by_id, walmart_logins
from local_stack.template import cors_configuration, global_environment, http_routes, load_template, resources_of_type
from local_stack.walmart import SellerLogin, StandInConfig, WalmartStandInServer, create_walmart_app
from renewals.clock import clock
from renewals.data import aws as aws_access
from renewals.data.models import bind_tables
from renewals.settings import get_settings

log = logging.getLogger(__name__)

DEFAULT_PORT = 3000
DEFAULT_WALMART_PORT = 3001
DEFAULT_MOTO_PORT = 3002
LOCAL_REGION = "us-east-1"
MOTO_START_TIMEOUT_SECONDS = 15
# Fake credentials: moto accepts any, and real AWS rejects these, so a misrouted call fails instead of acting.
LOCAL_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": LOCAL_REGION,
    "AWS_REGION": LOCAL_REGION,
    # Credentials come from the variables above, so nothing may fall back to the instance metadata service.
    "AWS_EC2_METADATA_DISABLED": "true",
}
# The stand-in Walmart speaks plain http on 127.0.0.1, which oauthlib rejects unless this variable is set.
LOCAL_OAUTH_ENVIRONMENT = {"OAUTHLIB_INSECURE_TRANSPORT": "1"}
# Variables of the caller's shell that would send boto3 somewhere else or to other credentials.
REMOVED_AWS_VARIABLES = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE")


class StackError(RuntimeError):
    """Raised when the local stack cannot start. The message states what failed and what to change."""


class PortInUse(StackError):
    """Raised when a port the stack needs is taken by another process."""

    def __init__(self, port: int, variable: str) -> None:
        super().__init__(
            f"port {port} on 127.0.0.1 is already in use; stop the program using it or set {variable} to a free port"
        )
        self.port = port
        self.variable = variable


@dataclass(frozen=True)
class StackUrls:
    """Base URLs of the running stack."""

    gateway: str
    walmart: str
    moto: str

    @property
    def app(self) -> str:
        return f"{self.gateway}/app/"

    @property
    def outbox(self) -> str:
        return f"{self.gateway}/_local/outbox"


def _check_port(port: int, variable: str) -> None:
    if not 0 <= port <= 65535:
        raise StackError(f"{variable} must be a port number from 0 to 65535, got {port}")
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # The servers set SO_REUSEADDR too, so a port left in TIME_WAIT by an earlier run counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise PortInUse(port, variable) from error


def handler_environment(local_values: dict[str, str], template: dict[str, Any] | None = None) -> dict[str, str]:
    """Resolve the template's Globals environment variables to local values.

    Plain values are taken as they are. A variable whose value is an intrinsic function (a table, a parameter,
    a mapping) needs an entry in `local_values`, and StackError names every variable without one.
    """
    template = template or load_template()
    environment = {}
    unresolved = []
    for name, value in global_environment(template).items():
        if name in local_values:
            environment[name] = local_values[name]
        elif isinstance(value, bool):
            environment[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            environment[name] = str(value)
        else:
            unresolved.append(name)
    if unresolved:
        raise StackError(
            "template.yaml's Globals environment has variables without a local value: "
            + ", ".join(unresolved)
            + "; add them to the local values in local_stack/stack.py"
        )
    # X-Ray has no daemon locally, so the tracer is switched off as it is in tests.
    environment["POWERTOOLS_TRACE_DISABLED"] = "true"
    return environment


class LocalStack:
    """Starts and stops the local stack. Port 0 picks a free port; `urls` names the ports in use."""

    def __init__(
        self, port: int = DEFAULT_PORT, walmart_port: int = DEFAULT_WALMART_PORT, moto_port: int = DEFAULT_MOTO_PORT
    ) -> None:
        self._requested_ports = {"PORT": port, "WALMART_PORT": walmart_port, "MOTO_PORT": moto_port}
        self._ready = {"gateway": False, "moto": False, "walmart": False, "tables": False, "seed": False}
        self._ready_lock = threading.Lock()
        self._saved_environment: dict[str, str | None] = {}
        self._gateway_server: ThreadedServer | None = None
        self._moto: ThreadedMotoServer | None = None
        self._walmart: WalmartStandInServer | None = None
        self._outbox: Outbox | None = None
        self._urls: StackUrls | None = None
        self.issuer: JwtIssuer | None = None
        self.users: tuple[DemoUser, ...] = USERS
        self.walmart_logins: list[SellerLogin] = walmart_logins()

    # ------------------------------------------------------------ public API

    @property
    def urls(self) -> StackUrls:
        if self._urls is None:
            raise StackError("the local stack is not running; call start() first")
        return self._urls

    def not_ready(self) -> list[str]:
        """Return the parts of the stack that are not up yet. An empty list means the stack is ready."""
        with self._ready_lock:
            return [name for name, ready in self._ready.items() if not ready]

    def token_for(self, user_id: str) -> str:
        """Return a bearer token for a seeded user, as POST /_local/token does."""
        user = user_by_id(user_id)
        if user is None or self.issuer is None:
            raise StackError(f"user {user_id!r} is not a seeded user, or the stack is not running")
        return self.issuer.issue(user.user_id, user.name)

    def outbox(self) -> list[dict[str, str]]:
        """Return the sent emails, oldest first, as GET /_local/outbox.json does."""
        return [email.as_json() for email in self._outbox.emails()] if self._outbox is not None else []

    def start(self) -> LocalStack:
        """Start every part in dependency order and return when the stack is ready.

        On failure, the parts already started are stopped and the exception propagates.
        """
        for variable, port in self._requested_ports.items():
            _check_port(port, variable)
        try:
            self._start_parts()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every part that was started and restore the environment variables that start() changed."""
        with self._ready_lock:
            self._ready = dict.fromkeys(self._ready, False)
        if self._gateway_server is not None:
            self._gateway_server.stop()
            self._gateway_server = None
        if self._walmart is not None:
            self._walmart.stop()
            self._walmart = None
        if self._outbox is not None:
            self._outbox.stop()
            self._outbox = None
        if self._moto is not None:
            self._stop_moto(self._moto)
            self._moto = None
        self._restore_environment()
        # The clock belongs to this process, so a shift made through /_local/clock ends with the stack.
        clock.set_offset(timedelta(0))
        self._urls = None
        log.info("local stack stopped")

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------ start-up steps

    def _mark_ready(self, part: str) -> None:
        with self._ready_lock:
            self._ready[part] = True

    def _start_parts(self) -> None:
        # The gateway listens first, so /_local/health returns 503 while the rest starts.
        dispatcher = _Dispatcher()
        self._gateway_server = self._bind(lambda port: ThreadedServer(dispatcher, port, "gateway"), "PORT")
        self._gateway_server.start()
        gateway_url = self._gateway_server.url
        self._mark_ready("gateway")

        moto_url = self._start_moto()
        self._mark_ready("moto")

        walmart_config = StandInConfig(
            client_id=LOCAL_CLIENT_ID,
            client_secret=LOCAL_CLIENT_SECRET,
            redirect_uri=f"{gateway_url}/oauth/callback",
            logins=self.walmart_logins,
            now=clock.now,
        )
        self._walmart = self._bind(
            lambda port: WalmartStandInServer(create_walmart_app(walmart_config), port).start(), "WALMART_PORT"
        )
        self._mark_ready("walmart")
        self._urls = StackUrls(gateway=gateway_url, walmart=self._walmart.url, moto=moto_url)

        self._set_environment({"AWS_ENDPOINT_URL": moto_url, **LOCAL_AWS_ENVIRONMENT})
        resources = provision()
        self._set_environment(
            handler_environment(
                {
                    **resources.environment,
                    "PUBLIC_BASE_URL": gateway_url,
                    "APP_URL": self._urls.app,
                    "WALMART_AUTHORIZE_URL": f"{self._urls.walmart}/authorize",
                    "WALMART_API_BASE_URL": self._urls.walmart,
                    "WALMART_REDIRECT_URI": walmart_config.redirect_uri,
                }
            )
            | LOCAL_OAUTH_ENVIRONMENT
        )
        _clear_layer_caches()
        settings = get_settings()
        bind_tables(settings)
        self._mark_ready("tables")

        result = seed(settings, clock.now())
        log.info(
            "seeded demo data accounts_created=%d accounts_existing=%d suppressions_created=%d",
            result.accounts_created,
            result.accounts_existing,
            result.suppressions_created,
        )
        self._mark_ready("seed")

        self.issuer = JwtIssuer(issuer=f"{gateway_url}/_local")
        self._outbox = Outbox(now=clock.now).start()
        dispatcher.target = self._build_gateway(gateway_url)
        log.info("local stack ready gateway=%s walmart=%s moto=%s", gateway_url, self._urls.walmart, moto_url)

    def _bind(self, create: Any, variable: str) -> Any:
        """Create a server on the requested port, turning "address in use" into PortInUse."""
        port = self._requested_ports[variable]
        try:
            return create(port)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(port, variable) from error
            raise

    def _start_moto(self) -> str:
        port = self._requested_ports["MOTO_PORT"]
        # The gateway runs requests concurrently, like Lambda, so conditional writes must be atomic as in DynamoDB.
        serialize_dynamodb_item_operations()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        # ThreadedMotoServer.start() waits forever when its thread fails to bind, so it runs in a thread of its own.
        starter = threading.Thread(target=server.start, name="moto-start", daemon=True)
        starter.start()
        starter.join(MOTO_START_TIMEOUT_SECONDS)
        if starter.is_alive():
            if port:
                raise PortInUse(port, "MOTO_PORT")
            raise StackError(f"the moto server did not start within {MOTO_START_TIMEOUT_SECONDS} s")
        self._moto = server
        host, bound_port = server.get_host_and_port()
        return f"http://{host}:{bound_port}"

    def _stop_moto(self, server: ThreadedMotoServer) -> None:
        host, port = server.get_host_and_port()
        try:
            # Moto keeps its data in this process, so a reset lets a later start() in the same process begin empty.
            requests.post(f"http://{host}:{port}/moto-api/reset", timeout=5)
        except requests.RequestException:
            log.warning("moto reset failed; its data stays in this process until it exits", exc_info=True)
        server.stop()

    def _build_gateway(self, gateway_url: str) -> Gateway:
        template = load_template()
        _warn_about_function_environments(template)
        specs = function_specs(template)
        for spec in specs.values():
            if not spec.module_path.exists():
                log.warning(
                    "handler module missing function=%s path=%s; its routes return 500",
                    spec.function_id,
                    spec.module_path,
                )
        routes = http_routes(template)
        pools = {function_id: FunctionPool(spec) for function_id, spec in specs.items()}
        cors = CorsPolicy.from_configuration(cors_configuration(template), {"AppOrigin": gateway_url})
        assert self.issuer is not None
        local_routes = LocalRoutes(
            users=self.users,
            clock=clock,
            not_ready=self.not_ready,
            walmart_url=self.urls.walmart,
            gateway_url=gateway_url,
            issuer=self.issuer,
            outbox=self._outbox,
        )
        return Gateway(
            routes=routes,
            functions=pools,
            authorizer=self.issuer.authorizer(),
            cors=cors,
            local_handler=local_routes,
            is_ready=lambda: not self.not_ready(),
        )

    # ------------------------------------------------------------ environment

    def _set_environment(self, values: dict[str, str]) -> None:
        changes: dict[str, str | None] = dict(values)
        for name in os.environ:
            if name in REMOVED_AWS_VARIABLES or name.startswith("AWS_ENDPOINT_URL_"):
                changes[name] = None
        for name, value in changes.items():
            self._saved_environment.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment.clear()
        _clear_layer_caches()


class _Dispatcher:
    """WSGI application that returns 503 until the gateway is built, then passes every request to it."""

    def __init__(self) -> None:
        self.target: Gateway | None = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        if self.target is not None:
            return self.target(environ, start_response)
        start_response("503 SERVICE UNAVAILABLE", [("Content-Type", "application/json")])
        return [b'{"status": "starting"}']


def _clear_layer_caches() -> None:
    """Drop the layer's cached settings, boto3 clients and secrets, which hold the environment of their creation."""
    get_settings.cache_clear()
    aws_access.client.cache_clear()
    parameters.clear_caches()
    parameters.base.DEFAULT_PROVIDERS.clear()


def _warn_about_function_environments(template: dict[str, Any]) -> None:
    for function_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        if resource["Properties"].get("Environment"):
            # NOTE: every handler runs in this one process and reads one os.environ, so a function's own variables
            # cannot be applied to that function alone.
            log.warning("function environment ignored function=%s; only Globals variables apply locally", function_id)
