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
# shellcheck source=scripts/automation.sh
source scripts/automation.sh
run_automation labs infra/labs/main.ts "$@"
