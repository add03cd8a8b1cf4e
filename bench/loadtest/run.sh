#!/usr/bin/env bash
# LoadTest honesty benchmark (issue 4): is the generator ever the bottleneck, and are its latencies right?
# On one machine, against the server's identity model (FP32 [1,16], one instance, dynamic batching without delay):
#  1. HTTP binary endpoint, closed loop at concurrency C: LoadTest's request rate vs wrk's, alternating runs (target >= 80%);
#  2. gRPC at concurrency C: LoadTest vs a plain Grpc.Net.Client loop (LoadTest plain-grpc-loop), alternating runs;
#  3. latency cross-check at concurrency 1 over HTTP: LoadTest's p50/p90/p99 vs hey's and wrk's distributions, each
#     with its average against the mean implied by its own rate (1e6 / req/s at concurrency 1).
# Needs the .NET SDK, wrk and hey (apt-get install wrk hey; without hey, part 3 compares with wrk only).
# Usage: bench/loadtest/run.sh [seconds-per-run] [concurrency] [rounds]   Results: bench/out/loadtest-honesty.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}; C=${2:-64}; ROUNDS=${3:-2}
OUT=bench/out; mkdir -p "$OUT"; RES="$OUT/loadtest-honesty.txt"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }

source bench/common.sh
build_release
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
HTTP=18200; GRPC=18201

machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), .NET SDK $(dotnet --version), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2 || true)"
echo "== machine: $machine" | tee "$RES"

$S write-identity -r "$work/repo" --name identity --width 16 --max-batch-size 64 --instances 1 --max-queue-delay-us 0 >/dev/null
$S --model-repository="$work/repo" --http-port=$HTTP --grpc-port=$GRPC --http-address=127.0.0.1 --Logging:LogLevel:Default=Warning >"$work/server.log" 2>&1 &
wait_ready $HTTP
python3 bench/http/make-body.py "$work/body.bin"
URL_INFER="http://127.0.0.1:$HTTP/v2/models/identity/infer"

# wrk's "50%  1.23ms" lines -> microseconds
wrk_us() { echo "$1" | awk -v p="$2" '$1==p { v=$2; u=v; gsub(/[0-9.]/,"",u); sub(/[a-z]+$/,"",v);
  f = (u=="us") ? 1 : (u=="ms") ? 1000 : (u=="s") ? 1000000 : 0; printf "%.0f", v*f }'; }
run_wrk() { BODY="$work/body.bin" wrk -t"$1" -c"$2" -d"${DUR}s" --latency -s bench/http/infer.lua "$URL_INFER"; }
lt() { $L --url "$1" --protocol "$2" -m identity --concurrency "$3" --duration "$DUR" --warmup 2 -q --channels 4 | tail -1; }
mean() { awk '{ s += $1; n++ } END { printf "%.0f", s / n }'; }

echo "== 1. HTTP binary, identity [1,16], closed loop at concurrency $C, $DUR s per run, $ROUNDS rounds (wrk -t2)" | tee -a "$RES"
: >"$work/wrk.rps"; : >"$work/lt.rps"
for r in $(seq 1 "$ROUNDS"); do
  w=$(run_wrk 2 "$C"); wr=$(echo "$w" | awk '/Requests\/sec/{print $2}'); bad=$(echo "$w" | awk '/Non-2xx/{print $NF}')
  l=$(lt "http://127.0.0.1:$HTTP" http "$C"); lr=$(echo "$l" | cut -d, -f3); le=$(echo "$l" | cut -d, -f10)
  echo "$wr" >>"$work/wrk.rps"; echo "$lr" >>"$work/lt.rps"
  echo "round $r: wrk $wr req/s (non-2xx ${bad:-0}), LoadTest $lr req/s (errors $le)" | tee -a "$RES"
