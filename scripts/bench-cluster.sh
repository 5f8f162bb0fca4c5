#!/usr/bin/env bash
# The Swarm scaling benchmark (about 15 minutes): hashes/s for 1,2,3,4,5,10 workers with one rng and with
# rng global on a 5-node playground Swarm, plus httping latency of rng and hasher from inside the overlay.
# Results: test-artifacts/bench/swarm-scaling.{md,json,png}. Env: BENCH_WORKERS, BENCH_WARMUP_MS, BENCH_WINDOW_MS.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKERCOINS_BENCH=1 exec nice -n 5 npx vitest run e2e/swarm-scaling.bench.ts "$@"
