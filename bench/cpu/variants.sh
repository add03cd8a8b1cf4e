#!/usr/bin/env bash
# Runs bench/cpu/server-cpu.sh once per server variant, one after the other on the same machine, so each variant is
# compared with the defaults measured in the same run. A variant is "name|SERVER_ENV|SERVER_ARGS".
# Usage: bench/cpu/variants.sh [seconds-per-point] [concurrency] [instances] -- "name|env|args" ...
# Env as server-cpu.sh's (PROTOCOLS, BATCHES, WARM, S, L, SERVER_CPUS, LOAD_CPUS). Results: bench/out/variants.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
args=(); while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done; [ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || set -- "defaults||"
mkdir -p bench/out; : > bench/out/variants.txt
for v in "$@"; do
  IFS='|' read -r name env flags <<<"$v"
  echo "=== variant $name: env '${env}' args '${flags}'" | tee -a bench/out/variants.txt
  SERVER_ENV="$env" SERVER_ARGS="$flags" bench/cpu/server-cpu.sh "${args[@]}" | tail -n +3 | tee -a bench/out/variants.txt
done
