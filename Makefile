# papertape — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# uv from PATH, else a private copy installed into .tools/ on first use.
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
PYTEST_WORKERS ?= 2

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/python -m pip install --quiet uv

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml cli/pyproject.toml)
	$(UV) sync --frozen --all-groups
	@touch $@

# The dashboard's charting library (pinned, verified, never committed): fetched once, again only
# when the pin in vendor.py changes. Without it the dashboard works and says what to run.
DASHBOARD := services/gateway/src/papertape/gateway/dashboard
$(DASHBOARD)/static/vendor/lightweight-charts.integrity: .venv/.synced $(DASHBOARD)/vendor.py
	@$(UV) run --frozen python -m papertape.gateway.dashboard.vendor \
		|| echo "dashboard: no chart library for now; 'make setup' tries again"

.PHONY: setup
setup: .venv/.synced $(DASHBOARD)/static/vendor/lightweight-charts.integrity ## Create the environment (uv, Python packages, NATS and PostgreSQL binaries, the dashboard's chart library)

.PHONY: run
run: setup ## Run the platform: embedded NATS + PostgreSQL unless NATS_URL/DATABASE_URL are set
	PAPERTAPE_DEMO_ACCOUNT=$${PAPERTAPE_DEMO_ACCOUNT:-demo} $(UV) run --frozen papertape run

.PHONY: test
test: setup audit-deps ## Run every test (real NATS and PostgreSQL; embedded when no URLs are set)
	$(UV) run --frozen pytest -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: audit-deps
audit-deps: setup ## pip-audit of the locked dependencies: a known vulnerability fails it
	@mkdir -p .tools
	$(UV) export --frozen --all-groups --no-emit-workspace --no-hashes --quiet -o .tools/requirements.txt
	$(PYTHON) .ci/audit_dependencies.py $(UV) .tools/requirements.txt

.PHONY: lint
lint: setup ## ruff, mypy --strict and the import-linter contracts
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check libs services cli tests bench
	$(UV) run --frozen mypy libs/contract/src libs/common/src libs/trading/src services/*/src cli/src
	$(UV) run --frozen mypy tests bench
	$(UV) run --frozen lint-imports

.PHONY: fmt
fmt: setup ## Format and auto-fix
	$(UV) run --frozen ruff format libs services cli tests bench
	$(UV) run --frozen ruff check --fix .

.PHONY: schemas
schemas: setup ## Regenerate proto/ (JSON Schema per message and version, AsyncAPI)
	$(UV) run --frozen python -m papertape.contract.schemas write

.PHONY: bench
bench: setup ## Run the benchmarks; records in bench/results/latest.json
	$(UV) run --frozen python -m bench.run

.PHONY: up
up: ## The same stack in containers, with Prometheus and Grafana (needs Docker)
	docker compose up --build -d

.PHONY: down
down: ## Stop the containers
	docker compose down

.PHONY: clean
clean: ## Remove the environment and local data (.papertape/)
	rm -rf .venv .tools .papertape .mypy_cache .ruff_cache .pytest_cache
