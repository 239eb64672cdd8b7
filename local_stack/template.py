"""Reads template.yaml, the single source of tables and routes for tests and the local stack."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"

_SHORT_TAGS = {
    "!Ref": "Ref",
    "!Sub": "Fn::Sub",
    "!GetAtt": "Fn::GetAtt",
    "!FindInMap": "Fn::FindInMap",
    "!If": "Fn::If",
    "!Join": "Fn::Join",
    "!Select": "Fn::Select",
    "!Split": "Fn::Split",
    "!Equals": "Fn::Equals",
    "!Not": "Fn::Not",
    "!And": "Fn::And",
    "!Or": "Fn::Or",
    "!Condition": "Condition",
    "!GetAZs": "Fn::GetAZs",
    "!ImportValue": "Fn::ImportValue",
    "!Base64": "Fn::Base64",
}


class _TemplateLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation's short tags into their long JSON form."""


def _construct_short_tag(loader: _TemplateLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = _SHORT_TAGS.get("!" + suffix)
    if name is None:
        raise yaml.constructor.ConstructorError(None, None, f"unknown tag !{suffix}", node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_TemplateLoader.add_multi_constructor("!", _construct_short_tag)


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table of the template, ready for CreateTable under a chosen name."""

    logical_id: str
    create_arguments: dict[str, Any]
    ttl_attribute: str | None

    def create_table_arguments(self, table_name: str) -> dict[str, Any]:
        return {"TableName": table_name, **self.create_arguments}


def table_specs(template: dict[str, Any] | None = None) -> list[TableSpec]:
    """Return every AWS::DynamoDB::Table of the template with the properties CreateTable accepts."""
    template = template or load_template()
    specs = []
    for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        properties = resource["Properties"]
        arguments: dict[str, Any] = {
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "KeySchema": properties["KeySchema"],
            "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in properties:
            arguments["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        ttl = properties.get("TimeToLiveSpecification", {})
        ttl_attribute = ttl.get("AttributeName") if ttl.get("Enabled") else None
        specs.append(TableSpec(logical_id, arguments, ttl_attribute))
    return specs


def global_environment(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the Globals.Function environment variables, with intrinsic functions left unresolved."""
    template = template or load_template()
    return dict(template["Globals"]["Function"]["Environment"]["Variables"])


def table_environment(template: dict[str, Any] | None = None) -> dict[str, str]:
    """Map each environment variable that names a table to that table's logical id."""
    template = template or load_template()
    tables = set(resources_of_type(template, "AWS::DynamoDB::Table"))
    mapping = {}
    for name, value in global_environment(template).items():
        if isinstance(value, dict) and value.get("Ref") in tables:
            mapping[name] = value["Ref"]
    return mapping


@dataclass(frozen=True)
class HttpRoute:
    """One HttpApi event of a function: method, path template and whether the JWT authorizer guards it."""

    function_id: str
    code_uri: Path
    handler: str
    method: str
    path: str
    requires_jwt: bool


def http_routes(template: dict[str, Any] | None = None) -> list[HttpRoute]:
    """Return every HttpApi route of every function, in template order."""
    template = template or load_template()
    default_handler = template.get("Globals", {}).get("Function", {}).get("Handler")
    routes = []
    for function_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        properties = resource["Properties"]
        for event in properties.get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            event_properties = event["Properties"]
            authorizer = event_properties.get("Auth", {}).get("Authorizer")
            routes.append(
                HttpRoute(
                    function_id=function_id,
                    code_uri=ROOT / properties["CodeUri"],
                    handler=properties.get("Handler", default_handler),
                    method=event_properties["Method"].upper(),
                    path=event_properties["Path"],
                    requires_jwt=authorizer != "NONE",
                )
            )
    return routes


def cors_configuration(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the HttpApi's CorsConfiguration (origins may be unresolved parameter references)."""
    template = template or load_template()
    for resource in resources_of_type(template, "AWS::Serverless::HttpApi").values():
        return dict(resource["Properties"].get("CorsConfiguration", {}))
    return {}
