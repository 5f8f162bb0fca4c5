#!/usr/bin/env bash
# Seed 004's network lab on a deployed Swarm stack (the playground `dev` by default; AWS and VMs alike, through
# the stack's outputs and SSH key): iperf3 between two nodes over host, bridge, published-port, overlay,
# encrypted-overlay and routing-mesh paths, as the seed's table. Removes everything it started on the nodes.
# Writes reports/netlab-<target>.{md,json,png}.   scripts/netlab.sh [--stack dev] [--seconds 10] [--out reports]
# Needs the stack deployed (scripts/up.sh), a Pulumi engine and a local Docker engine (it builds the iperf3 image).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/prepare-machine.sh --deploy
# shellcheck source=scripts/automation.sh
source scripts/automation.sh
run_automation netlab infra/netlab/main.ts "$@"
