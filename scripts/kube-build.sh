#!/usr/bin/env bash
# Builds the pieces of a small Kubernetes from the Go module proxy into a cache outside the repository,
# ${DOCKERCOINS_CACHE:-$HOME/.cache/dockercoins}/kube/<versions>/bin/, and reuses them next time: no Kubernetes
# image, release binary or minikube download can be reached on the project's machines, but the Go module
# proxy serves the sources. Nothing built is ever committed.
#
#   scripts/kube-build.sh [component...]     default: etcd kube-apiserver kubectl
#   components: etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl
#               cri-dockerd (the kubelet's runtime on a Docker engine, as minikube's docker driver), coredns,
#               metrics-server
#
# Progress and each build's time go to stderr; the last line of stdout is the bin directory.
# Knob: KUBE_GO_JOBS (default 2) is `go build -p`; builds run under `nice -n 10` (the machine is shared).
set -euo pipefail

KUBE_VERSION=v1.34.4     # the last minor that still runs on cgroup v1 hosts by default
STAGING_VERSION=v0.34.4  # k8s.io/api, apimachinery, client-go, ... published for that release
ETCD_VERSION=v3.6.16
CRI_DOCKERD_VERSION=v0.3.17  # v0.4 needs Docker API 1.42 (Docker 23+); Debian 12 has 20.10 (1.41)
COREDNS_VERSION=v1.14.7
METRICS_SERVER_VERSION=v0.8.0

# Every version is in the name: a changed pin builds into a new directory.
cache="${DOCKERCOINS_CACHE:-$HOME/.cache/dockercoins}/kube/k8s-${KUBE_VERSION}_etcd-${ETCD_VERSION}_cri-dockerd-${CRI_DOCKERD_VERSION}_coredns-${COREDNS_VERSION}_metrics-server-${METRICS_SERVER_VERSION}"
bin="$cache/bin"
src="$cache/src"
jobs="${KUBE_GO_JOBS:-2}"
log() { printf '[kube-build] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
command -v go >/dev/null || die "Go is needed to build Kubernetes from its modules (apt-get install golang-go is too old: use go.dev/dl)"

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(etcd kube-apiserver kubectl)
export GOFLAGS="-mod=mod -buildvcs=false" GOWORK=off CGO_ENABLED=0 GOTOOLCHAIN=local
mkdir -p "$bin" "$src"

timed() { # name, command...
  local name=$1 t0
  shift
  t0=$(date +%s)
  log "building $name ..."
  nice -n 10 "$@" >&2 || die "building $name failed"
  log "  $name built in $(( $(date +%s) - t0 ))s"
}

# etcd: its server module's etcdmain, behind a two-line main (the etcd command's own module replaces its
# siblings with local paths, which a module download does not carry).
build_etcd() {
  local d="$src/etcd"
  mkdir -p "$d"
  cat >"$d/main.go" <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  [ -f "$d/go.mod" ] || (cd "$d" && go mod init dockercoins.local/etcd >/dev/null 2>&1)
  (cd "$d" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2 && go mod tidy >&2)
  timed etcd bash -c "cd '$d' && go build -p $jobs -trimpath -ldflags '-s -w' -o '$bin/etcd' ."
}

# Kubernetes: the k8s.io/kubernetes module as published. Its go.mod points each staging module
# (k8s.io/api, ...) at ./staging/src, which the module zip leaves empty: require the published ones instead.
kube_source() {
  local d="$src/kubernetes"
  if [ ! -f "$d/.prepared" ]; then
    log "preparing k8s.io/kubernetes@$KUBE_VERSION (module download, ~1 min the first time)"
    local dir
    dir=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$dir" ] || die "k8s.io/kubernetes@$KUBE_VERSION could not be downloaded"
    rm -rf "$d"
    cp -r "$dir" "$d"
    chmod -R u+w "$d"
    rm -rf "$d/go.work" "$d/go.work.sum" "$d/vendor"
    local edits=() m
    for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*#\1#p' "$d/go.mod"); do
      edits+=("-dropreplace=$m" "-require=$m@$STAGING_VERSION")
    done
    (cd "$d" && go mod edit "${edits[@]}")
    touch "$d/.prepared"
  fi
  echo "$d"
}

build_kube() { # component
  local d minor=${KUBE_VERSION#v1.}
  d=$(kube_source)
  minor=${minor%%.*}
  local v="k8s.io/component-base/version"
  local ldflags="-s -w -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
  timed "$1" bash -c "cd '$d' && go build -p $jobs -trimpath -ldflags '$ldflags' -o '$bin/$1' ./cmd/$1"
}

# A program whose module is its own main module (its replace directives point at published versions).
build_module() { # name, module, version, package
  local d="$src/$1-$3"
  if [ ! -f "$d/.prepared" ]; then
    local dir
    dir=$(go mod download -json "$2@$3" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$dir" ] || die "$2@$3 could not be downloaded"
    rm -rf "$d" && cp -r "$dir" "$d" && chmod -R u+w "$d" && rm -rf "$d/vendor" "$d/go.work"
    touch "$d/.prepared"
  fi
  timed "$1 $3" bash -c "cd '$d' && go build -p $jobs -trimpath -ldflags '-s -w' -o '$bin/$1' $4"
}

for c in "${components[@]}"; do
  if [ -x "$bin/$c" ]; then
    log "$c: present ($bin/$c)"
    continue
  fi
  case "$c" in
    etcd) build_etcd ;;
    kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kube-proxy | kubectl) build_kube "$c" ;;
    cri-dockerd) build_module cri-dockerd github.com/Mirantis/cri-dockerd "$CRI_DOCKERD_VERSION" . ;;
    coredns) build_module coredns github.com/coredns/coredns "$COREDNS_VERSION" . ;;
    metrics-server) build_module metrics-server sigs.k8s.io/metrics-server "$METRICS_SERVER_VERSION" ./cmd/metrics-server ;;
    *) die "unknown component $c" ;;
  esac
done
echo "$bin"
