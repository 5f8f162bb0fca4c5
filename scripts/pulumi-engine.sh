#!/usr/bin/env bash
# Provides the Pulumi engine this project deploys with: the `pulumi` CLI and the Node.js language host, plus
# the command and docker resource provider plugins at the versions package-lock.json pins.
#
# - A working `pulumi` already on PATH is used as it is (that is what users have; it downloads plugins itself).
# - Otherwise the CLI and the language host are built from the Go module proxy into a cache outside the
#   repository, ${DOCKERCOINS_CACHE:-$HOME/.cache/dockercoins}/pulumi-engine/<versions>/bin/, and reused
#   from there next time: the CLI cannot be downloaded on machines without the vendor's site.
# - The provider plugins are used as they are present: already installed (`pulumi plugin install resource
#   docker 4.11.2`, in ~/.pulumi/plugins), or as binaries pulumi-resource-command and pulumi-resource-docker
#   placed in that bin/ directory, which this script installs as plugins. It never builds them: the module
#   proxy refuses their modules (403), and where they are missing it says so and how to get them.
#
# Progress and the time of each step go to stderr. The last line of stdout is the directory to put on PATH
# (the CLI and its language host only: provider binaries on PATH would shadow the installed plugins):
#   PATH="$(scripts/pulumi-engine.sh | tail -1):$PATH"     (or: source scripts/pulumi-env.sh)
#
# Knob: PULUMI_ENGINE_GO_JOBS (default 1) is `go build -p`: builds run under `nice -n 10` on shared 2-core machines.
#
# On the project's machines (2026-11) the module proxy serves the CLI's modules but refuses (403) the Node.js
# language host module at the release commit: the host then comes from an older sdk release (step 2).
#
# --check: only say whether an engine is present (exit 0, the PATH directory on stdout) or not (exit 1, the
# reason on stderr); never builds. The end-to-end test of `pulumi up` uses it to run or to skip.
# --with-kubernetes: the kubernetes provider plugin too (the minikube target), at @pulumi/kubernetes' version.
set -euo pipefail
check_only=false
with_kubernetes=false
for arg in "$@"; do
  case "$arg" in
    --check) check_only=true ;;
    --with-kubernetes) with_kubernetes=true ;;
    *) echo "usage: $0 [--check] [--with-kubernetes]" >&2; exit 2 ;;
  esac
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf '[pulumi-engine] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
trap 'status=$?; [ "$status" = 0 ] || log "FAILED (exit $status): no complete engine; the reason is above"' EXIT

export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

if existing=$(command -v pulumi) && pulumi version >/dev/null 2>&1; then
  log "using $existing ($(pulumi version))"
  dirname "$existing"
  exit 0
fi

# Versions come from the npm lockfile only, so the engine always matches the SDKs the program loads.
lock_version() {
  node -e 'const p = require(process.argv[1]).packages["node_modules/" + process.argv[2]];
           if (!p) process.exit(1); console.log(p.version)' "$repo/package-lock.json" "$1" ||
    die "$1 is not in package-lock.json"
}
pulumi_version=$(lock_version @pulumi/pulumi)
command_version=$(lock_version @pulumi/command)
docker_version=$(lock_version @pulumi/docker)
docker_major=${docker_version%%.*}
# The provider plugins this run needs, as "name version".
needed_plugins=("command $command_version" "docker $docker_version")
$with_kubernetes && needed_plugins+=("kubernetes $(lock_version @pulumi/kubernetes)")

cache="${DOCKERCOINS_CACHE:-$HOME/.cache/dockercoins}/pulumi-engine/pulumi-${pulumi_version}_command-${command_version}_docker-${docker_version}"
bin="$cache/bin"
path_dir="$cache/path"
src="$cache/src"
plugins="${PULUMI_HOME:-$HOME/.pulumi}/plugins"

