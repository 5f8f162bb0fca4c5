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

mkdir -p test-artifacts
rm -f test-artifacts/vitest-*.json
status=0
suite() { # name, vitest arguments...
  local name=$1
  shift
  phase "tests: $name"
  npx vitest run --reporter=default --reporter=json --outputFile.json="test-artifacts/vitest-$name.json" "$@" || status=1
}
if [ $# -gt 0 ]; then
  suite selected "$@"
else
  # Unit and integration suites first; then the end-to-end suites one file at a time, so the Swarm's
  # throughput checks do not share the 2 cores with the compose suite.
  suite unit --exclude 'e2e/**'
  suite e2e e2e --no-file-parallelism
fi

# One plain closing line over every suite, whatever the runner printed above it.
node -e '
  const reports = process.argv.slice(1).map((f) => require(f));
  const sum = (k) => reports.reduce((n, r) => n + r[k], 0);
  const failedSuites = reports.reduce((n, r) => n + r.testResults.filter((t) => t.status === "failed" && t.assertionResults.every((a) => a.status !== "failed")).length, 0);
  console.log(`\ntests: ${sum("numPassedTests")} passed, ${sum("numFailedTests") + failedSuites} failed, ${sum("numPendingTests") + sum("numTodoTests")} skipped`);
' $(ls "$PWD"/test-artifacts/vitest-*.json 2>/dev/null) || true
phase "done (exit $status)"
exit "$status"
