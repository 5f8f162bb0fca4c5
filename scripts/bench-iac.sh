#!/usr/bin/env bash
# The IaC loop on the playground, timed through Pulumi's Automation API: a fresh up, workerReplicas 1 -> 10,
# an up with no changes, a refresh and a destroy, each beside its goal, with where the time goes where a goal
# is missed. Destroys the stack first if it is deployed, and leaves it destroyed (scripts/up.sh brings it back).
#   scripts/bench-iac.sh [--stack dev] [--out reports]      (about 4 minutes with warm image caches)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/prepare-machine.sh --deploy >/dev/null
# shellcheck source=scripts/automation.sh
source scripts/automation.sh
run_automation bench-iac infra/automation/iac-bench-main.ts "$@"
