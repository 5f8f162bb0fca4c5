#!/usr/bin/env bash
# The main job: `pulumi up` of DockerCoins on the embedded default, the local playground stack `dev`
# (Pulumi.dev.yaml: 5 Swarm nodes as containers on this machine's Docker engine; no cloud account).
# Extra arguments go to `pulumi up` (e.g. --diff; --refresh after a host was lost). Other stacks: see
# infra/README.md. It shows its phases, progress and Pulumi's summary; the whole output goes to a log file
# it names (DOCKERCOINS_VERBOSE=1: everything on the terminal as well).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
stack="${DOCKERCOINS_STACK:-dev}"
mkdir -p .pulumi-state/logs
log="$PWD/.pulumi-state/logs/up-$stack-$(date -u +%Y%m%dT%H%M%SZ).log"
: >"$log"
echo "[up] stack $stack; the whole output goes to $log"

# A step's output goes to the log (and the terminal when verbose); a step that fails shows its last lines.
quietly() { # LABEL COMMAND...
  local label=$1 from rc=0
  shift
  from=$(($(wc -l <"$log") + 1))
  if [ -n "${DOCKERCOINS_VERBOSE:-}" ]; then "$@" 2>&1 | tee -a "$log" || rc=${PIPESTATUS[0]}; else "$@" >>"$log" 2>&1 || rc=$?; fi
  if [ "$rc" -ne 0 ]; then
    tail -n +"$from" "$log" | tail -n 40 >&2
    echo "[up] $label failed (exit $rc); the whole output: $log" >&2
    exit "$rc"
  fi
}
# A pulumi command: its plan, progress and summary on the terminal (scripts/quiet-pulumi.awk), all in the log.
pulumi_steps() { # PULUMI ARGS...
  local rc=0
  if [ -n "${DOCKERCOINS_VERBOSE:-}" ]; then
    pulumi "$@" 2>&1 | tee -a "$log" || rc=${PIPESTATUS[0]}
  else
    pulumi "$@" 2>&1 | tee -a "$log" | awk -f scripts/quiet-pulumi.awk || rc=${PIPESTATUS[0]}
  fi
  [ "$rc" -eq 0 ] || echo "[up] pulumi $1 failed (exit $rc); the whole output: $log" >&2
  return "$rc"
}

# Docker engine, and local stand-ins for the base images when no registry can be reached (the log store's
# too when the stack turns logging on).
prepare=(--deploy)
grep -Eq '^\s*dockercoins:logging:\s*"?true' "Pulumi.$stack.yaml" 2>/dev/null && prepare+=(--with-logs)
# Its own lines are phases (a few, or a few dozen on a fresh machine): shown as they come.
scripts/prepare-machine.sh "${prepare[@]}" 2>&1 | tee -a "$log"

if ! { [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ]; }; then
  echo "[up] npm ci"
  quietly "npm ci" npm ci --no-audit --no-fund
fi

# Your `pulumi` if you have one, otherwise the engine from scripts/pulumi-engine.sh; state in .pulumi-state/
# unless you chose a backend (scripts/pulumi-env.sh).
# shellcheck source=scripts/pulumi-env.sh
if ! source scripts/pulumi-env.sh >>"$log" 2>&1; then
  tail -n 5 "$log" >&2
  echo "[up] no Pulumi engine (the reason is above): install the Pulumi CLI (https://www.pulumi.com/docs/iac/download-install/) and run again" >&2
  exit 1
fi
echo "[up] pulumi $(pulumi version 2>/dev/null || echo '?')"

pulumi stack select "$stack" >>"$log" 2>&1 || quietly "pulumi stack init" pulumi stack init "$stack"
# An interrupted up, and `--refresh` after the first manager's host was lost: scripts/recover.sh.
# shellcheck source=scripts/recover.sh
source scripts/recover.sh
recover_interrupted_up "$stack"
heal_args=()
case " $* " in *" --refresh"*|*" -r "*) manager_answers "$stack" || heal_lost_manager "$stack" ;; esac
echo "[up] pulumi up of stack $stack"
pulumi_steps up --yes --stack "$stack" "${heal_args[@]}" "$@"
pulumi stack output --stack "$stack" | tee -a "$log"
