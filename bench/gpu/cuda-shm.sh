#!/usr/bin/env bash
# CUDA shared memory against raw gRPC: the FP16 ResNet-50 with FP32 input (602 KB per image) served as e2e.sh serves
# it (2 GPU instances, CUDA graphs, dynamic batching), measured by the server's own gRPC client verb shm-bench (a
# separate process: CUDA IPC handles cannot be opened by the process that made them) with the input sent raw
# (raw_input_contents), from system shared memory, and from CUDA shared memory (device memory from cudaMalloc, its
# cudaIpcMemHandle_t registered once per client); "+out" also takes the output into the region. Every mode first checks
# its output against a raw request's. Rows go to cuda-shm.csv: mode,batch,concurrency,requests_per_s,images_per_s,
# p50_ms,p99_ms,client_cpu_s, then the server's CPU seconds per level in cuda-shm-cpu.csv.
# Needs prepare.sh's export on the same (warm) machine, like e2e.sh. LEVELS overrides the levels ("B:C B:C ..."),
# MODES the modes (default "raw system cuda cuda+out"), SERVER_ARGS adds server flags, TAG names the CSVs (cuda-shm-TAG.csv).
set -uo pipefail
S=$(dirname "$0"); . "$S/common.sh"
unpack_app; make_models
N=${INSTANCES:-2}
SIZES=$(echo "${GRAPH_SIZES:-1,2,4,8,16,32,64,96,128,192,256}" | sed -E 's/([0-9]+)/{ batch_size: \1 }/g')
rm -rf "$H/repo"; mkdir -p "$H/repo/resnet50/1"
place_model "$M/tv_fp16c.onnx" "$H/repo/resnet50/1/model.onnx"
NAME=resnet50 cfg shm_resnet50 "optimization { $(accel prefer_nhwc=1 fuse_conv_bias=1) cuda { graphs: true graph_spec [ $SIZES ] } }
instance_group [ { kind: KIND_GPU count: $N } ]
dynamic_batching { }"
cp "$C/shm_resnet50.pbtxt" "$H/repo/resnet50/config.pbtxt"
"$APP/Inference.Server" --model-repository="$H/repo" --http-port=18000 --grpc-port=18001 --metrics-port=18002 --http-address=127.0.0.1 \
  --Logging:LogLevel:Default=Warning ${SERVER_ARGS:-} > "$OUT/server.log" 2>&1 &
SP=$!
for _ in $(seq 1 900); do curl -sf http://127.0.0.1:18000/v2/health/ready >/dev/null && break; sleep 0.2; done
curl -sf http://127.0.0.1:18000/v2 > "$OUT/server-metadata.json" || { echo "server not ready"; tail -20 "$OUT/server.log"; kill $SP; exit 1; }
R="$OUT/cuda-shm${TAG:+-$TAG}.csv"
echo "mode,batch,concurrency,requests_per_s,images_per_s,p50_ms,p99_ms,client_cpu_s" > "$R"
CPU="$OUT/cuda-shm${TAG:+-$TAG}-cpu.csv"
echo "mode,batch,concurrency,server_cpu_s" > "$CPU"
cpu_s() { awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$1/stat"; }
for level in ${LEVELS:-1:1 1:64 8:16 32:8}; do
  b=${level%%:*}; c=${level#*:}
  for mode in ${MODES:-raw system cuda cuda+out}; do
    m=${mode%+out}; extra=""; [ "$mode" != "$m" ] && extra=--shm-output
    s0=$(cpu_s $SP)
    timeout 60 "$APP/Inference.Server" shm-bench --url http://127.0.0.1:18001 --model resnet50 --mode "$m" $extra \
      --batch "$b" --concurrency "$c" --seconds "${DUR:-5}" --warmup "${WARM:-2}" >> "$R" 2>>"$OUT/shm-bench.log" \
      || echo "# $mode batch $b concurrency $c failed: $(tail -1 "$OUT/shm-bench.log")" >> "$R"
    echo "$mode,$b,$c,$(awk -v a="$s0" -v b="$(cpu_s $SP)" 'BEGIN { printf "%.1f", b - a }')" >> "$CPU"
    tail -1 "$R"
  done
done
curl -sf http://127.0.0.1:18000/v2/models/stats > "$OUT/cuda-shm-stats.json"
kill $SP; wait $SP 2>/dev/null
tail -c 100000 "$OUT/server.log" > "$OUT/server-tail.log"; rm -f "$OUT/server.log"
echo "== cuda-shm results"; cat "$R"
