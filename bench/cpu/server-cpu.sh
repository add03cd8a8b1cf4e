#!/usr/bin/env bash
# Server CPU per inference (issue 15): CPU seconds of the server process / requests served, over the same window as the
# load, for batch-1 and batch-8 UINT8 224x224x3 requests (150,528 bytes a row) on the image-sink model (almost no
# compute: what is measured is the server's own cost), over gRPC unary, gRPC streams and HTTP binary. The peer, in the
# same run: `LoadTest bare-server --grpc-port` (plain Grpc.AspNetCore ModelInfer/ModelStreamInfer and a KServe-shaped
# HTTP infer route, each answering the FP32 [rows,1000] reply), i.e. the framework's own cost for the same bytes.
# Usage: bench/cpu/server-cpu.sh [seconds-per-point] [concurrency] [instances]
# Env: PROTOCOLS (default "grpc grpc-stream http"), BATCHES (default "1 8"), WARM (warm-up seconds per protocol and
# target, default 10), SERVER_ARGS (extra server flags), SERVER_ENV (NAME=VALUE ... for the server only), LOW_LOAD
# (empty: skip the batch-1 points at a tenth of the saturated rate); S, L (the server's and LoadTest's executables: default a
# Release build here); LOAD_CPUS, SERVER_CPUS (taskset core lists for the load generator and the server).
# Results: a table on stdout and bench/out/server-cpu.txt. The load generator runs on the same machine: pin it away
# from the server (taskset) on machines with cores to spare; the CPU figure counts the server process only.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}
CONC=${2:-16}
INSTANCES=${3:-1}
PROTOCOLS=${PROTOCOLS:-grpc grpc-stream http}
WARM=${WARM:-10}
BATCHES=${BATCHES:-1 8}
OUT=bench/out; mkdir -p "$OUT"