done
W=$(mean <"$work/wrk.rps"); LT=$(mean <"$work/lt.rps")
echo "http c=$C: wrk $W req/s, LoadTest $LT req/s, ratio $(awk -v a="$LT" -v b="$W" 'BEGIN{printf "%.2f", a/b}')" | tee -a "$RES"

echo "== 2. gRPC raw_input_contents, identity [1,16], closed loop at concurrency $C, 4 channels, $ROUNDS rounds" | tee -a "$RES"
: >"$work/plain.rps"; : >"$work/ltg.rps"
for r in $(seq 1 "$ROUNDS"); do
  p=$($L plain-grpc-loop --url "http://127.0.0.1:$GRPC" -m identity --concurrency "$C" --channels 4 --warmup 2 --duration "$DUR")
  l=$(lt "http://127.0.0.1:$GRPC" grpc "$C"); lr=$(echo "$l" | cut -d, -f3)
  echo "$p" >>"$work/plain.rps"; echo "$lr" >>"$work/ltg.rps"
  echo "round $r: plain Grpc.Net.Client loop $p req/s, LoadTest $lr req/s" | tee -a "$RES"
done
P=$(mean <"$work/plain.rps"); LG=$(mean <"$work/ltg.rps")
echo "grpc c=$C: plain loop $P req/s, LoadTest $LG req/s, ratio $(awk -v a="$LG" -v b="$P" 'BEGIN{printf "%.2f", a/b}')" | tee -a "$RES"

# hey's "50% in 0.0002 secs" and "Average: 0.0002 secs" -> microseconds (hey prints 0.1 ms resolution)
hey_us() { echo "$1" | awk -v p="$2" '$1==p && $2=="in" { printf "%.0f", $3*1000000 }'; }
run_hey() { hey -z "${DUR}s" -c 1 -m POST -T application/octet-stream -H "Inference-Header-Content-Length: $(cat "$work/body.bin.len")" -D "$work/body.bin" "$URL_INFER"; }
echo "== 3. latency cross-check, HTTP binary at concurrency 1 (microseconds; implied mean = 1e6 / rate at c=1), $ROUNDS rounds" | tee -a "$RES"
for r in $(seq 1 "$ROUNDS"); do
  l=$(lt "http://127.0.0.1:$HTTP" http 1)
  echo "round $r: LoadTest rps=$(echo "$l" | cut -d, -f3) p50=$(echo "$l" | cut -d, -f4) p90=$(echo "$l" | cut -d, -f5) p99=$(echo "$l" | cut -d, -f7) avg=$(echo "$l" | cut -d, -f9) implied_mean=$(echo "$l" | awk -F, '{printf "%.0f", 1e6/$3}')" | tee -a "$RES"
  if command -v hey >/dev/null; then
    h=$(run_hey); hr=$(echo "$h" | awk '/Requests\/sec/{print $2}')
    echo "round $r: hey      rps=$hr p50=$(hey_us "$h" 50%) p90=$(hey_us "$h" 90%) p99=$(hey_us "$h" 99%) avg=$(echo "$h" | awk '/Average:/{printf "%.0f", $2*1000000}') implied_mean=$(awk -v r="$hr" 'BEGIN{printf "%.0f", 1e6/r}')" | tee -a "$RES"
  fi
  w=$(run_wrk 1 1); wr=$(echo "$w" | awk '/Requests\/sec/{print $2}')
  echo "round $r: wrk      rps=$wr p50=$(wrk_us "$w" 50%) p90=$(wrk_us "$w" 90%) p99=$(wrk_us "$w" 99%) avg=$(echo "$w" | awk '$1=="Latency" { v=$2; u=v; gsub(/[0-9.]/,"",u); sub(/[a-z]+$/,"",v); printf "%.0f", v*((u=="us")?1:(u=="ms")?1000:1000000) }') implied_mean=$(awk -v r="$wr" 'BEGIN{printf "%.0f", 1e6/r}')" | tee -a "$RES"
done
