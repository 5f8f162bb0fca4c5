#!/usr/bin/env bash
# Seed 004's network lab on a deployed Swarm stack (the playground `dev` by default; AWS and VMs alike, through
# the stack's outputs and SSH key): iperf3 between two nodes over host, bridge, published-port, overlay,
# encrypted-overlay and routing-mesh paths, as the seed's table. Removes everything it started on the nodes.
# Writes reports/netlab-<target>.{md,json,png}.   scripts/netlab.sh [--stack dev] [--seconds 10] [--out reports]
# Needs the stack deployed (scripts/up.sh), a Pulumi engine and a local Docker engine (it builds the iperf3 image).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/prepare-machine.sh --deploy
[ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund
# shellcheck source=scripts/pulumi-env.sh
if ! source scripts/pulumi-env.sh; then
  echo "[netlab] no Pulumi engine (the reason is above): install the Pulumi CLI and run again" >&2
  exit 1
fi
exec node_modules/.bin/tsx infra/netlab/main.ts "$@"
