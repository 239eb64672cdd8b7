import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

from local_stack.template import ROOT, global_environment, http_routes, load_template, resources_of_type
from renewals.settings import Settings

TEMPLATE = load_template()
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
LAYERS = resources_of_type(TEMPLATE, "AWS::Serverless::LayerVersion")


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_handler_resolves_to_callable(aws, function_id):
    # Given the function's CodeUri and Handler, with only the layers' code beside it as in Lambda
    properties = FUNCTIONS[function_id]["Properties"]
    module_name, attribute = properties["Handler"].rsplit(".", 1)
    path = ROOT / properties["CodeUri"] / f"{module_name}.py"

    # When the module is imported
    spec = importlib.util.spec_from_file_location(f"resolve_{function_id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    # Then the handler is a callable taking an event and a context
    handler = getattr(module, attribute)
    assert callable(handler)


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_uses_shared_layer(function_id):
    layers = TEMPLATE["Globals"]["Function"]["Layers"] + FUNCTIONS[function_id]["Properties"].get("Layers", [])
    assert {layer["Ref"] for layer in layers} <= set(LAYERS)
    assert layers


def test_layer_holds_the_package():
    for layer in LAYERS.values():
        content = ROOT / layer["Properties"]["ContentUri"]
        assert (content / "renewals" / "__init__.py").is_file()
        assert (content / "requirements.txt").is_file()


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_has_log_group_with_retention(function_id):
    log_group_ref = FUNCTIONS[function_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = TEMPLATE["Resources"][log_group_ref]

    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert "RetentionInDays" in log_group["Properties"]


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_has_sample_event(function_id):
    folder = Path(FUNCTIONS[function_id]["Properties"]["CodeUri"]).name
    assert list((ROOT / "events").glob(f"{folder}*.json")), f"no sample event events/{folder}*.json"


def test_environment_covers_required_settings():
    # Every setting without a default must be set for every function, or cold starts fail.
    provided = set(global_environment(TEMPLATE))
    required = {field.alias for field in Settings.model_fields.values() if field.is_required()}

    assert required <= provided


def test_local_routes_stay_out_of_template():
    assert all(not route.path.startswith("/_local") for route in http_routes(TEMPLATE))


def test_jwt_only_on_api_routes():
    for route in http_routes(TEMPLATE):
        assert route.requires_jwt == route.path.startswith("/api/"), route.path


def test_tables_encrypted_and_recoverable():
    for logical_id, table in resources_of_type(TEMPLATE, "AWS::DynamoDB::Table").items():
        properties = table["Properties"]
        assert properties["SSESpecification"]["SSEEnabled"] is True, logical_id
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, logical_id


def test_only_callback_may_encrypt_tokens():
    encrypters = [
        function_id
        for function_id, function in FUNCTIONS.items()
        for statement in function["Properties"].get("Policies", [{}])[0].get("Statement", [])
        if any(action.startswith("kms:") for action in statement["Action"])
    ]
    assert encrypters == ["OAuthCallbackFunction"]


def test_layer_pins_match_project_dependencies():
    # The layer's requirements.txt is what `sam build` installs; it must not drift from pyproject.toml.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project_pins = {pin for pin in project["project"]["dependencies"] if not pin.startswith("boto3")}
    layer_lines = (ROOT / "layers/shared/requirements.txt").read_text(encoding="utf-8").splitlines()
    layer_pins = {line.strip() for line in layer_lines if line.strip() and not line.startswith("#")}

    assert layer_pins == project_pins
    assert all(re.search(r"==\d", pin) for pin in layer_pins)
