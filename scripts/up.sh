#!/usr/bin/env bash
# The main job: `pulumi up` of DockerCoins on the embedded default, the local playground stack `dev`
# (Pulumi.dev.yaml: 5 Swarm nodes as containers on this machine's Docker engine; no cloud account).
# Extra arguments go to `pulumi up` (e.g. --diff; --refresh after a host was lost). Other stacks: see
# infra/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
stack="${DOCKERCOINS_STACK:-dev}"

# Docker engine, and local stand-ins for the base images when no registry can be reached (the log store's
# too when the stack turns logging on).
prepare=(--deploy)
grep -Eq '^\s*dockercoins:logging:\s*"?true' "Pulumi.$stack.yaml" 2>/dev/null && prepare+=(--with-logs)
scripts/prepare-machine.sh "${prepare[@]}"

[ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund

# Your `pulumi` if you have one, otherwise the engine from scripts/pulumi-engine.sh; state in .pulumi-state/
# unless you chose a backend (scripts/pulumi-env.sh).
# shellcheck source=scripts/pulumi-env.sh
if ! source scripts/pulumi-env.sh; then
  echo "[up] no Pulumi engine (the reason is above): install the Pulumi CLI (https://www.pulumi.com/docs/iac/download-install/) and run again" >&2
  exit 1
fi

pulumi stack select "$stack" 2>/dev/null || pulumi stack init "$stack"
# An interrupted up, and `--refresh` after the first manager's host was lost: scripts/recover.sh.
# shellcheck source=scripts/recover.sh
source scripts/recover.sh
recover_interrupted_up "$stack"
heal_args=()
case " $* " in *" --refresh"*|*" -r "*) manager_answers "$stack" || heal_lost_manager "$stack" ;; esac
pulumi up --yes --stack "$stack" "${heal_args[@]}" "$@"
pulumi stack output --stack "$stack"
