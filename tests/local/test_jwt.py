"""Tests of the local JWT issuer and of the gateway's JWT authorizer on a guarded route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.test import Client

from local_stack.gateway import Gateway
from local_stack.jwt_issuer import LOCAL_AUDIENCE, JwtIssuer, JwtRejected, event_claims
from local_stack.template import HttpRoute

ISSUER = "http://127.0.0.1:3000/_local"


class RecordingFunction:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        return {"statusCode": 200, "body": "{}"}


@pytest.fixture(scope="module")
def issuer() -> JwtIssuer:
    # RSA key generation takes a moment, so the module shares one issuer.
    return JwtIssuer(ISSUER)


def guarded_client(issuer: JwtIssuer, function: RecordingFunction) -> Client:
    guarded = HttpRoute(
        function_id="Api",
        code_uri=Path("functions/api"),
        handler="app.lambda_handler",
        method="GET",
        path="/api/renewals/summary",
        requires_jwt=True,
    )
    return Client(Gateway(routes=[guarded], functions={"Api": function}, authorizer=issuer.authorizer()))


def signed(issuer: JwtIssuer, claims: dict[str, Any], key: Any = None) -> str:
    """Sign `claims` with the issuer's key id, using `key` (another key) when given."""
    signing_key = key if key is not None else issuer._private_key
    return jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": issuer.key_id})


