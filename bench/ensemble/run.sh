#!/usr/bin/env bash
# The resnet50_image ensemble (UINT8 HWC image, preprocessed on the server by resnet50_preprocess, then resnet50)
# against the client doing the preprocessing (resnet50 fed ImageNet-normalized FP32 CHW tensors), on CPU, in the
# default repository the server writes. gRPC raw contents, LoadTest closed loop (one HTTP/2 connection) at a few
# concurrencies: throughput, p50/p99, and the bytes on the wire per request, both ways (the kernel's byte counts of
# the server's TCP connections, `ss -ti`, sampled twice inside the measured window, over the requests the model's
# statistics counted between the samples: tensor, protobuf and HTTP/2 framing together; +-concurrency/requests).
# Usage: bench/ensemble/run.sh [seconds-per-level >= 4] [concurrencies] [rounds]   (defaults: 10, 1,2,4, 2)
# Results: bench/out/ensemble-*.csv and a markdown table on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}
LEVELS=${2:-1,2,4}
ROUNDS=${3:-2}
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

# sample FILE MODEL: writes "peer bytes_received bytes_acked" of each connection to the gRPC port into FILE, then
# prints the model's successes.
sample() {
  ss -tinH state established '( sport = :18301 )' | awk '
    /^[0-9]/ { peer = $4; next }
    { r = 0; a = 0; for (i = 1; i <= NF; i++) { split($i, kv, ":"); if (kv[1] == "bytes_received") r = kv[2]; if (kv[1] == "bytes_acked") a = kv[2] }
      print peer, r, a }' >"$1"
  curl -sf "http://127.0.0.1:18300/v2/models/$2/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["model_stats"][0]["inference_stats"]["success"]["count"])'
}
# per_request BEFORE AFTER REQUESTS: bytes received and sent per request over the connections open at both samples.
per_request() {
  awk -v n="$3" 'NR == FNR { r[$1] = $2; a[$1] = $3; next } ($1 in r) { dr += $2 - r[$1]; da += $3 - a[$1] }
    END { printf "%d %d", dr / n, da / n }' "$1" "$2"
}

# One level of one path: LoadTest in the background, the wire sampled twice inside its measured window.
run_level() { # NAME MODEL INPUT CONCURRENCY ROUND
  local name=$1 model=$2 input=$3 c=$4 round=$5 n0 n1 bi bo dir="$work/$1-c$4-r$5"
  $L --url http://127.0.0.1:18301 --protocol grpc -m "$model" --input "$input" --output logits --concurrency "$c" \
     --duration "$DUR" --warmup 5 --channels 1 --quiet --output-dir "$dir" >/dev/null 2>"$dir.log" &
  local loadtest=$!
  sleep 6; n0=$(sample "$work/wire0" "$model")
  sleep $(( DUR - 2 )); n1=$(sample "$work/wire1" "$model")
  wait $loadtest
  read -r bi bo <<<"$(per_request "$work/wire0" "$work/wire1" $(( n1 - n0 )))"
  cp "$dir/results.csv" "$OUT/ensemble-$name-c$c-r$round.csv"
  sed -n 2p "$dir/results.csv" | awk -F, -v n="$name" -v c="$c" -v r="$round" -v bi="$bi" -v bo="$bo" \
    '{printf "| %s | %s | %s | %.1f | %.1f | %.1f | %d | %d |\n", n, c, r, $2, $4/1000, $7/1000, bi, bo}'
}

# The two paths take turns at each level, ROUNDS times, so that both see the same neighbours on a shared machine.
echo "| path | concurrency | round | images/s | p50 ms | p99 ms | bytes in / request | bytes out / request |"
echo "|---|---|---|---|---|---|---|---|"
for c in ${LEVELS//,/ }; do
  for round in $(seq 1 "$ROUNDS"); do
    run_level ensemble resnet50_image image "$c" "$round" | tee -a "$work/rows"
    run_level client resnet50 input "$c" "$round" | tee -a "$work/rows"
  done
done
# Per level: ensemble images/s over client images/s, each round's pair (run back to back), and their median.
echo
awk -F'|' '{ gsub(/ /, "") } $2 == "ensemble" { e = $5 } $2 == "client" { if (!($3 in ratio)) order[++n] = $3; ratio[$3] = ratio[$3] sprintf(" %.2f", e / $5) }
  END { for (i = 1; i <= n; i++) print "concurrency " order[i] ": ensemble / client images/s, round by round:" ratio[order[i]] }' "$work/rows"
# What the preprocessing step cost the server, per image (its own statistics over every run above).
curl -sf "http://127.0.0.1:18300/v2/models/resnet50_preprocess/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)["model_stats"][0]
n = s["inference_count"] or 1
i = s["inference_stats"]
print("resnet50_preprocess per image: compute_input %.2f ms, compute_infer %.2f ms, compute_output %.2f ms, queue %.2f ms (%d images, %d executions)" % (
    i["compute_input"]["ns"] / n / 1e6, i["compute_infer"]["ns"] / n / 1e6, i["compute_output"]["ns"] / n / 1e6, i["queue"]["ns"] / n / 1e6, n, s["execution_count"]))'
