# kserve-py: the KServe control plane in Python. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CLUSTER_DIR := .cluster
# The pinned Kubernetes binaries (built once, cached): envtest's KUBEBUILDER_ASSETS.
ASSETS = $$(bash hack/build-k8s.sh | tail -n 1)
# Knative Serving's controller, autoscaler and webhook (built once, cached): the Knative tier.
KNATIVE = $$(bash hack/build-knative.sh | tail -n 1)
PYTEST_ARGS ?=
# Extra flags for the manager started by `make run` / `make deploy`, e.g. --zap-encoder=console;
# WEBHOOK_PORT: where it serves the webhooks the API server is pointed at
MANAGER_FLAGS ?=
WEBHOOK_PORT ?= 9443

.PHONY: help venv envtest knative test test-unit test-integration test-cluster test-knative lint manifests \
        install uninstall apply-local deploy run e2e cluster cluster-down bench clean

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

knative: ## Build (or find) Knative Serving's binaries for the Knative tier; prints their directory last
	@bash hack/build-knative.sh

# The Knative tier runs in a session of its own, after the rest: Knative's autoscaler holds
# :8080 while it is up.
test: $(VENV)/.e2e-stamp ## Run every test: unit, integration (envtest), cluster tier, e2e, then the Knative tier
	@export KUBEBUILDER_ASSETS=$(ASSETS) && $(PY) -m pytest tests e2e --ignore=tests/knative $(PYTEST_ARGS)
	@export KUBEBUILDER_ASSETS=$(ASSETS) KNATIVE_ASSETS=$(KNATIVE) && $(PY) -m pytest tests/knative $(PYTEST_ARGS)

test-unit: venv ## Unit tests only (no processes)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: venv ## Integration tests on a real etcd + kube-apiserver
	@export KUBEBUILDER_ASSETS=$(ASSETS) && $(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-cluster: venv ## Cluster-tier tests (kube-controller-manager, kube-scheduler, kwok)
	@export KUBEBUILDER_ASSETS=$(ASSETS) && $(PY) -m pytest tests/cluster $(PYTEST_ARGS)

test-knative: venv ## The Knative tier: Knative Serving's own controllers on the cluster tier
	@export KUBEBUILDER_ASSETS=$(ASSETS) KNATIVE_ASSETS=$(KNATIVE) && $(PY) -m pytest tests/knative $(PYTEST_ARGS)

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
	   && for i in $$(seq 30); do $(KUBECTL) wait --for condition=established --timeout=60s \
	        -f config/crd/full 2>/dev/null && break; sleep 1; done; \
	 else echo "no CRDs generated yet (config/crd/full)"; fi

uninstall: ## Remove the CRDs from the local cluster
	@if [ -d config/crd/full ]; then $(KUBECTL) delete --ignore-not-found -f config/crd/full; fi

# The local cluster's API server cannot reach a Service (no kube-proxy): the webhook
# configurations are re-created by the apply and pointed at the local manager process by
# e2e/local.py, which then execs the manager (Ctrl-C stops it gracefully).
LOCAL_OVERLAY := config/overlays/local
apply-local: install
	@$(KUBECTL) delete --ignore-not-found -k config/webhook >/dev/null
	$(KUBECTL) apply --server-side --force-conflicts -k $(LOCAL_OVERLAY)

deploy: apply-local ## Apply config/default (local overlay); run the manager as its ServiceAccount
	$(KUBECTL) -n kserve rollout status deployment/kserve-controller-manager --timeout=120s
	@echo "The Deployment's pod runs on a simulated node (no kubelet runs its image); the manager"
	@echo "process runs here with the token its ServiceAccount would have, under the generated RBAC."
	@export KUBEBUILDER_ASSETS=$(ASSETS) && exec $(PY) -m e2e.local manager \
	   --kubeconfig $(CLUSTER_DIR)/admin.kubeconfig --webhook-port $(WEBHOOK_PORT) \
	   --service-account kserve/kserve-controller-manager \
	   -- --leader-elect $(MANAGER_FLAGS)

run: apply-local ## Start the local cluster, install everything and run the manager in the foreground
	@echo "kubectl: $(KUBECTL) get isvc -A   (try: $(KUBECTL) apply -f config/samples/serving_v1beta1_inferenceservice_sklearn_iris.yaml)"
	@export KUBEBUILDER_ASSETS=$(ASSETS) && exec $(PY) -m e2e.local manager \
	   --kubeconfig $(CLUSTER_DIR)/admin.kubeconfig --webhook-port $(WEBHOOK_PORT) -- $(MANAGER_FLAGS)

$(VENV)/.e2e-stamp: $(VENV)/.stamp pyproject.toml requirements.lock
	$(PY) -m pip install -q -c requirements.lock -e '.[e2e]'
	@touch $@

e2e: $(VENV)/.e2e-stamp ## End-to-end suite: the manager process under its generated RBAC (E2E_KUBECONFIG, else a local cluster)
	@export KUBEBUILDER_ASSETS=$(ASSETS) && $(PY) -m pytest e2e $(PYTEST_ARGS)

bench: venv ## Run the benchmarks; figures go to .bench/results.json
	@export KUBEBUILDER_ASSETS=$(ASSETS) && $(PY) -m bench.run

clean: cluster-down ## Stop the cluster and remove local state (not the binary cache)
	rm -rf $(CLUSTER_DIR) .bench .pytest_cache .mypy_cache .ruff_cache
