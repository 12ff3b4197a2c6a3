# PhotoStorage — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q "uv==$(UV_VERSION)"
	@$(BIN)/uv pip sync -q --python $(BIN)/python requirements.lock
	@$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

.PHONY: venv
venv: $(STAMP) ## create .venv from requirements.lock

.PHONY: lock lock-gpu
lock: ## re-resolve requirements.lock (and requirements-gpu.lock) from pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header -o requirements.lock
	$(MAKE) lock-gpu
# The GPU image's lock: the main lock's versions plus the gpu extra (CuPy and the CUDA runtime
# wheels), resolved for the image's platform whatever machine runs it.
lock-gpu: ## re-resolve requirements-gpu.lock (the gpu extra, linux x86_64, Python 3.11)
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra gpu --constraint requirements.lock \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --no-header \
	  -o requirements-gpu.lock

.PHONY: env env-down env-status env-clean
env: ## start the local environment (Kubernetes + kwok + a real node, PostgreSQL + replica, Redis + Redis Cluster, 3 Kafka brokers, S3)
	hack/env/up.sh
env-down: ## stop the local environment
	hack/env/down.sh
env-status: ## show what runs and where
	hack/env/status.sh
env-clean: env-down ## stop and wipe the local environment's data
	rm -rf var

.PHONY: demo down
demo: venv env ## bring everything up, apply one PhotoStorage and show photos flowing
	@hack/demo.sh
down: venv ## stop what make demo started (its operator and namespace), then the environment
	@if hack/env/status.sh --quiet; then $(BIN)/python hack/demo/demo.py down; fi
	hack/env/down.sh

.PHONY: test test-unit test-integration
test: venv env ## every test, starting what they need
	$(BIN)/pytest $(PYTEST_ARGS)
test-unit: venv ## tests that need no server
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)
test-integration: venv env ## tests against the real servers
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

.PHONY: lint
lint: venv ## ruff, mypy (strict) and the import layers
	$(BIN)/ruff check photostore tests bench hack
	$(BIN)/ruff format --check photostore tests bench hack
	$(BIN)/mypy
	$(BIN)/lint-imports

.PHONY: crd rbac chart-files
CHART := charts/photostore-operator
crd: venv ## regenerate crds/photostorage.yaml from the pydantic spec
	$(BIN)/python -m photostore crd > crds/photostorage.yaml
	$(MAKE) chart-files
rbac: venv ## regenerate the operator's ClusterRole from its registry of kinds
	$(BIN)/python -m photostore rbac > manifests/operator/rbac.yaml
	$(MAKE) chart-files
# Helm reads only files inside the chart: it holds copies (a unit test keeps them equal).
chart-files: venv ## copy the CRDs, RBAC and monitoring manifests into the Helm chart
	cp crds/photostorage.yaml manifests/operator/peering-crds.yaml $(CHART)/crds/
	cp manifests/operator/rbac.yaml manifests/operator/user-roles.yaml $(CHART)/files/
	cp manifests/monitoring/prometheus-rules.yaml manifests/monitoring/grafana-dashboard.json $(CHART)/files/
	$(BIN)/python -m photostore rbac --namespace NAMESPACE > $(CHART)/files/rbac-namespaced.yaml

.PHONY: bench-operator bench-api bench-processor bench-backup bench-search
bench-operator: venv env ## operator: apply to Ready, self-healing, 100 resources
	$(BIN)/python bench/operator_bench.py
bench-api: venv env ## API: upload throughput and list latency against direct baselines
	$(BIN)/python bench/api_bench.py
bench-processor: venv ## processor: thumbnails and pipeline against pyvips
	$(BIN)/python bench/processor_bench.py
bench-backup: venv env ## backup: MB/s vs pg_dump, restore vs pg_restore, verify's cost (500k photos)
	$(BIN)/python bench/backup_bench.py
bench-search: venv env ## search: p50/p99 per search shape, heavy and light user, at 10 M photos
	$(BIN)/python bench/search_bench.py $(BENCH_ARGS)
