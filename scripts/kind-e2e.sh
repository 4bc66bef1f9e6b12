#!/usr/bin/env bash
# End-to-end check of the shipper chart in a local kind cluster.
#
# Builds the image, loads it into kind, installs helm/shipper, waits for the example
# Deployment and Indexed Job, then checks that the sidecar's stdout holds enriched records
# (k8s.pod, k8s.namespace, job_id, shard_index) and that /metrics counts forwarded and
# dropped records. Exits non-zero on any failure; exits 0 with a SKIP message where kind
# or docker is missing.
#
# Env: KIND_CLUSTER (shipper), IMAGE_REPO (shipper), IMAGE_TAG (dev), NAMESPACE
# (shipper-demo), RELEASE (demo), KEEP_CLUSTER (1 = keep a cluster this script created),
# SKIP_BUILD (1 = use an image already loaded), TIMEOUT (seconds, 240).
set -euo pipefail

KIND_CLUSTER="${KIND_CLUSTER:-shipper}"
IMAGE_REPO="${IMAGE_REPO:-shipper}"
IMAGE_TAG="${IMAGE_TAG:-dev}"
NAMESPACE="${NAMESPACE:-shipper-demo}"
RELEASE="${RELEASE:-demo}"
KEEP_CLUSTER="${KEEP_CLUSTER:-0}"
SKIP_BUILD="${SKIP_BUILD:-0}"
TIMEOUT="${TIMEOUT:-240}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CREATED_CLUSTER=0

log() { printf '[kind-e2e] %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

skip_unless_available() {
  local tool
  for tool in kind docker; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      log "SKIP: '$tool' is not installed; the kind e2e needs docker and kind."
      exit 0
    fi
  done
  if ! docker info >/dev/null 2>&1; then
    log "SKIP: the docker daemon is not reachable; the kind e2e needs a running docker."
    exit 0
  fi
  for tool in kubectl helm python3; do
    command -v "$tool" >/dev/null 2>&1 || { log "ERROR: '$tool' is required"; exit 2; }
  done
}

cleanup() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    log "diagnostics (exit $rc):"
    kubectl -n "$NAMESPACE" get pods -o wide >&2 || true
    kubectl -n "$NAMESPACE" get events --sort-by=.lastTimestamp >&2 || true
  fi
  if [[ $CREATED_CLUSTER -eq 1 && $KEEP_CLUSTER != 1 ]]; then
    log "deleting cluster $KIND_CLUSTER"
    kind delete cluster --name "$KIND_CLUSTER" >&2 || true
  fi
  exit "$rc"
}

ensure_cluster() {
  if kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; then
    log "reusing cluster $KIND_CLUSTER"
  else
    log "creating cluster $KIND_CLUSTER"
    kind create cluster --name "$KIND_CLUSTER" --config "$ROOT/kind-config.yaml" --wait 180s
    CREATED_CLUSTER=1
  fi
  kubectl config use-context "kind-$KIND_CLUSTER" >/dev/null
}

build_and_load() {
  if [[ $SKIP_BUILD == 1 ]]; then
    log "using the already loaded image $IMAGE_REPO:$IMAGE_TAG"
    return
  fi
  docker build -t "$IMAGE_REPO:$IMAGE_TAG" "$ROOT"
  kind load docker-image "$IMAGE_REPO:$IMAGE_TAG" --name "$KIND_CLUSTER"
}

install_chart() {
  kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl label namespace "$NAMESPACE" --overwrite \
    pod-security.kubernetes.io/enforce=restricted >/dev/null
  helm upgrade --install "$RELEASE" "$ROOT/helm/shipper" -n "$NAMESPACE" \
    --set shipper.image.repository="$IMAGE_REPO" --set shipper.image.tag="$IMAGE_TAG" \
    --set shipper.sidecarMode=native --set example.job.lines=20 \
    --set metricsService.type=NodePort --set metricsService.nodePort=30910 \
    --wait --timeout "${TIMEOUT}s"
}

wait_for_pods() {
  kubectl -n "$NAMESPACE" rollout status "deploy/$RELEASE-example" --timeout "${TIMEOUT}s"
  kubectl -n "$NAMESPACE" wait --for=condition=complete "job/$RELEASE-job" --timeout "${TIMEOUT}s" \
    || fail "job $RELEASE-job did not complete"
  sleep 10  # a few example ticks and the sidecar's batch interval
}

# Checks NDJSON records on stdin: $1 = expected namespace, $2 = expected job_id,
# $3 = space-separated shard indexes that must all appear (may be empty).
check_records() {
  python3 - "$@" <<'PY'
import json, sys
namespace, job_id, shards = sys.argv[1], sys.argv[2], sys.argv[3].split()
records = []
for line in sys.stdin:
    try:
        item = json.loads(line)
    except ValueError:
        continue
    if isinstance(item, dict) and {"timestamp", "level", "message", "k8s"} <= item.keys():
        records.append(item)
mine = [r for r in records if r.get("job_id") == job_id]
if not mine:
    sys.exit(f"no record with job_id={job_id!r} among {len(records)} records")
for record in mine:
    k8s = record["k8s"]
    if not k8s.get("pod") or k8s.get("namespace") != namespace:
        sys.exit(f"record not enriched with pod/namespace: {record}")
    if record["level"] == "debug":
        sys.exit(f"debug record was not filtered: {record}")
seen = {str(r.get("shard_index")) for r in mine}
missing = [s for s in shards if s not in seen]
if missing:
    sys.exit(f"no records for shard_index {missing} (seen {sorted(seen)})")
print(f"ok: {len(mine)} enriched records for job_id={job_id}")
PY
}

check_logs() {
  log "checking the service sidecar's records"
  kubectl -n "$NAMESPACE" logs "deploy/$RELEASE-example" -c shipper \
    | check_records "$NAMESPACE" example-service "" || fail "service records"
  log "checking the Indexed Job's records"
  kubectl -n "$NAMESPACE" logs -l "batch.kubernetes.io/job-name=$RELEASE-job" -c shipper \
    --tail=-1 --max-log-requests 10 \
    | check_records "$NAMESPACE" "$RELEASE-job" "0 1 2" || fail "job records"
}

metric_sum() {  # $1 = metric name; sums every sample of it on stdin
  python3 -c '
import sys
name = sys.argv[1]
total = sum(float(line.rsplit(" ", 1)[1]) for line in sys.stdin
            if line.startswith(name + "{") or line.startswith(name + " "))
print(int(total))' "$1"
}

check_metrics() {
  local pod metrics forwarded dropped
  pod="$(kubectl -n "$NAMESPACE" get pods -l app.kubernetes.io/component=example-service \
    -o jsonpath='{.items[0].metadata.name}')"
  metrics="$(kubectl get --raw "/api/v1/namespaces/$NAMESPACE/pods/$pod:9102/proxy/metrics")"
  forwarded="$(metric_sum shipper_records_forwarded_total <<<"$metrics")"
  dropped="$(metric_sum shipper_records_dropped_total <<<"$metrics")"
  log "metrics of $pod: forwarded=$forwarded dropped=$dropped"
  [[ $forwarded -gt 0 ]] || fail "shipper_records_forwarded_total is 0"
  [[ $dropped -gt 0 ]] || fail "shipper_records_dropped_total is 0 (debug lines should drop)"
}

main() {
  skip_unless_available
  trap cleanup EXIT
  ensure_cluster
  build_and_load
  install_chart
  wait_for_pods
  check_logs
  check_metrics
  helm test "$RELEASE" -n "$NAMESPACE" --timeout "${TIMEOUT}s" || fail "helm test"
  log "PASS"
}

main "$@"
