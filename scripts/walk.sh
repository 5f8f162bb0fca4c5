#!/usr/bin/env bash
# The workshop walked on a deployed stack through Pulumi's Automation API: 1, 2, 3, 4, 5 and 10 workers with
# one rng, then rng global (Swarm) or rng's HPA (minikube), each a config change and an update, measured;
# the stack's config is restored at the end. Writes reports/<stack>-walk.{md,json,png}.
#   scripts/walk.sh [--stack dev] [--workers 1,2,3,4,5,10] [--warmup 10] [--window 20] [--out reports]
# About 1 minute per step with the defaults. Needs the stack deployed (scripts/up.sh) and a Pulumi engine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/automation.sh
source scripts/automation.sh
run_automation walk infra/automation/main.ts "$@"
