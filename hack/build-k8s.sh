#!/usr/bin/env bash
# Build (or find) the pinned Kubernetes binaries: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl and kwok.
#
# Output: progress on stderr; the binaries' directory as the LAST line of stdout
# (envtest's KUBEBUILDER_ASSETS convention). When KUBEBUILDER_ASSETS already points
# at a directory holding every binary, nothing is built.
#
# Binaries are cached under $KSERVE_PY_CACHE (default ~/.cache/kserve-py), in a
# directory keyed by every pinned version, so a version bump rebuilds and an
# unchanged pin costs nothing. Go's module and build caches are Go's own.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)
tag=build-k8s
pins=hack/versions.env
# shellcheck source=build-lib.sh
. "$here/build-lib.sh"

have_all() {
  local dir=$1 b
  for b in "${BINARIES[@]}"; do [ -x "$dir/$b" ] || return 1; done
}

reuse "${KUBEBUILDER_ASSETS:-}" have_all \
  "KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS:-} already holds every binary; nothing to build"

key="k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
out="$cache_root/bin/$key"
reuse "$out" have_all "cached: $out"

require_go "the Kubernetes binaries" "point KUBEBUILDER_ASSETS at prebuilt ones"
begin_build "$key"

ver=${KUBERNETES_VERSION#v}
major=${ver%%.*}; rest=${ver#*.}; minor=${rest%%.*}
kube_ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION} \
 -X k8s.io/component-base/version.gitMajor=${major} \
 -X k8s.io/component-base/version.gitMinor=${minor} \
 -X k8s.io/component-base/version.gitCommit=0000000000000000000000000000000000000000 \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z \
 -X k8s.io/client-go/pkg/version.gitVersion=${KUBERNETES_VERSION} \
 -X k8s.io/client-go/pkg/version.gitMajor=${major} \
 -X k8s.io/client-go/pkg/version.gitMinor=${minor}"

log "building into $out (cold: about 10 minutes on 2 cores; progress below)"

(cd "$here/gomod/etcd"
 log "downloading etcd ${ETCD_VERSION} modules"
 run_go etcd-download go mod download
 log "building etcd ${ETCD_VERSION}"
 run_go etcd go build -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)

(cd "$here/gomod/kubernetes"
 log "downloading Kubernetes ${KUBERNETES_VERSION} modules"
 run_go kubernetes-download go mod download
 for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
   log "building $cmd ${KUBERNETES_VERSION}"
   run_go "$cmd" go build -ldflags "$kube_ldflags" -o "$tmp/$cmd" "k8s.io/kubernetes/cmd/$cmd"
 done)

(cd "$here/gomod/kwok"
 log "downloading kwok ${KWOK_VERSION} modules"
 run_go kwok-download go mod download
 log "building kwok ${KWOK_VERSION}"
 run_go kwok go build -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" -o "$tmp/kwok" sigs.k8s.io/kwok/cmd/kwok)

"$tmp/kube-apiserver" --version >&2 || die "kube-apiserver was built but does not run"
mkdir -p "$out"
for b in "${BINARIES[@]}"; do mv "$tmp/$b" "$out/$b"; done
log "all binaries in $out"
echo "$out"