source bench/common.sh
if [ -z "${S:-}" ]; then build_release; fi
LOAD="${LOAD_CPUS:+taskset -c $LOAD_CPUS} $L"
PIN="${SERVER_CPUS:+taskset -c $SERVER_CPUS}"
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
tck=$(getconf CLK_TCK)
# cpu_ticks PID: user + system clock ticks of a process so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# alloc_bytes: bytes the server's managed heap has allocated so far (its .NET runtime metric), or empty.
alloc_bytes() { local m; m=$(curl -s http://127.0.0.1:18002/metrics); echo "$m" | awk '/^dotnet_gc_heap_total_allocated[{ ]/{print $NF}' | head -1; }

$S write-image-sink -r "$work/repo" --instances "$INSTANCES" >/dev/null
# shellcheck disable=SC2086
env ${SERVER_ENV:-} $PIN $S --model-repository="$work/repo" --http-port=18000 --grpc-port=18001 --metrics-port=18002 --http-address=127.0.0.1 \
   ${SERVER_ARGS:-} >"$work/server.log" 2>&1 &
server=$!
$PIN $L bare-server --port 19000 --grpc-port 19001 >"$work/bare.log" 2>&1 &
bare=$!
wait_ready 18000
for _ in $(seq 1 100); do curl -sf -o /dev/null http://127.0.0.1:19000/v2/models/bare && break; sleep 0.1; done

{
  echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(dotnet --version 2>/dev/null || echo self-contained); commit ${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null)}; $(date -u +%F)"
  echo "== image_sink (UINT8 [b,224,224,3]), $INSTANCES instance(s), closed loop at concurrency $CONC, ${DUR}s a point"
  printf '%-12s %-6s %5s %10s %10s %12s %10s %8s %8s\n' protocol target batch req/s cpu_us/req cores alloc_B/req p50_us p99_us
} | tee "$OUT/server-cpu.txt"

# point PROTOCOL TARGET BATCH: one measured point; prints its row.
point() {
  local protocol=$1 target=$2 batch=$3 pid t0 t1 a0="" a0b a1 rps secs p50 p99 row requests cpu_us cores alloc=""
  if [ "$target" = server ]; then pid=$server; else pid=$bare; fi
  # Two scrapes back to back: the second tells what a scrape itself allocates, taken off the figure.
  t0=$(cpu_ticks "$pid"); [ "$target" = server ] && a0=$(alloc_bytes) && a0b=$(alloc_bytes)
  local port=18001 model=image_sink
  [ "$target" = bare ] && port=19001 && model=bare
  if [ "$protocol" = http ]; then port=$((port - 1)); fi
  # LoadTest measures from its first request (no warm-up) for DUR seconds; both processes were warmed before.
  local level=(--concurrency "$CONC")
  [ -n "${RATE:-}" ] && level=(--request-rate "$RATE" --max-outstanding 1024)
  row=$($LOAD --url "http://127.0.0.1:$port" --protocol "$protocol" -m "$model" --input pixels --output logits --batch "$batch" \
        "${level[@]}" --duration "$DUR" --warmup 0 --channels 4 --quiet | tail -1)
  rps=$(echo "$row" | cut -d, -f3); secs=$(echo "$row" | cut -d, -f17); p50=$(echo "$row" | cut -d, -f4); p99=$(echo "$row" | cut -d, -f7)
  t1=$(cpu_ticks "$pid")
  requests=$(awk -v r="$rps" -v s="$secs" 'BEGIN{printf "%.0f", r*s}')
  cpu_us=$(awk -v d=$((t1 - t0)) -v n="$requests" -v k="$tck" 'BEGIN{printf "%.0f", d / k * 1e6 / n}')
  cores=$(awk -v d=$((t1 - t0)) -v s="$secs" -v k="$tck" 'BEGIN{printf "%.2f", d / k / s}')
  if [ -n "$a0" ]; then a1=$(alloc_bytes); [ -n "$a1" ] && alloc=$(awk -v a="$a0" -v a2="$a0b" -v b="$a1" -v n="$requests" 'BEGIN{printf "%.0f", (b - a2 - (a2 - a))/n}'); fi
  printf '%-12s %-6s %5s %10s %10s %12s %10s %8s %8s %s\n' "$protocol" "$target" "$batch" "$rps" "$cpu_us" "$cores" "${alloc:--}" "$p50" "$p99" "${RATE:+open loop $RATE/s}" | tee -a "$OUT/server-cpu.txt"
  last_rps=$rps
}

# Warm both processes (JIT, pools, connections) before anything is measured: tiered compilation goes on for about
# 30 s under load on a 2-core machine.
for p in $PROTOCOLS; do
  for t in "18001 image_sink" "19001 bare"; do
    set -- $t; port=$1; [ "$p" = http ] && port=$((port - 1))
    $LOAD --url "http://127.0.0.1:$port" --protocol "$p" -m "$2" --input pixels --output logits --concurrency "$CONC" --duration "$WARM" --warmup 0 --quiet >/dev/null || true
  done
done

# Idle: what the server burns with no request at all (timers, spinning), in cores.
t0=$(cpu_ticks "$server"); sleep "$DUR"; t1=$(cpu_ticks "$server")
printf '%-12s %-6s %5s %10s %10s %12s\n' idle server - 0 - "$(awk -v d=$((t1 - t0)) -v s="$DUR" -v k="$tck" 'BEGIN{printf "%.3f", d / k / s}')" | tee -a "$OUT/server-cpu.txt"

for b in $BATCHES; do
  for p in $PROTOCOLS; do
    point "$p" server "$b"
    saturated=$last_rps
    point "$p" bare "$b"
    # The same protocol at a tenth of the server's saturated rate (open loop): what idle spinning costs.
    if [ "$b" = 1 ] && [ -n "${LOW_LOAD-1}" ]; then
      low=$(awk -v r="$saturated" 'BEGIN{printf "%d", r / 10 < 1 ? 1 : r / 10}')
      RATE=$low point "$p" server "$b"
      RATE=$low point "$p" bare "$b"
    fi
  done
done
