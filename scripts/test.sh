#!/usr/bin/env bash
# The project's test command (README; .ci/run calls it): prepares the machine (idempotent: Debian
# packages, Docker engine, local stand-ins for base images that cannot be pulled), installs the npm
# dependencies from the lockfiles, then runs every suite with vitest: the services against a real
# redis-server, the web page in a real Chromium, the Pulumi program under mocks, and the end-to-end
# suites on the real Docker engine. Extra arguments go to vitest (e.g. a file or -t NAME).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$(date +%s)
phase() { printf '\n[test] %s (%ss since start)\n' "$*" "$(( $(date +%s) - started ))"; }

phase "preparing the machine"
scripts/prepare-machine.sh

# npm ci only when the lockfile changed since the last install (it wipes node_modules).
install() {
  if [ ! -f "$1/node_modules/.package-lock.json" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
    phase "npm ci in $1"
    (cd "$1" && npm ci --no-audit --no-fund)
  fi
}
install .
install app

phase "type-checking"
npx tsc -p . && npx tsc -p app --noEmit && npx tsc -p e2e

phase "running the tests"
mkdir -p test-artifacts
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@" || status=$?
# One plain closing line, whatever the runner prints above it.
node -e 'const r = require(process.argv[1]);
  console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' \
  "$PWD/test-artifacts/vitest.json" || true
phase "done (exit $status)"
exit "$status"
