#!/usr/bin/env bash
# A class: one DockerCoins Swarm per student (a stack of this program each, <prefix>-01 ... <prefix>-NN),
# created, checked, printed as cards and destroyed through Pulumi's Automation API (infra/labs/).
#   scripts/labs.sh create --students N [--target local|vms|aws] [--nodes M] [--prefix lab] [--parallel K]
#                          [--settings FILE] [--pool FILE] [--yes]
#   scripts/labs.sh status|cards [--prefix lab] [--out reports/labs]
#   scripts/labs.sh destroy [--prefix lab] [--student N] [--parallel K]
# Each student's Pulumi output: reports/labs/logs/<stack>.log. Needs a Pulumi engine (scripts/pulumi-env.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund
# shellcheck source=scripts/pulumi-env.sh
if ! source scripts/pulumi-env.sh; then
  echo "[labs] no Pulumi engine (the reason is above): install the Pulumi CLI and run again" >&2
  exit 1
fi
exec node_modules/.bin/tsx infra/labs/main.ts "$@"
