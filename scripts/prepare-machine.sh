#!/usr/bin/env bash
# Prepares a fresh Debian machine for DockerCoins' tests, idempotently, and is quick (seconds) when
# everything is already there:
#   1. installs the Debian packages the tests use (one `apt-get update`, only if something is missing),
#      Node.js from npm when this machine's is missing or older than 22 (scripts/install-node.sh), and for
#      the tests the `docker compose` v2 plugin;
#   2. starts dockerd without systemd if it is not running;
#   3. when the official base images cannot be pulled (no container registry reachable), builds local
#      stand-ins under the official names, so the project's Dockerfiles build unchanged:
#        debian:bookworm-slim   debootstrap --variant=minbase bookworm
#        node:24-bookworm-slim  that + the Node and npm of scripts/install-node.sh (from npm), user node (1000)
#        redis:7-bookworm       that + Debian's redis-server on PATH, /data, protected mode off like the official
#        registry:2             that + Debian's docker-registry, /etc/docker/registry/config.yml, :5000
#        victoriametrics/victoria-logs, victoriametrics/vlagent (the optional log store: tests, --with-logs)
#                               that + the program built from the release's Go module (needs Go)
# Slow downloads (the debootstrap rootfs, npm tarballs) are cached under $DOCKERCOINS_CACHE.
# Images are never committed: they live in the local Docker store only.
#
# Usage: prepare-machine.sh [--deploy [--with-logs]]
#   --deploy     only what `pulumi up` of the playground needs: a running Docker engine (Docker Desktop or
#                any engine counts; Debian's is installed only if none answers) and the base images.
#   --with-logs  the log store's images too (a playground stack with `dockercoins:logging true`).
set -euo pipefail
mode=test
with_logs=0
for arg in "$@"; do
  case "$arg" in
    --deploy) mode=deploy ;;
    --with-logs) with_logs=1 ;;
    *) echo "usage: $0 [--deploy [--with-logs]]" >&2; exit 2 ;;
  esac
done

CACHE="${DOCKERCOINS_CACHE:-$HOME/.cache/dockercoins}"
# The mirror this machine's apt already uses (deb822 sources or the classic list), unless DEBIAN_MIRROR is set.
apt_mirror() {
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}'; } | grep -v -- '-security' | head -n 1 || true
}
DEBIAN_MIRROR="${DEBIAN_MIRROR:-$(apt_mirror)}"
NODE_MAJOR="${NODE_MAJOR:-24}"
# dockerd and everything it runs (the playground nodes, the app) get this niceness: the machine is shared.
DOCKERD_NICE="${DOCKERD_NICE:-5}"
STANDIN_LABEL="org.dockercoins.standin=true"

APT_PACKAGES=(docker.io debootstrap openssh-client openssh-server redis-tools redis-server chromium chromium-driver
  apache2-utils httping wrk librsvg2-bin ca-certificates curl)

