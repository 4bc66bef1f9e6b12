# Kubernetes targets (included by the top Makefile). Needs docker, kind, kubectl and helm
# for everything but helm-lint, which falls back to the Python Helm SDK in the venv.
KIND ?= kind
KUBECTL ?= kubectl
HELM ?= helm
DOCKER ?= docker
KIND_CLUSTER ?= shipper
KIND_CONFIG ?= kind-config.yaml
IMAGE_REPO ?= shipper
IMAGE_TAG ?= dev
IMAGE ?= $(IMAGE_REPO):$(IMAGE_TAG)
K8S_NAMESPACE ?= shipper-demo
RELEASE ?= demo

.PHONY: kind-up image kind-load deploy e2e kind-down helm-lint

## Create the local kind cluster (no-op when it exists).
kind-up:
	@$(KIND) get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)' \
	  || $(KIND) create cluster --name '$(KIND_CLUSTER)' --config '$(KIND_CONFIG)' --wait 120s

## Build the shipper image.
image:
	$(DOCKER) build -t '$(IMAGE)' \
	  --build-arg REVISION="$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	  --build-arg CREATED="$$(date -u +%Y-%m-%dT%H:%M:%SZ)" .

## Load the image into the kind nodes.
kind-load: image
	$(KIND) load docker-image '$(IMAGE)' --name '$(KIND_CLUSTER)'

## Install (or upgrade) the chart with the local image into $(K8S_NAMESPACE).
deploy: kind-load
	$(KUBECTL) create namespace '$(K8S_NAMESPACE)' --dry-run=client -o yaml | $(KUBECTL) apply -f -
	$(KUBECTL) label namespace '$(K8S_NAMESPACE)' --overwrite \
	  pod-security.kubernetes.io/enforce=restricted
	$(HELM) upgrade --install '$(RELEASE)' helm/shipper -n '$(K8S_NAMESPACE)' --wait \
	  --set shipper.image.repository='$(IMAGE_REPO)' --set shipper.image.tag='$(IMAGE_TAG)' \
	  --set example.image.pullPolicy=IfNotPresent

## The end-to-end check in kind (skips with a message where kind/docker are missing).
e2e:
	KIND_CLUSTER='$(KIND_CLUSTER)' IMAGE_REPO='$(IMAGE_REPO)' IMAGE_TAG='$(IMAGE_TAG)' \
	  NAMESPACE='$(K8S_NAMESPACE)' RELEASE='$(RELEASE)' scripts/kind-e2e.sh

## Delete the kind cluster.
kind-down:
	$(KIND) delete cluster --name '$(KIND_CLUSTER)'

## Lint both charts strictly (helm if installed, else the venv's Helm SDK).
helm-lint:
	@if command -v $(HELM) >/dev/null 2>&1; then \
	  $(HELM) lint --strict helm/shipper-lib && $(HELM) lint --strict --with-subcharts helm/shipper; \
	else \
	  $(PY) -c 'import helm_python as h, sys; r = [h.lint(p, strict=True) for p in ("helm/shipper-lib", "helm/shipper")]; bad = [m for x in r for m in x["messages"] if m["severity"] >= 2] + [e for x in r for e in x["errors"]]; print("\n".join(map(str, bad)) or "charts lint clean"); sys.exit(1 if bad else 0)'; \
	fi
