#!/usr/bin/env bash
# CPU benchmarks of issue 2, repeatable on any Linux machine with the .NET SDK and wrk (apt-get install wrk):
#  1. server overhead with a trivial model (identity, FP32 [1,16]): gRPC with raw contents at concurrency 1 and 64
#     (LoadTest), and the HTTP binary endpoint against a bare Kestrel echo endpoint (wrk, same run) as the peer;
#  2. resnet50 (the generated default model) on CPU: images/s at batch 1 and 8 with 1 and 2 instances.
# Usage: bench/cpu/run.sh [seconds-per-level]   Results: bench/out/cpu-*.txt and a summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}
OUT=bench/out; mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }

source bench/common.sh
build_release
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(dotnet --version)" | tee "$OUT/cpu-machine.txt"


# --- 1. overhead: identity model, one instance, dynamic batching with no delay
$S write-identity -r "$work/identity" --name identity --width 16 --max-batch-size 64 --instances 1 --max-queue-delay-us 0 >/dev/null
$S --model-repository="$work/identity" --http-port=18000 --grpc-port=18001 --http-address=127.0.0.1 --Logging:LogLevel:Default=Warning >"$work/server.log" 2>&1 &
$L bare-server --port 19000 >"$work/bare.log" 2>&1 &
wait_ready 18000
python3 bench/http/make-body.py "$work/body.bin"

echo "== gRPC raw_input_contents, identity [1,16], LoadTest closed loop" | tee "$OUT/cpu-grpc.txt"
$L --url http://127.0.0.1:18001 --protocol grpc -m identity --input INPUT0 --output OUTPUT0 --dims 16 \
   --concurrency 1,64 --duration "$DUR" --warmup 2 --channels 4 | tee -a "$OUT/cpu-grpc.txt"

echo "== HTTP binary extension, identity [1,16], wrk: server vs bare Kestrel echo (same body)" | tee "$OUT/cpu-http.txt"
for c in 1 64; do
  t=$(( c < 2 ? 1 : 2 ))
  for target in "server http://127.0.0.1:18000/v2/models/identity/infer" "bare http://127.0.0.1:19000/echo"; do
    set -- $target
    r=$(BODY="$work/body.bin" wrk -t$t -c$c -d${DUR}s --latency -s bench/http/infer.lua "$2")
    rps=$(echo "$r" | awk '/Requests\/sec/{print $2}'); p50=$(echo "$r" | awk '$1=="50%"{print $2}'); p99=$(echo "$r" | awk '$1=="99%"{print $2}')
    bad=$(echo "$r" | awk '/Non-2xx/{print $NF}'); echo "c=$c $1 rps=$rps p50=$p50 p99=$p99 non2xx=${bad:-0}" | tee -a "$OUT/cpu-http.txt"
  done
done
kill %1 2>/dev/null || true; wait %1 2>/dev/null || true

# --- 2. resnet50 on CPU, 1 and 2 instances
base=$($S default-repository)
for n in 1 2; do
  mkdir -p "$work/r$n/resnet50/1"
  ln -f "$base/resnet50/1/model.onnx" "$work/r$n/resnet50/1/model.onnx" 2>/dev/null || cp "$base/resnet50/1/model.onnx" "$work/r$n/resnet50/1/model.onnx"
  cp "$base/resnet50/labels.txt" "$work/r$n/resnet50/"
  sed "s/count: [0-9]*/count: $n/" "$base/resnet50/config.pbtxt" >"$work/r$n/resnet50/config.pbtxt"
done
echo "== resnet50 FP32 on CPU, gRPC raw, images/s (LoadTest closed loop, concurrency = 2 x instances)" | tee "$OUT/cpu-resnet50.txt"
for n in 1 2; do
  $S --model-repository="$work/r$n" --http-port=18100 --grpc-port=18101 --http-address=127.0.0.1 --Logging:LogLevel:Default=Warning >"$work/r$n.log" 2>&1 &
  pid=$!; wait_ready 18100
  for b in 1 8; do
    echo "-- instances=$n batch=$b" | tee -a "$OUT/cpu-resnet50.txt"
    $L --url http://127.0.0.1:18101 --protocol grpc -m resnet50 --batch $b --concurrency $((2 * n)) --duration "$DUR" --warmup 3 | tail -1 | tee -a "$OUT/cpu-resnet50.txt"
  done
  kill $pid; wait $pid 2>/dev/null || true
done
