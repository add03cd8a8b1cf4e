#!/usr/bin/env bash
# The resnet50_image ensemble (UINT8 HWC image, preprocessed on the server by resnet50_preprocess, then resnet50)
# against the client doing the preprocessing (resnet50 fed ImageNet-normalized FP32 CHW tensors), on CPU, in the
# default repository the server writes. gRPC raw contents, LoadTest closed loop (one HTTP/2 connection) at a few
# concurrencies: throughput, p50/p99, and the bytes on the wire per request, both ways (the kernel's byte counts of
# the server's TCP connections, `ss -ti`, sampled twice inside the measured window, over the requests the model's
# statistics counted between the samples: tensor, protobuf and HTTP/2 framing together; +-concurrency/requests).
# Usage: bench/ensemble/run.sh [seconds-per-level >= 6] [concurrencies]   (defaults: 15, 1,2,4)
# Results: bench/out/ensemble-*.csv and a markdown table on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-15}
LEVELS=${2:-1,2,4}
OUT=bench/out; mkdir -p "$OUT"

source bench/common.sh
build_release
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
base=$($S default-repository | tail -1)

echo "== $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
$S --model-repository="$base" --http-port=18300 --grpc-port=18301 --metrics-port=18302 --http-address=127.0.0.1 \
   --Logging:LogLevel:Default=Warning >"$work/server.log" 2>&1 &
pid=$!
wait_ready 18300

# sample MODEL: "bytes received, bytes sent (acked), successes" of the gRPC port's connections and the model.
sample() {
  local wire n
  wire=$(ss -tinH state established '( sport = :18301 )' | grep -o 'bytes_\(acked\|received\):[0-9]*' \
    | awk -F: '$1=="bytes_received"{r+=$2} $1=="bytes_acked"{a+=$2} END{print r+0, a+0}')
  n=$(curl -sf "http://127.0.0.1:18300/v2/models/$1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["model_stats"][0]["inference_stats"]["success"]["count"])')
  echo "$wire $n"
}

echo "| path | concurrency | images/s | p50 ms | p99 ms | bytes in / request | bytes out / request |"
echo "|---|---|---|---|---|---|---|"
for path in "ensemble resnet50_image image" "client resnet50 input"; do
  set -- $path
  name=$1 model=$2 input=$3
  for c in ${LEVELS//,/ }; do
    $L --url http://127.0.0.1:18301 --protocol grpc -m "$model" --input "$input" --output logits --concurrency "$c" \
       --duration "$DUR" --warmup 3 --channels 1 --quiet --output-dir "$work/$name-$c" >/dev/null 2>"$work/$name-$c.log" &
    loadtest=$!
    sleep 4; read -r r0 a0 n0 <<<"$(sample "$model")"
    sleep $(( DUR - 2 )); read -r r1 a1 n1 <<<"$(sample "$model")"
    wait $loadtest
    row=$(sed -n 2p "$work/$name-$c/results.csv")
    cp "$work/$name-$c/results.csv" "$OUT/ensemble-$name-c$c.csv"
    echo "$row" | awk -F, -v n="$name" -v c="$c" -v bi=$(( (r1 - r0) / (n1 - n0) )) -v bo=$(( (a1 - a0) / (n1 - n0) )) \
      '{printf "| %s | %s | %.1f | %.1f | %.1f | %d | %d |\n", n, c, $2, $4/1000, $7/1000, bi, bo}'
  done
done
# What the preprocessing step cost the server, per image (its own statistics over every run above).
curl -sf "http://127.0.0.1:18300/v2/models/resnet50_preprocess/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)["model_stats"][0]
n = s["inference_count"] or 1
i = s["inference_stats"]
print("resnet50_preprocess per image: compute_input %.2f ms, compute_infer %.2f ms, compute_output %.2f ms, queue %.2f ms (%d images, %d executions)" % (
    i["compute_input"]["ns"] / n / 1e6, i["compute_infer"]["ns"] / n / 1e6, i["compute_output"]["ns"] / n / 1e6, i["queue"]["ns"] / n / 1e6, n, s["execution_count"]))'
