# Shared by hack/build-k8s.sh and hack/build-knative.sh (sourced, not run): logging, the
# cache directory, the Go toolchain check, a build's scratch directory, and run_go, which
# names the likely cause of a failed go command. The sourcing script sets `tag` (its log
# prefix) and `pins` (the file holding the version pins, named when a module is refused)
# first.

log() { printf '[%s] %s\n' "$tag" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$tag" "$*" >&2; exit 1; }

# shellcheck disable=SC2034  # used by the sourcing scripts
cache_root=${KSERVE_PY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kserve-py}

# reuse DIR CHECK WHY: when DIR is set and `CHECK DIR` passes, print DIR (the build's
# result) and stop the script.
reuse() {
  local dir=$1 check=$2 why=$3
  if [ -n "$dir" ] && "$check" "$dir"; then
    log "$why"
    echo "$dir"
    exit 0
  fi
}

# require_go WHAT ALTERNATIVE: stop unless a Go toolchain is on PATH.
require_go() {
  command -v go >/dev/null 2>&1 \
    || die "no Go toolchain on PATH: install Go >= 1.24 (only needed to build $1 once), or $2"
  log "using $(go version)"
}

# begin_build KEY: an empty scratch directory $tmp next to $out (removed if the script
# fails, so no half-built result lands in the cache), logs under $logs, static Go builds.
begin_build() {
  tmp="$out.partial"
  logs="$cache_root/logs/$1"
  rm -rf "$tmp"; mkdir -p "$tmp" "$logs"
  trap 'rm -rf "$tmp"' EXIT
  export GOFLAGS="-mod=mod -buildvcs=false -trimpath"
  export CGO_ENABLED=0
}

# run_go WHAT CMD...: run a go command, its output in $logs/WHAT.log; on failure, name the
# likely cause from that output and stop.
run_go() {
  local what=$1; shift
  local logf="$logs/$what.log" start=$SECONDS
  if ! "$@" >"$logf" 2>&1; then
    tail -n 25 "$logf" >&2
    if grep -qE "(410 Gone|404 Not Found|not found: |unknown revision|disabled by GOPROXY|reading .*: .*(403|404|410))" "$logf"; then
      die "$what: the Go module proxy refused a module (see the lines above); check the version pins in $pins"
    elif grep -qE "(dial tcp|i/o timeout|no such host|connection refused|TLS handshake)" "$logf"; then
      die "$what: could not reach the Go module proxy ($(go env GOPROXY))"
    elif grep -qE "SECURITY ERROR|checksum mismatch" "$logf"; then
      die "$what: a module's checksum does not match its pinned go.sum"
    else
      die "$what: go failed (compile or toolchain error, see the lines above; full log was $logf)"
    fi
  fi
  log "$what done in $((SECONDS - start)) s"
}
