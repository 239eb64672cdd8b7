"""Creates the template's AWS resources in moto, for tests (in-process mock) and the local stack (moto server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from local_stack.template import load_template, table_environment, table_specs

LOCAL_CLIENT_ID = "local-walmart-client-id"
LOCAL_CLIENT_SECRET = "local-walmart-client-secret"  # known only to the stand-in Walmart
LOCAL_SECRET_NAME = "local/walmart-client-credentials"
LOCAL_EVENT_BUS = "local-renewals"
LOCAL_SENDER = "renewals@bookkeeping.example"


@dataclass(frozen=True)
class LocalResources:
    """Names and ids of the created resources, as the functions' environment variables."""

    environment: dict[str, str]
    key_id: str


def provision(client: Callable[[str], Any] = boto3.client, table_prefix: str = "") -> LocalResources:
    """Create every table of template.yaml, the token key, the Walmart client secret, the event bus and the
    verified sender. Return the environment variables that point the functions at them."""
    template = load_template()
    dynamodb = client("dynamodb")
    table_names = {}
    for spec in table_specs(template):
        name = f"{table_prefix}{spec.logical_id}"
        dynamodb.create_table(**spec.create_table_arguments(name))
        if spec.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )
        table_names[spec.logical_id] = name

    environment = {variable: table_names[logical_id] for variable, logical_id in table_environment(template).items()}

    key_id = client("kms").create_key(Description="local Walmart token key")["KeyMetadata"]["KeyId"]
    secret = json.dumps({"clientId": LOCAL_CLIENT_ID, "clientSecret": LOCAL_CLIENT_SECRET})
    secret_arn = client("secretsmanager").create_secret(Name=LOCAL_SECRET_NAME, SecretString=secret)["ARN"]
    client("events").create_event_bus(Name=LOCAL_EVENT_BUS)
    client("sesv2").create_email_identity(EmailIdentity=LOCAL_SENDER)

    environment.update(
        TOKEN_KEY_ID=key_id,
        WALMART_CREDENTIALS_SECRET=secret_arn,
        EVENT_BUS_NAME=LOCAL_EVENT_BUS,
        EMAIL_SENDER=LOCAL_SENDER,
    )
    return LocalResources(environment=environment, key_id=key_id)
