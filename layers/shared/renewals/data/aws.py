"""Other AWS services the functions use: Secrets Manager, KMS and EventBridge.

Clients are created lazily, once per execution environment, and honour AWS_ENDPOINT_URL so the local stack can
point them at its own servers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities import parameters

from renewals.clock import to_iso

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_kms import KMSClient

SECRET_CACHE_SECONDS = 300
EVENT_SOURCE = "walmart-connection-renewal"
RENEWED_DETAIL_TYPE = "Walmart connection renewed"


@cache
def client(service: str) -> Any:
    """Return a boto3 client for `service`, shared by every caller in this process."""
    return boto3.client(service)


@dataclass(frozen=True)
class WalmartClientCredentials:
    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"WalmartClientCredentials(client_id={self.client_id!r}, client_secret='***')"


class CredentialsUnavailable(RuntimeError):
    """Raised when the Walmart client credentials secret is missing or malformed."""


def walmart_client_credentials(secret_id: str) -> WalmartClientCredentials:
    """Read the Walmart client id and secret from Secrets Manager, cached for five minutes."""
    try:
        value = parameters.get_secret(secret_id, transform="json", max_age=SECRET_CACHE_SECONDS)
    except parameters.exceptions.GetParameterError as error:
        raise CredentialsUnavailable(f"secret {secret_id} could not be read") from error
    except parameters.exceptions.TransformParameterError as error:
        raise CredentialsUnavailable(f"secret {secret_id} is not JSON") from error
    if not isinstance(value, dict) or not value.get("clientId") or not value.get("clientSecret"):
        raise CredentialsUnavailable(f"secret {secret_id} needs the keys clientId and clientSecret")
    return WalmartClientCredentials(client_id=str(value["clientId"]), client_secret=str(value["clientSecret"]))


def encrypt_for_account(key_id: str, account_id: str, plaintext: str) -> bytes:
    """Encrypt with KMS under the account id as encryption context, so the ciphertext opens for that account only."""
    kms: KMSClient = client("kms")
    answer = kms.encrypt(KeyId=key_id, Plaintext=plaintext.encode("utf-8"), EncryptionContext={"accountId": account_id})
    return answer["CiphertextBlob"]


def decrypt_for_account(account_id: str, ciphertext: bytes) -> str:
    """Decrypt a value stored by `encrypt_for_account`; KMS rejects it under any other account id."""
    kms: KMSClient = client("kms")
    answer = kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext={"accountId": account_id})
    return answer["Plaintext"].decode("utf-8")


class EventNotPublished(RuntimeError):
    """Raised when EventBridge did not accept an event."""


def publish_renewed(bus_name: str, account_id: str, seller_id: str, renewed_at: datetime, channel: str) -> str:
    """Put a "Walmart connection renewed" event on the bus and return its event id."""
    events: EventBridgeClient = client("events")
    detail = {
        "accountId": account_id,
        "walmartSellerId": seller_id,
        "renewedAt": to_iso(renewed_at),
        "channel": channel,
    }
    answer = events.put_events(
        Entries=[
            {
                "EventBusName": bus_name,
                "Source": EVENT_SOURCE,
                "DetailType": RENEWED_DETAIL_TYPE,
                "Detail": json.dumps(detail),
                "Time": renewed_at,
            }
        ]
    )
    entry = answer["Entries"][0]
    if answer.get("FailedEntryCount") or "EventId" not in entry:
        raise EventNotPublished(entry.get("ErrorMessage", "unknown error"))
    return entry["EventId"]