def valid_claims(**overrides: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": "seller-avery", "iss": ISSUER, "aud": LOCAL_AUDIENCE, "iat": now, "exp": now + 600}
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def call(issuer: JwtIssuer, authorization: str | None) -> tuple[int, RecordingFunction, dict[str, str]]:
    function = RecordingFunction()
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = guarded_client(issuer, function).get("/api/renewals/summary", headers=headers)
    return response.status_code, function, dict(response.headers)


def test_good_token_passes_claims(issuer: JwtIssuer) -> None:
    # Given a token from the local issuer
    token = issuer.issue("seller-avery", "Avery Lee")

    # When it calls a guarded route
    status, function, _ = call(issuer, f"Bearer {token}")

    # Then the handler runs and receives the claims as strings in requestContext.authorizer.jwt.claims
    assert status == 200
    claims = function.events[0]["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == "seller-avery"
    assert claims["name"] == "Avery Lee"
    assert claims["iss"] == ISSUER
    assert claims["aud"] == LOCAL_AUDIENCE
    assert isinstance(claims["exp"], str)
    assert int(claims["exp"]) - int(claims["iat"]) == 3600


def test_token_without_bearer_prefix_accepted(issuer: JwtIssuer) -> None:
    # Given a token sent without the "Bearer " prefix, which the HttpApi authorizer also accepts
    token = issuer.issue("seller-avery", "Avery Lee")

    # When it calls a guarded route
    status, function, _ = call(issuer, token)

    # Then the handler runs
    assert status == 200
    assert len(function.events) == 1


@pytest.mark.parametrize(
    ("case", "authorization"),
    [
        ("missing bearer", None),
        ("empty bearer", "Bearer "),
        ("not a jwt", "Bearer not-a-token"),
    ],
)
def test_missing_token_rejected(issuer: JwtIssuer, case: str, authorization: str | None) -> None:
    # Given a request without a usable token, when it calls a guarded route
    status, function, headers = call(issuer, authorization)

    # Then the gateway returns 401 and the handler is not called
    assert status == 401, case
    assert function.events == [], case
    assert headers["WWW-Authenticate"].startswith("Bearer "), case


def test_bad_signature_rejected(issuer: JwtIssuer) -> None:
    # Given a token that names the issuer's key but was signed with another key
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = signed(issuer, valid_claims(), key=other_key)

    # When it calls a guarded route
    status, function, headers = call(issuer, f"Bearer {token}")

    # Then it is rejected before the handler
    assert status == 401
    assert function.events == []
    assert "signature" in headers["WWW-Authenticate"]


def test_expired_token_rejected(issuer: JwtIssuer) -> None:
    # Given a token issued two hours ago with a one-hour lifetime
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    old_issuer = JwtIssuer(ISSUER, now=lambda: two_hours_ago)
    token = signed(issuer, jwt.decode(old_issuer.issue("seller-avery", "Avery"), options={"verify_signature": False}))

    # When it calls a guarded route
    status, function, headers = call(issuer, f"Bearer {token}")

    # Then it is rejected as expired
    assert status == 401
    assert function.events == []
    assert "expired" in headers["WWW-Authenticate"]


def test_wrong_audience_rejected(issuer: JwtIssuer) -> None:
    # Given a token for another audience
    token = signed(issuer, valid_claims(aud="another-service"))

    # When it calls a guarded route
    status, function, headers = call(issuer, f"Bearer {token}")

    # Then it is rejected
    assert status == 401
    assert function.events == []
    assert "audience" in headers["WWW-Authenticate"]


def test_wrong_issuer_rejected(issuer: JwtIssuer) -> None:
    # Given a token from another issuer, signed with the right key
    token = signed(issuer, valid_claims(iss="http://127.0.0.1:9999/_local"))

    # When it calls a guarded route
    status, function, headers = call(issuer, f"Bearer {token}")

    # Then it is rejected
    assert status == 401
    assert function.events == []
    assert "issuer" in headers["WWW-Authenticate"]


def test_unknown_key_rejected(issuer: JwtIssuer) -> None:
    # Given a token of another issuer instance, whose key id the gateway does not know
    token = JwtIssuer(ISSUER).issue("seller-avery", "Avery")

    # When it calls a guarded route
    status, function, _ = call(issuer, f"Bearer {token}")

    # Then it is rejected
    assert status == 401
    assert function.events == []


def test_future_nbf_rejected(issuer: JwtIssuer) -> None:
    # Given a token that is not valid for another ten minutes
    token = signed(issuer, valid_claims(nbf=int(datetime.now(UTC).timestamp()) + 600))

    # When it is verified, then it is rejected
    with pytest.raises(JwtRejected, match="not valid yet"):
        issuer.authorizer().verify(f"Bearer {token}")


def test_future_iat_rejected(issuer: JwtIssuer) -> None:
    # Given a token issued ten minutes in the future
    token = signed(issuer, valid_claims(iat=int(datetime.now(UTC).timestamp()) + 600))

    # When it is verified, then it is rejected
    with pytest.raises(JwtRejected, match="not valid yet"):
        issuer.authorizer().verify(f"Bearer {token}")


def test_missing_exp_rejected(issuer: JwtIssuer) -> None:
    # Given a token without an expiry
    token = signed(issuer, valid_claims(exp=None))

    # When it is verified, then it is rejected
    with pytest.raises(JwtRejected):
        issuer.authorizer().verify(f"Bearer {token}")


def test_unsigned_token_rejected(issuer: JwtIssuer) -> None:
    # Given a token with algorithm "none"
    token = jwt.encode(valid_claims(), None, algorithm="none", headers={"kid": issuer.key_id})

    # When it is verified, then it is rejected
    with pytest.raises(JwtRejected, match="algorithm"):
        issuer.authorizer().verify(f"Bearer {token}")


def test_audience_list_accepted(issuer: JwtIssuer) -> None:
    # Given a token whose aud is a list that contains the local audience
    token = signed(issuer, valid_claims(aud=["other", LOCAL_AUDIENCE]))

    # When it is verified
    claims = issuer.authorizer().verify(f"Bearer {token}")

    # Then it is accepted
    assert claims["sub"] == "seller-avery"


def test_client_id_used_without_aud(issuer: JwtIssuer) -> None:
    # Given a token without aud whose client_id is the local audience
    token = signed(issuer, valid_claims(aud=None, client_id=LOCAL_AUDIENCE))

    # When it is verified
    claims = issuer.authorizer().verify(f"Bearer {token}")

    # Then it is accepted, as the HttpApi authorizer falls back to client_id
    assert claims["client_id"] == LOCAL_AUDIENCE


def test_jwks_publishes_public_key(issuer: JwtIssuer) -> None:
    # Given the issuer's key set
    keys = issuer.jwks()["keys"]

    # When it is inspected, then it contains one RSA signing key without private parts
    assert len(keys) == 1
    assert keys[0]["kid"] == issuer.key_id
    assert keys[0]["kty"] == "RSA"
    assert "d" not in keys[0]


def test_event_claims_are_strings() -> None:
    # Given claims of every JSON type
    claims = {"sub": "u1", "iat": 1516239022, "admin": True, "roles": ["user", "editor"], "score": 1.5}

    # When they are converted for the event
    converted = event_claims(claims)

    # Then every value is a string, arrays as "[a b]"
    assert converted == {"sub": "u1", "iat": "1516239022", "admin": "true", "roles": "[user editor]", "score": "1.5"}
