#!/usr/bin/env bash
# Build (or find) Knative Serving's controller, autoscaler and webhook, pinned by
# hack/gomod/knative/go.mod (knative.dev/serving), plus the YAML the Knative test tier
# installs: serving's CRDs, namespace and ConfigMaps, and the networking and caching CRDs
# Serving's reconcilers write (KIngress, Certificate, ServerlessService, DomainClaim, Image).
#
# Output: progress on stderr; the output directory as the LAST line of stdout (the tier's
# KNATIVE_ASSETS). When KNATIVE_ASSETS already points at a complete directory, nothing is
# built. Layout of that directory:
#   controller autoscaler webhook          the binaries
#   config/serving/core/...                knative.dev/serving's config/core tree
#   config/networking/*.yaml               knative.dev/networking's config/
#   config/caching/*.yaml                  knative.dev/caching's config/
#   VERSION                                the serving version built
#
# Cached under $KSERVE_PY_CACHE (default ~/.cache/kserve-py)/bin/knative-serving-<version>-<go.sum hash>,
# so changing a pin rebuilds and an unchanged pin costs nothing. Cold: about 5-6 minutes on
# 2 cores (module downloads, then the controller; the other two take seconds after it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mod="$here/gomod/knative"
BINARIES=(controller autoscaler webhook)

tag=build-knative
pins=hack/gomod/knative/go.mod
# shellcheck source=build-lib.sh
. "$here/build-lib.sh"

complete_dir() {
  local dir=$1 b
  for b in "${BINARIES[@]}"; do [ -x "$dir/$b" ] || return 1; done
  [ -f "$dir/VERSION" ] && [ -d "$dir/config/serving/core/300-resources" ] \
    && [ -f "$dir/config/networking/ingress.yaml" ] && [ -f "$dir/config/caching/image.yaml" ]
}

reuse "${KNATIVE_ASSETS:-}" complete_dir \
  "KNATIVE_ASSETS=${KNATIVE_ASSETS:-} is complete; nothing to build"

serving_version=$(awk '$1 == "require" && $2 == "knative.dev/serving" {print $3}' "$mod/go.mod")
[ -n "$serving_version" ] || die "hack/gomod/knative/go.mod does not require knative.dev/serving"
sum_hash=$(sha256sum "$mod/go.sum" | cut -c1-12)
key="knative-serving-${serving_version}-${sum_hash}"
out="$cache_root/bin/$key"
reuse "$out" complete_dir "cached: $out"

require_go "Knative Serving" "point KNATIVE_ASSETS at a prebuilt directory"
begin_build "$key"
# The checksum database has no entries for knative.dev's pseudo-versions; go.sum pins them.
export GONOSUMDB="knative.dev${GONOSUMDB:+,$GONOSUMDB}"

log "building Knative Serving ${serving_version} into $out (cold: about 5-6 minutes on 2 cores)"
cd "$mod"
log "downloading modules"
run_go download go mod download
for cmd in "${BINARIES[@]}"; do
  log "building $cmd"
  run_go "$cmd" go build -ldflags "-s -w" -o "$tmp/$cmd" "knative.dev/serving/cmd/$cmd"
done

# The YAML comes from the very modules the binaries were built from.
module_dir() { go list -m -f '{{.Dir}}' "$1"; }
serving_dir=$(module_dir knative.dev/serving)
networking_dir=$(module_dir knative.dev/networking)
caching_dir=$(module_dir knative.dev/caching)
mkdir -p "$tmp/config/serving" "$tmp/config/networking" "$tmp/config/caching"
cp -r "$serving_dir/config/core" "$tmp/config/serving/core"
for f in certificate.yaml ingress.yaml serverlessservice.yaml domain-claim.yaml config-network.yaml; do
  cp "$networking_dir/config/$f" "$tmp/config/networking/$f"
done
cp "$caching_dir/config/image.yaml" "$tmp/config/caching/image.yaml"
chmod -R u+w "$tmp/config"   # the module cache is read-only
echo "$serving_version" >"$tmp/VERSION"

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
log "Knative Serving ${serving_version} in $out"
echo "$out"