plugin_installed() { [ -x "$plugins/resource-$1-v$2/pulumi-resource-$1" ]; }
plugins_installed() {
  local p
  for p in "${needed_plugins[@]}"; do plugin_installed $p || return 1; done
}
engine_ready() {
  [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-nodejs" ] && [ -d "$path_dir" ] && plugins_installed
}
if engine_ready; then
  log "using the cached engine in $bin"
  echo "$path_dir"
  exit 0
fi
if $check_only; then
  trap - EXIT
  [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-nodejs" ] || log "no pulumi on PATH and no engine built in $bin"
  for p in "${needed_plugins[@]}"; do
    set -- $p
    plugin_installed "$1" "$2" || log "the $1 provider plugin v$2 is not installed (pulumi plugin install resource $1 $2)"
  done
  exit 1
fi

command -v go >/dev/null || die "no pulumi on PATH, and Go (needed to build the engine) is missing"
# -mod=mod: the replaced, locally laid-out modules may need go.sum lines their own repos keep elsewhere.
export GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0
jobs=${PULUMI_ENGINE_GO_JOBS:-1}
mkdir -p "$bin" "$src/.download"
[ -f "$src/.download/go.mod" ] || printf 'module download\n\ngo 1.21\n' >"$src/.download/go.mod"

step() { # step NAME COMMAND...: run a build step and print its time
  local name=$1 t0=$SECONDS
  shift
  log "$name ..."
  "$@" || { log "$name: failed after $((SECONDS - t0)) s"; return 1; }
  log "$name: done in $((SECONDS - t0)) s"
}

gobuild() { nice -n 10 go build -p "$jobs" "$@"; }

# fetch MODULE VERSION DEST: a writable copy of a module from the proxy; on failure, says why and returns 1.
# The checksum database reachable here lacks some of these top-level modules (404), so they are not
# checked against it (GONOSUMDB); their dependencies still are, through the go.sum files they ship.
fetch() {
  local out dir
  out=$(cd "$src/.download" && GONOSUMDB="$1" go mod download -json "$1@$2" 2>&1) || {
    log "cannot download $1@$2 from the Go module proxy:"
    printf '%s\n' "$out" >&2
    return 1
  }
  dir=$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$out")
  rm -rf "$3"
  mkdir -p "$(dirname "$3")"
  cp -r "$dir" "$3" && chmod -R u+w "$3"
}

# pseudo_version TAGGED_MODULE TAG BASE: the pseudo-version (BASE-time-commit) of the commit that TAG of
# TAGGED_MODULE points to. Untagged modules of a repository are served by the proxy at such versions.
pseudo_version() {
  local out hash time
  out=$(cd "$src/.download" && go list -m -f '{{with .Origin}}{{.Hash}}{{end}} {{.Time.UTC.Format "20060102150405"}}' "$1@$2" 2>&1) ||
    die "cannot look up $1@$2 on the Go module proxy:
$out"
  read -r hash time <<<"$out"
  [ -n "$time" ] || die "the proxy gives no commit for $1@$2 ($out)"
  echo "$3-$time-${hash:0:12}"
}

# 1. CLI: pkg/go.mod replaces sdk with ../sdk, so pkg and sdk are laid side by side (`go install` refuses).
# Like the release archives, the CLI gets the sdk's pulumi-resource-pulumi-nodejs (dynamic providers) beside it.
build_cli() {
  fetch github.com/pulumi/pulumi/pkg/v3 "v$pulumi_version" "$src/pulumi/pkg"
  fetch github.com/pulumi/pulumi/sdk/v3 "v$pulumi_version" "$src/pulumi/sdk"
  (cd "$src/pulumi/pkg" && gobuild -o "$bin/pulumi.new" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$pulumi_version" ./cmd/pulumi)
  install -m 755 "$src/pulumi/sdk/nodejs/dist/pulumi-resource-pulumi-nodejs" "$bin/"
  mv "$bin/pulumi.new" "$bin/pulumi"
}

# 2. Node.js language host: its own untagged module, taken at the commit of the pkg tag. Its go.mod replaces
# pkg and sdk with ../../../../pkg and ../../.., which is where step 1 put them. The CLI finds it next to
# `pulumi`. Where the module proxy refuses that module (here: 403 at the commits of the 3.248.0 and
# 3.259.0 tags), the host is built from sdk v3.68.0, the last release that kept it inside the sdk module:
# it runs @pulumi/pulumi 3.248 programs with CLI 3.248 (seen: preview, up, no-change up, destroy,
# dynamic providers).
legacy_host_sdk=v3.68.0
build_language_host() {
  local version host="$src/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs"
  version=$(pseudo_version github.com/pulumi/pulumi/pkg/v3 "v$pulumi_version" v3.0.0)
  if fetch github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 "$version" "$host"; then
    (cd "$host" && gobuild -o "$bin/pulumi-language-nodejs.new" \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$pulumi_version" .)
  else
    log "WARNING: building the Node.js language host of sdk $legacy_host_sdk instead"
    fetch github.com/pulumi/pulumi/sdk/v3 "$legacy_host_sdk" "$src/legacy-sdk"
    (cd "$src/legacy-sdk" && gobuild -o "$bin/pulumi-language-nodejs.new" \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$legacy_host_sdk" \
      ./nodejs/cmd/pulumi-language-nodejs)
  fi
  mv "$bin/pulumi-language-nodejs.new" "$bin/pulumi-language-nodejs"
}

# The npm packages ask the CLI for these exact plugin versions. Installed ones are used; binaries placed in
# bin/ are installed offline; anything else is a clear stop, never a build.
install_plugin() { # install_plugin NAME VERSION
  plugin_installed "$1" "$2" && return 0
  if [ -x "$bin/pulumi-resource-$1" ]; then
    "$bin/pulumi" plugin install resource "$1" "$2" -f "$bin/pulumi-resource-$1" >&2
    return
  fi
  log "the $1 provider plugin v$2 is not installed, and the Go module proxy refuses its module (403)."
  log "  Install it with a Pulumi CLI that can download: pulumi plugin install resource $1 $2"
  log "  or place a pulumi-resource-$1 v$2 binary at $bin/pulumi-resource-$1 and run this script again."
  return 1
}
install_plugins() {
  local ok=0
  local p
  for p in "${needed_plugins[@]}"; do install_plugin $p || ok=1; done
  return "$ok"
}

# The directory for PATH: the CLI, its language host and the dynamic-provider host, not the provider binaries.
link_path_dir() {
  mkdir -p "$path_dir"
  local f
  for f in pulumi pulumi-language-nodejs pulumi-resource-pulumi-nodejs; do ln -sfn "../bin/$f" "$path_dir/$f"; done
}

t_all=$SECONDS
log "building the Pulumi engine into $cache"
[ -x "$bin/pulumi" ] || step "CLI pulumi v$pulumi_version" build_cli
[ -x "$bin/pulumi-language-nodejs" ] || step "Node.js language host v$pulumi_version" build_language_host
link_path_dir
step "provider plugins" install_plugins || die "the CLI is ready in $bin, but provider plugins are missing (above)"
log "engine ready in $((SECONDS - t_all)) s; cache: $(du -sh "$cache" | cut -f1)"
echo "$path_dir"
