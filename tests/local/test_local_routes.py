"""Unit tests of the local-only routes and of the environment the stack gives the handlers."""

from __future__ import annotations

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from local_stack.jwt_issuer import LOCAL_AUDIENCE, JwtAuthorizer, JwtIssuer
from local_stack.local_routes import LocalRoutes
from local_stack.seed import USERS
from local_stack.stack import StackError, handler_environment
from local_stack.template import global_environment, load_template
from renewals.clock import Clock


def local_client(waiting: list[str] | None = None) -> Client:
    routes = LocalRoutes(
        users=USERS,
        clock=Clock(),
        not_ready=lambda: list(waiting or []),
        walmart_url="http://127.0.0.1:3001",
        gateway_url="http://127.0.0.1:3000",
        issuer=JwtIssuer("http://127.0.0.1:3000/_local"),
    )

    # Paths the local routes leave to the gateway get 418, so a test can tell them apart.
    @Request.application
    def application(request: Request) -> Response:
        return routes(request) or Response("not local", status=418)

    return Client(application)


def test_health_503_while_starting() -> None:
    # Given a stack whose seed has not run yet, when health is requested
    response = local_client(waiting=["seed"]).get("/_local/health")

    # Then it returns 503 and names what it waits for
    assert response.status_code == 503
    assert response.get_json()["waitingFor"] == ["seed"]


def test_token_503_while_starting() -> None:
    # Given a stack that is still starting, when a token is requested
    response = local_client(waiting=["tables"]).post("/_local/token", json={"userId": "seller-avery"})

    # Then it returns 503
    assert response.status_code == 503


def test_wrong_method_405() -> None:
    # Given a POST-only local route, when it is requested with GET
    response = local_client().get("/_local/token")

    # Then it returns 405 with the allowed method
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_app_without_slash_redirects() -> None:
    # Given the dashboard path without its trailing slash, when it is requested
    response = local_client().get("/app")

    # Then it redirects to /app/
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/app/")


def test_template_paths_not_local() -> None:
    # Given a path of the template's routes, when the local routes see it
    response = local_client().get("/api/renewals/summary")

    # Then they leave it to the gateway
    assert response.status_code == 418


def test_token_verifies_with_published_keys() -> None:
    # Given a token from POST /_local/token and the published key set
    client = local_client()
    token = client.post("/_local/token", json={"userId": "accountant-carla"}).get_json()["token"]
    jwks = client.get("/_local/.well-known/jwks.json").get_json()

    # When an authorizer checks the token against the published keys
    claims = JwtAuthorizer("http://127.0.0.1:3000/_local", [LOCAL_AUDIENCE], jwks).verify(f"Bearer {token}")

    # Then it is accepted for the seeded user
    assert claims["sub"] == "accountant-carla"
    assert claims["name"] == "Carla Diaz"


def test_environment_resolves_every_global() -> None:
    # Given local values for every variable that the template computes
    template = load_template()
    computed = [name for name, value in global_environment(template).items() if isinstance(value, dict)]
    local_values = {name: f"local-{name}" for name in computed}

    # When the handler environment is built
    environment = handler_environment(local_values, template)

    # Then every Globals variable has a value and tracing is off
    assert set(global_environment(template)) <= set(environment)
    assert environment["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    assert environment["POWERTOOLS_TRACE_DISABLED"] == "true"


def test_environment_names_unresolved_variable() -> None:
    # Given a template whose Globals gain a variable without a local value
    template = load_template()
    changed = {**template, "Globals": {"Function": {"Environment": {"Variables": {"NEW_TABLE": {"Ref": "NewTable"}}}}}}

    # When the handler environment is built, then the error names the variable
    with pytest.raises(StackError, match="NEW_TABLE"):
        handler_environment({}, changed)
