#!/usr/bin/env bash
# The workshop walked on a deployed stack through Pulumi's Automation API: 1, 2, 3, 4, 5 and 10 workers with
# one rng, then rng global (Swarm) or rng's HPA (minikube), each a config change and an update, measured;
# the stack's config is restored at the end. Writes reports/<stack>-walk.{md,json,png}.
#   scripts/walk.sh [--stack dev] [--workers 1,2,3,4,5,10] [--warmup 10] [--window 20] [--out reports]
# About 1 minute per step with the defaults. Needs the stack deployed (scripts/up.sh) and a Pulumi engine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund
# shellcheck source=scripts/pulumi-env.sh
if ! source scripts/pulumi-env.sh; then
  echo "[walk] no Pulumi engine (the reason is above): install the Pulumi CLI and run again" >&2
  exit 1
fi
exec node_modules/.bin/tsx infra/automation/main.ts "$@"
