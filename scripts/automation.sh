# Sourced by the commands that drive a deployed stack through Pulumi's Automation API (walk.sh, netlab.sh,
# bench-iac.sh, labs.sh), from the repository's root: the npm dependencies (installed when the lockfile
# changed), the Pulumi environment of scripts/pulumi-env.sh, then the TypeScript entry point.
run_automation() { # NAME MAIN [ARGS...]
  local name=$1 main=$2
  shift 2
  [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund
  # shellcheck source=scripts/pulumi-env.sh
  if ! source scripts/pulumi-env.sh; then
    echo "[$name] no Pulumi engine (the reason is above): install the Pulumi CLI and run again" >&2
    exit 1
  fi
  exec node_modules/.bin/tsx "$main" "$@"
}
