# Two commands do everything on a fresh machine: `make run` (local stack) and `make test`.
# Each one creates the virtual environments it needs from the pinned requirements.

PYTHON ?= python3
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
export AWS_DEFAULT_REGION ?= us-east-1

# sam build compiles the layer for the runtime in template.yaml, so it needs that Python on PATH.
# A pyenv shim may exist without a working interpreter behind it, so each candidate is run once.
LAMBDA_PYTHON ?= $(shell for candidate in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do \
	"$$candidate" -c "" >/dev/null 2>&1 && { command -v "$$candidate"; break; }; done)

.PHONY: run test lint build clean lock

$(BIN)/.installed: requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --requirement requirements/dev.txt
	touch $@

$(SAM_VENV)/bin/.installed: requirements/sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet --requirement requirements/sam.txt
	touch $@

run: $(BIN)/.installed
	$(BIN)/python -m local_stack

test: $(BIN)/.installed
	$(BIN)/pytest

lint: $(BIN)/.installed $(SAM_VENV)/bin/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --template-file template.yaml --region $(AWS_DEFAULT_REGION)

build: $(SAM_VENV)/bin/.installed
	@test -n "$(LAMBDA_PYTHON)" || { echo "sam build needs python3.13 on PATH (the runtime in template.yaml)"; exit 1; }
	PATH="$(dir $(LAMBDA_PYTHON)):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build --template-file template.yaml

# Resolves pyproject.toml's direct dependencies in a scratch environment and pins the whole set.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip
	$(PYTHON) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
		print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > .venv-lock/direct.txt
	.venv-lock/bin/pip install --quiet --requirement .venv-lock/direct.txt
	{ echo "# Every package of the development environment, pinned. Regenerate with \`make lock\` after changing pyproject.toml."; \
		.venv-lock/bin/pip freeze; } > requirements/dev.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) $(SAM_VENV) .venv-lock .aws-sam .pytest_cache .ruff_cache
