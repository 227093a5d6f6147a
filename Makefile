# kserve-py: the KServe control plane in Python. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CLUSTER_DIR := .cluster
# The pinned Kubernetes binaries (built once, cached): envtest's KUBEBUILDER_ASSETS.
ASSETS = $$(bash hack/build-k8s.sh | tail -n 1)
PYTEST_ARGS ?=

.PHONY: help venv envtest test test-unit test-integration test-cluster lint manifests \
        install uninstall deploy run cluster cluster-down bench clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

$(VENV)/.stamp: pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[dev,bench]'
	@touch $@

venv: $(VENV)/.stamp ## Create the Python environment (.venv) with pinned packages

envtest: ## Build (or find) the pinned Kubernetes binaries; prints their directory last
	@bash hack/build-k8s.sh

test: venv ## Run every test: unit, integration (envtest) and cluster tier
	@export KUBEBUILDER_ASSETS=$(ASSETS) && $(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv ## Unit tests only (no processes)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: venv ## Integration tests on a real etcd + kube-apiserver
	@export KUBEBUILDER_ASSETS=$(ASSETS) && $(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-cluster: venv ## Cluster-tier tests (kube-controller-manager, kube-scheduler, kwok)
	@export KUBEBUILDER_ASSETS=$(ASSETS) && $(PY) -m pytest tests/cluster $(PYTEST_ARGS)

lint: venv ## ruff and mypy (strict on runtime/)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy runtime
	$(VENV)/bin/mypy $(sort $(dir $(wildcard apis/*.py codegen/*.py controllers/*.py examples/*.py bench/*.py)))

manifests: venv ## Generate config/crd/{full,minimal} and config/rbac from the code
	@if [ -d codegen ] && [ -f codegen/__main__.py ]; then $(PY) -m codegen; \
	 else echo "codegen is not there yet: nothing to generate"; fi

cluster: venv ## Start the local cluster in the background; last line: export KUBECONFIG=...
	@export KUBEBUILDER_ASSETS=$(ASSETS) && $(PY) -m runtime.testing.cli up --dir $(CLUSTER_DIR) --cluster

cluster-down: venv ## Stop the local cluster; leaves no process behind
	@$(PY) -m runtime.testing.cli down --dir $(CLUSTER_DIR)

KUBECTL = $(ASSETS)/kubectl --kubeconfig $(CLUSTER_DIR)/admin.kubeconfig

install: cluster ## Install the CRDs into the local cluster (server-side apply)
	@if [ -d config/crd/full ]; then $(KUBECTL) apply --server-side --force-conflicts -f config/crd/full \
	   && $(KUBECTL) wait --for condition=established --timeout=60s -f config/crd/full; \
	 else echo "no CRDs generated yet (config/crd/full)"; fi

uninstall: ## Remove the CRDs from the local cluster
	@if [ -d config/crd/full ]; then $(KUBECTL) delete --ignore-not-found -f config/crd/full; fi

deploy: install ## Apply the kustomize tree (config/default) to the local cluster
	@if [ -f config/default/kustomization.yaml ]; then $(KUBECTL) apply --server-side -k config/default; \
	 else echo "config/default does not exist yet: only the CRDs are installed"; fi

run: install ## Set up everything and run the manager against the local cluster
	@if [ -f controllers/__main__.py ]; then \
	   KUBECONFIG=$(CLUSTER_DIR)/admin.kubeconfig exec $(PY) -m controllers; \
	 else \
	   echo "The local cluster is up with the CRDs installed; the KServe manager (controllers/) is not written yet."; \
	   echo "  kubectl: $(KUBECTL) get crd"; \
	   echo "  the framework's example controller: KUBECONFIG=$(CLUSTER_DIR)/admin.kubeconfig $(PY) -m examples.configmap_mirror"; \
	 fi

bench: venv ## Run the benchmarks; figures go to .bench/results.json
	@export KUBEBUILDER_ASSETS=$(ASSETS) && $(PY) -m bench.run

clean: cluster-down ## Stop the cluster and remove local state (not the binary cache)
	rm -rf $(CLUSTER_DIR) .bench .pytest_cache .mypy_cache .ruff_cache
