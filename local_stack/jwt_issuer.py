"""Local identity provider: issues the app's user JWTs and checks them the way the HttpApi JWT authorizer does.

The key pair is generated when the stack starts, so tokens from an earlier run are rejected.

Expiry, not-before and issued-at are checked against the real wall clock, not against the stack's shiftable
clock (`renewals.clock.clock`). In AWS, API Gateway checks tokens against its own time, which has no local
offset, so shifting the clock by days to show the reminder cadence does not log everybody out.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

LOCAL_AUDIENCE = "walmart-connection-renewal"
TOKEN_LIFETIME = timedelta(hours=1)
SIGNING_ALGORITHM = "RS256"
# The HttpApi JWT authorizer supports only RSA signatures.
ACCEPTED_ALGORITHMS = ("RS256", "RS384", "RS512")
RSA_KEY_BITS = 2048


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class JwtRejected(Exception):
    """Raised when a bearer token fails a check of the authorizer. `reason` goes into the WWW-Authenticate header."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JwtIssuer:
    """Signs user tokens with an RSA key generated at construction and publishes the public key as a JWKS."""

    def __init__(
        self,
        issuer: str,
        audience: str = LOCAL_AUDIENCE,
        lifetime: timedelta = TOKEN_LIFETIME,
        now: Callable[[], datetime] = _wall_clock,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
        self._now = now
        self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
        self.key_id = secrets.token_hex(8)

    def issue(self, user_id: str, name: str, extra_claims: Mapping[str, Any] | None = None) -> str:
        """Return a signed token for `user_id` with sub, name, iss, aud, iat and exp (iat plus the lifetime)."""
        issued_at = self._now()
        claims: dict[str, Any] = {
            "sub": user_id,
            "name": name,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(issued_at.timestamp()),
            "exp": int((issued_at + self.lifetime).timestamp()),
            **(extra_claims or {}),
        }
        return jwt.encode(claims, self._private_key, algorithm=SIGNING_ALGORITHM, headers={"kid": self.key_id})

    def jwks(self) -> dict[str, Any]:
        """Return the public key set, as an issuer publishes it at its `jwks_uri`."""
        key = json.loads(RSAAlgorithm.to_jwk(self._private_key.public_key()))
        key.update(kid=self.key_id, use="sig", alg=SIGNING_ALGORITHM)
        return {"keys": [key]}

    def authorizer(self) -> JwtAuthorizer:
        """Return an authorizer that accepts this issuer's tokens for its audience."""
        return JwtAuthorizer(issuer=self.issuer, audiences=[self.audience], jwks=self.jwks())


@dataclass(frozen=True)
class JwtAuthorizer:
    """Checks bearer tokens as the HttpApi JWT authorizer does, against a fixed key set.

    The checks run in this order. The Authorization header contains a token, with or without the `Bearer `
    prefix. The token header's `kid` names a key of the set, and its `alg` is RSA-based. The signature verifies.
    `iss` equals the configured issuer. `aud` contains a configured audience (or, without `aud`, `client_id` is
    one). `exp` is in the future, and `nbf` and `iat`, when present, are not. Scopes are not checked because no
    route of the template requires any.
    """

    issuer: str
    audiences: Iterable[str]
    jwks: Mapping[str, Any]

    def verify(self, authorization_header: str | None) -> dict[str, Any]:
        """Return the verified claims of the header's token, or raise JwtRejected with the failed check."""
        token = _token_from_header(authorization_header)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise JwtRejected("the token is not a valid JWT") from None
        if header.get("alg") not in ACCEPTED_ALGORITHMS:
            raise JwtRejected(f"the token's signing algorithm {header.get('alg')!r} is not supported")
        key = self._public_key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ACCEPTED_ALGORITHMS),
                issuer=self.issuer,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise JwtRejected("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise JwtRejected("the token is not valid yet") from None
        except jwt.InvalidIssuerError:
            raise JwtRejected("the token does not have a valid issuer") from None
        except jwt.InvalidSignatureError:
            raise JwtRejected("the token's signature is invalid") from None
        except jwt.InvalidTokenError as error:
            raise JwtRejected(f"the token is invalid: {error}") from None
        self._check_audience(claims)
        return claims

    def _public_key(self, key_id: object) -> Any:
        for key in self.jwks.get("keys", []):
            if key.get("kid") == key_id:
                return RSAAlgorithm.from_jwk(key)
        raise JwtRejected("the token's kid does not name a key of the issuer")

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        accepted = set(self.audiences)
        if "aud" in claims:
            audience = claims["aud"]
            presented = {audience} if isinstance(audience, str) else set(audience or [])
        else:
            presented = {claims.get("client_id")}
        if not presented & accepted:
            raise JwtRejected("the token does not have a valid audience")


def _token_from_header(authorization_header: str | None) -> str:
    value = (authorization_header or "").strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    if not value:
        raise JwtRejected("the request has no bearer token in the Authorization header")
    return value


def event_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Return claims as the HttpApi puts them into `requestContext.authorizer.jwt.claims`: every value a string.

    Numbers and booleans become their JSON text, and arrays become their items separated by spaces inside
    brackets, such as "[admin editor]".
    """
    return {name: _claim_text(value) for name, value in claims.items()}


def _claim_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if math.isfinite(value) and value.is_integer() else repr(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(_claim_text(item) for item in value) + "]"
    if isinstance(value, dict):
        # NOTE: AWS does not document how an object claim is rendered, so this Go-style "map[key:value]" form is a
        # guess that matches the "[a b]" form of arrays. None of the app's claims is an object.
        return "map[" + " ".join(f"{key}:{_claim_text(item)}" for key, item in sorted(value.items())) + "]"
    if value is None:
        return ""
    return str(value)