t_script=$(date +%s.%N)
phase_start=0
phase() { phase_start=$(date +%s.%N); printf '[prepare-machine] %s ...\n' "$1"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
done_phase() { printf '[prepare-machine]   done in %ss\n' "$(elapsed "$phase_start")"; }
say() { printf '[prepare-machine] %s\n' "$*"; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    say "must run as root (apt-get, dockerd, debootstrap): $*" >&2
    exit 1
  fi
}

# --- 1. Debian packages -------------------------------------------------------------------------
if [ "$mode" = deploy ]; then
  APT_PACKAGES=()
  docker info >/dev/null 2>&1 || APT_PACKAGES+=(docker.io)
  command -v curl >/dev/null || APT_PACKAGES+=(curl ca-certificates)
  # ssh: the Docker provider's transport and the machine-id reader; ssh-keyscan learns the hosts' keys.
  command -v ssh-keyscan >/dev/null || APT_PACKAGES+=(openssh-client)
fi
missing=()
for p in ${APT_PACKAGES[@]+"${APT_PACKAGES[@]}"}; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  need_root "installing ${missing[*]}"
  say "installing from Debian: ${missing[*]}"
  t0=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No service starts because of an install (openssh-server's sshd is only run by the host-key tests,
  # on a port of their own): the same policy the official images keep.
  policy=/usr/sbin/policy-rc.d
  own_policy=false
  [ -e "$policy" ] || { printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=true; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if $own_policy; then rm -f "$policy"; fi
  say "  apt done in $(( $(date +%s) - t0 ))s"
fi

# --- 1b. Node.js (both set-up commands run npm; Debian's is 18, the project needs 22 or later) ---
"$(dirname "${BASH_SOURCE[0]}")/install-node.sh"

# --- 1c. `docker compose` (v2): the README's compose commands and the compose suite use it. Debian 12's
# docker.io has no compose plugin (only the old python `docker-compose` 1.29 package); Debian 13 packages
# compose v2, a static Go binary: its plugin is taken from that package (pinned, checksummed) unless the
# engine has one (Docker's own packages, Docker Desktop).
COMPOSE_DEB_VERSION=2.26.1-4
declare -A COMPOSE_DEB_SHA256=(
  [amd64]=47681197cb2b1ab88206b42a1a92fc75f50d9530a6322d03494a473eed0408ea
  [arm64]=bbafaa666f3e7fa00ad36f2a8bab889f1c791ca8743d674e7267a3d07203869c
)
ensure_compose() {
  docker compose version >/dev/null 2>&1 && return 0
  need_root "installing the docker compose plugin"
  phase "docker compose plugin (Debian 13's docker-compose $COMPOSE_DEB_VERSION)"
  local arch deb sum
  arch=$(dpkg --print-architecture)
  [ -n "${COMPOSE_DEB_SHA256[$arch]:-}" ] || { say "no pinned compose package for $arch: install docker compose yourself" >&2; exit 1; }
  deb="$CACHE/docker-compose_${COMPOSE_DEB_VERSION}_$arch.deb"
  mkdir -p "$CACHE"
  if [ ! -f "$deb" ]; then
    curl -fsSL --retry 3 -o "$deb.part" "${DEBIAN_MIRROR%/}/pool/main/d/docker-compose/docker-compose_${COMPOSE_DEB_VERSION}_$arch.deb"
    mv "$deb.part" "$deb"
  fi
  sum=$(sha256sum "$deb" | cut -d' ' -f1)
  if [ "$sum" != "${COMPOSE_DEB_SHA256[$arch]}" ]; then rm -f "$deb"; say "$deb does not match its pinned checksum" >&2; exit 1; fi
  local x
  x=$(mktemp -d)
  dpkg-deb -x "$deb" "$x"
  # Not `dpkg -i`: the package would replace Debian 12's docker-compose 1.29; the plugin alone is enough.
  install -D -m 0755 "$x/usr/libexec/docker/cli-plugins/docker-compose" /usr/local/lib/docker/cli-plugins/docker-compose
  rm -rf "$x"
  say "  $(docker compose version)"
  done_phase
}

# --- 2. dockerd ---------------------------------------------------------------------------------
phase "docker engine"
if ! docker info >/dev/null 2>&1; then
  need_root "starting dockerd"
  say "starting dockerd (nice $DOCKERD_NICE), log in /var/log/dockerd.log"
  # setsid: the engine must outlive this script and the test runner that called it.
  setsid nice -n "$DOCKERD_NICE" dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    say "dockerd did not come up in 30s; last lines of /var/log/dockerd.log:" >&2
    tail -20 /var/log/dockerd.log >&2
    exit 1
  fi
fi
done_phase

if [ "$mode" = test ]; then ensure_compose; fi

# --- 3. base images -----------------------------------------------------------------------------
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# Quiet unless it fails (the engine may print a legacy-builder notice on every build).
build_image() {
  local tag="$1" dir="$2"
  if ! nice -n 10 docker build -t "$tag" "$dir" >"$build_dir/build.log" 2>&1; then
    cat "$build_dir/build.log" >&2
    exit 1
  fi
}

# Try the real image first (works on a machine with registry access); fall back to a stand-in.
try_pull() {
  [ "${DOCKERCOINS_NO_PULL:-}" = 1 ] && return 1
  timeout 20 docker pull -q "$1" >/dev/null 2>&1
}

mkdir -p "$CACHE"
build_dir=$(mktemp -d)
trap 'rm -rf "$build_dir"' EXIT

ensure_debian() {
  have_image debian:bookworm-slim && return 0
  phase "debian:bookworm-slim"
  if try_pull debian:bookworm-slim; then done_phase; return 0; fi
  local rootfs_tar="$CACHE/debian-bookworm-minbase.tar"
  if [ ! -s "$rootfs_tar" ]; then
    need_root "debootstrap"
    [ -n "$DEBIAN_MIRROR" ] || { say "no Debian mirror found in /etc/apt: set DEBIAN_MIRROR" >&2; exit 1; }
    command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    local dir="$build_dir/rootfs"
    say "  debootstrap --variant=minbase bookworm (about a minute, cached afterwards)"
    nice -n 10 debootstrap --variant=minbase bookworm "$dir" "$DEBIAN_MIRROR" >"$build_dir/debootstrap.log" 2>&1 || {
      tail -20 "$build_dir/debootstrap.log" >&2; exit 1; }
    # Like the official image: services never start during package installs, no apt caches.
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
    chmod 755 "$dir/usr/sbin/policy-rc.d"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    tar -C "$dir" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$dir"
  fi
  docker import --change 'CMD ["bash"]' --change "LABEL $STANDIN_LABEL" \
    "$rootfs_tar" debian:bookworm-slim >/dev/null
  done_phase
}

# Machines whose HTTPS goes through an intercepting proxy (this project's CI machines do) trust an extra
# CA, listed in /usr/local/share/ca-certificates. Node in the image must trust it too, or `npm ci` fails
# with SELF_SIGNED_CERT_IN_CHAIN; the official image on a normal machine needs nothing of the kind.
EXTRA_CA_DIR="${EXTRA_CA_DIR:-/usr/local/share/ca-certificates}"
extra_ca_bundle() { find "$EXTRA_CA_DIR" -name '*.crt' -type f 2>/dev/null | sort | xargs -r cat; }
extra_ca_id() { extra_ca_bundle | sha256sum | cut -c1-12; }

ensure_node() {
  local tag="node:${NODE_MAJOR}-bookworm-slim" ca_id
  ca_id=$(extra_ca_id)
  if have_image "$tag"; then
    local label
    label=$(docker image inspect -f '{{index .Config.Labels "org.dockercoins.extra-ca"}}' "$tag" 2>/dev/null || true)
    # The real image (no stand-in label) or a stand-in built with today's CAs: nothing to do.
    if [ "$(docker image inspect -f '{{index .Config.Labels "org.dockercoins.standin"}}' "$tag")" != true ] || [ "$label" = "$ca_id" ]; then
      return 0
    fi
  fi
  phase "$tag"
  if ! have_image "$tag" && try_pull "$tag"; then done_phase; return 0; fi
  local node_tgz npm_tgz d="$build_dir/node"
  # The same pinned, checksummed tarballs as the host's Node.
  read -r node_tgz npm_tgz < <("$(dirname "${BASH_SOURCE[0]}")/install-node.sh" --tarballs)
  mkdir -p "$d"
  cp "$node_tgz" "$d/node.tgz"
  cp "$npm_tgz" "$d/npm.tgz"
  extra_ca_bundle >"$d/extra-ca.crt"
  local node_version ca_env=""
  node_version=$(basename "$node_tgz" .tgz); node_version=${node_version##*-}
  if [ -s "$d/extra-ca.crt" ]; then
    say "  this machine trusts extra CAs ($EXTRA_CA_DIR): the stand-in's Node trusts them too"
    ca_env="ENV NODE_EXTRA_CA_CERTS=/usr/local/share/dockercoins-extra-ca.crt"
  fi
  # Two stages so the tarballs do not stay in the image's layers (pushes and pulls stay small).
  cat >"$d/Dockerfile" <<EOF
FROM debian:bookworm-slim AS unpack
ADD node.tgz /tmp/node
ADD npm.tgz /tmp/npm

FROM debian:bookworm-slim
ENV NODE_VERSION=$node_version
COPY --from=unpack /tmp/node/package/bin/node /usr/local/bin/node
COPY --from=unpack /tmp/npm/package /usr/local/lib/node_modules/npm
COPY extra-ca.crt /usr/local/share/dockercoins-extra-ca.crt
$ca_env
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
LABEL $STANDIN_LABEL org.dockercoins.extra-ca=$ca_id
CMD ["node"]
EOF
  build_image "$tag" "$d"
  done_phase
}

ensure_redis() {
  # Rebuilt when the stand-in's recipe changes (rev); the official image is never replaced.
  local rev=2
  if have_image redis:7-bookworm; then
    [ "$(docker image inspect -f '{{index .Config.Labels "org.dockercoins.standin"}}' redis:7-bookworm)" != true ] && return 0
    [ "$(docker image inspect -f '{{index .Config.Labels "org.dockercoins.standin-rev"}}' redis:7-bookworm)" = "$rev" ] && return 0
  fi
  phase "redis:7-bookworm"
  if try_pull redis:7-bookworm; then done_phase; return 0; fi
  local d="$build_dir/redis"
  mkdir -p "$d"
  # The official image builds redis with protected mode off (it is reached over the container
  # network, not loopback); Debian's binary has it on, so the entrypoint turns it off.
  cat >"$d/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then shift; set -- redis-server "$@" --protected-mode no; fi
# As the official image: started as root, it hands /data (a fresh volume may be root's) to redis and drops
# to that user.
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
EOF
  cat >"$d/Dockerfile" <<EOF
FROM debian:bookworm-slim
RUN groupadd -r -g 999 redis && useradd -r -g redis -u 999 redis \\
 && apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null \\
 && rm -rf /var/lib/apt/lists/* /etc/redis/redis.conf && mkdir /data && chown redis:redis /data
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
VOLUME /data
WORKDIR /data
EXPOSE 6379
LABEL $STANDIN_LABEL org.dockercoins.standin-rev=$rev
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
EOF
  build_image redis:7-bookworm "$d"
  done_phase
}

ensure_registry() {
  have_image registry:2 && return 0
  phase "registry:2"
  if try_pull registry:2; then done_phase; return 0; fi
  local d="$build_dir/registry"
  mkdir -p "$d"
  # The official image's config, verbatim in substance.
  cat >"$d/config.yml" <<'EOF'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
  cat >"$d/Dockerfile" <<EOF
FROM debian:bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-registry ca-certificates >/dev/null \\
 && rm -rf /var/lib/apt/lists/* && mkdir -p /var/lib/registry
COPY config.yml /etc/docker/registry/config.yml
VOLUME /var/lib/registry
EXPOSE 5000
LABEL $STANDIN_LABEL
ENTRYPOINT ["/usr/bin/docker-registry", "serve"]
CMD ["/etc/docker/registry/config.yml"]
EOF
  build_image registry:2 "$d"
  done_phase
}

# The optional log store (config `logging`): VictoriaLogs and, for Kubernetes, its collector vlagent. Their
# official images hold one static Go binary each; the stand-ins hold the same programs built from the Go module
# proxy (the release's module, its own main packages), with the official images' entrypoints and ports.
VICTORIALOGS_VERSION=v1.52.1
ensure_victorialogs() {
  local server="victoriametrics/victoria-logs:$VICTORIALOGS_VERSION" agent="victoriametrics/vlagent:$VICTORIALOGS_VERSION"
  have_image "$server" && have_image "$agent" && return 0
  phase "$server and $agent"
  if try_pull "$server" && try_pull "$agent"; then done_phase; return 0; fi
  command -v go >/dev/null || { say "Go is needed to build the VictoriaLogs stand-ins (go.dev/dl)" >&2; exit 1; }
  local src="$CACHE/victorialogs-$VICTORIALOGS_VERSION" d="$build_dir/victorialogs" prog
  mkdir -p "$src" "$d"
  if [ ! -x "$src/bin/victoria-logs-prod" ] || [ ! -x "$src/bin/vlagent-prod" ]; then
    say "  building victoria-logs and vlagent $VICTORIALOGS_VERSION from the Go module proxy (about a minute)"
    [ -f "$src/go.mod" ] || printf 'module dockercoins.local/victorialogs\n\ngo 1.26\n' >"$src/go.mod"
    ( cd "$src"
      export GOFLAGS="-mod=mod -buildvcs=false" GOWORK=off CGO_ENABLED=0 GOTOOLCHAIN=local
      go get "github.com/VictoriaMetrics/VictoriaLogs@$VICTORIALOGS_VERSION"
      for prog in victoria-logs vlagent; do
        nice -n 10 go build -trimpath -ldflags '-s -w' -o "bin/$prog-prod" "github.com/VictoriaMetrics/VictoriaLogs/app/$prog"
      done ) >"$build_dir/go.log" 2>&1 || { tail -30 "$build_dir/go.log" >&2; exit 1; }
  fi
  # The official images' layout: the binary at /, its port exposed, the binary as the entrypoint.
  for prog in victoria-logs vlagent; do
    mkdir -p "$d/$prog"
    cp "$src/bin/$prog-prod" "$d/$prog/"
    printf 'FROM debian:bookworm-slim\nCOPY %s-prod /%s-prod\nEXPOSE %s\nLABEL %s\nENTRYPOINT ["/%s-prod"]\n' \
      "$prog" "$prog" "$([ "$prog" = vlagent ] && echo 9429 || echo 9428)" "$STANDIN_LABEL" "$prog" >"$d/$prog/Dockerfile"
  done
  build_image "$server" "$d/victoria-logs"
  build_image "$agent" "$d/vlagent"
  done_phase
}

ensure_debian
ensure_node
ensure_redis
ensure_registry
if [ "$mode" = test ] || [ "$with_logs" = 1 ]; then ensure_victorialogs; fi

say "ready in $(elapsed "$t_script")s"
