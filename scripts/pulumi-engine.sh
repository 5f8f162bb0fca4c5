#!/usr/bin/env bash
# Provides the Pulumi engine this project deploys with: the `pulumi` CLI and the Node.js language host of ONE
# release (the version of @pulumi/pulumi in package-lock.json), plus the command and docker resource provider
# plugins at the versions package-lock.json pins.
#
# - A working `pulumi` already on PATH is used as it is (that is what users have; it downloads plugins itself).
# - Otherwise the CLI is built from the Go module proxy into a cache outside the repository,
#   ${DOCKERCOINS_CACHE:-$HOME/.cache/dockercoins}/pulumi-engine/<versions>/bin/, and reused from there next
#   time: the CLI cannot be downloaded on machines without the vendor's site.
# - The Node.js language host and the provider plugins are used as they are present, never built here: the
#   module proxy refuses their modules (403: github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
#   at every commit, pulumi-command/provider, pulumi-docker/provider/v5). The host must be a binary
#   pulumi-language-nodejs of the same release in that bin/ directory; plugins are used when installed
#   (`pulumi plugin install resource docker 5.0.0`, in ~/.pulumi/plugins) or installed offline from binaries
#   pulumi-resource-command, -docker (and -kubernetes) placed in bin/. Anything missing or of another release
#   stops the script with one line saying what and where; there is no fallback to another release.
#
# Progress and the time of each step go to stderr. The last line of stdout is the directory to put on PATH
# (the CLI and its language host only: provider binaries on PATH would shadow the installed plugins):
#   PATH="$(scripts/pulumi-engine.sh | tail -1):$PATH"     (or: source scripts/pulumi-env.sh)
#
# Knob: PULUMI_ENGINE_GO_JOBS (default 1) is `go build -p`: builds run under `nice -n 10` on shared 2-core machines.
#
# --check: only say whether an engine is present (exit 0, the PATH directory on stdout) or not (exit 1, the
# reason on stderr); never builds. Either way it prints the versions it found (CLI, language host, plugins)
# on stderr. The end-to-end tests use it to run or to skip.
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
# binary_version FILE FLAG: what the binary says its version is (empty when absent or silent), without a "v".
binary_version() { [ -x "$1" ] && "$1" "$2" 2>/dev/null | head -n 1 | sed 's/^v//' || true; }
cli_version() { binary_version "$bin/pulumi" version; }
host_version() { binary_version "$bin/pulumi-language-nodejs" -version; }
# One line per part: what is needed, what was found.
report_versions() {
  local p found
  log "needed: release $pulumi_version (CLI and Node.js language host), plugins: ${needed_plugins[*]}"
  log "found: CLI ${cli_version_found:-none}, Node.js language host ${host_version_found:-none} (in $bin)"
  for p in "${needed_plugins[@]}"; do
    set -- $p
    if plugin_installed "$1" "$2"; then found="installed"
    elif [ -x "$bin/pulumi-resource-$1" ]; then found="binary in bin/, not installed yet"
    else found="missing"; fi
    log "found: plugin $1 v$2: $found"
  done
}
cli_version_found=$(cli_version)
host_version_found=$(host_version)
engine_ready() {
  [ "$cli_version_found" = "$pulumi_version" ] && [ "$host_version_found" = "$pulumi_version" ] && [ -d "$path_dir" ] &&
    plugins_installed
}
if engine_ready; then
  $check_only && report_versions
  log "using the cached engine in $bin (release $pulumi_version)"
  echo "$path_dir"
  exit 0
fi
if $check_only; then
  trap - EXIT
  report_versions
  log "no complete engine of release $pulumi_version: run scripts/pulumi-engine.sh (without --check) to see what to do"
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

# 1. CLI: pkg/go.mod replaces sdk with ../sdk, so pkg and sdk are laid side by side (`go install` refuses).
# Like the release archives, the CLI gets the sdk's pulumi-resource-pulumi-nodejs (dynamic providers) beside it.
# Every line ends in `|| return 1`: `step` runs it inside `||`, where `set -e` does not apply.
build_cli() {
  fetch github.com/pulumi/pulumi/pkg/v3 "v$pulumi_version" "$src/pulumi/pkg" || return 1
  fetch github.com/pulumi/pulumi/sdk/v3 "v$pulumi_version" "$src/pulumi/sdk" || return 1
  (cd "$src/pulumi/pkg" && gobuild -o "$bin/pulumi.new" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$pulumi_version" ./cmd/pulumi) || return 1
  install -m 755 "$src/pulumi/sdk/nodejs/dist/pulumi-resource-pulumi-nodejs" "$bin/" || return 1
  mv "$bin/pulumi.new" "$bin/pulumi"
}

# 2. Node.js language host: its own module (sdk/nodejs/cmd/pulumi-language-nodejs/v3), which the module proxy
# refuses (403) at every commit. So it is used as present, like the plugins: a binary of the same release in bin/.
require_language_host() {
  local found
  found=$(host_version)
  [ "$found" = "$pulumi_version" ] && return 0
  if [ -n "$found" ]; then
    die "the Node.js language host in $bin is v$found, the CLI is v$pulumi_version: put pulumi-language-nodejs v$pulumi_version there (built from pulumi/pulumi at tag v$pulumi_version, sdk/nodejs/cmd/pulumi-language-nodejs)"
  fi
  die "no Node.js language host v$pulumi_version in $bin, and the Go module proxy refuses its module (403): build sdk/nodejs/cmd/pulumi-language-nodejs of pulumi/pulumi at tag v$pulumi_version and place it there as pulumi-language-nodejs"
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
[ -n "$(cli_version)" ] || step "CLI pulumi v$pulumi_version" build_cli || die "the CLI v$pulumi_version could not be built (above)"
[ "$(cli_version)" = "$pulumi_version" ] || die "$bin/pulumi says v$(cli_version), not v$pulumi_version"
require_language_host
link_path_dir
step "provider plugins" install_plugins || die "the CLI is ready in $bin, but provider plugins are missing (above)"
log "engine ready in $((SECONDS - t_all)) s; cache: $(du -sh "$cache" | cut -f1)"
echo "$path_dir"
