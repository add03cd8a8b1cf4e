#!/usr/bin/env bash
# Device call 3 (the app is already unpacked by engine.sh): the server over gRPC with dynamic batching, measured with
# LoadTest on the same machine: batch 1 at concurrency 1 (latency), then saturation.
set -uo pipefail
S=$(dirname "$0"); . "$S/common.sh"
mkdir -p "$H/repo/resnet50/1"
ln -sf "$M/tv_fp16.onnx" "$H/repo/resnet50/1/model.onnx"
cfg e2e "optimization { $(accel prefer_nhwc=1 fuse_conv_bias=1) cuda { graphs: true } }" \
  "instance_group [ { kind: KIND_GPU count: ${INSTANCES:-2} } ]" 'dynamic_batching { max_queue_delay_microseconds: 200 }'
cp "$C/e2e.pbtxt" "$H/repo/resnet50/config.pbtxt"
"$APP/Inference.Server" --model-repository="$H/repo" --http-port=18000 --grpc-port=18001 --http-address=127.0.0.1 \
  --Logging:LogLevel:Default=Warning > "$OUT/server.log" 2>&1 &
SP=$!
for _ in $(seq 1 600); do curl -sf http://127.0.0.1:18000/v2/health/ready >/dev/null && break; sleep 0.2; done
curl -sf http://127.0.0.1:18000/v2/models/resnet50/config > "$OUT/e2e-config.json" || { echo "server not ready"; tail -20 "$OUT/server.log"; exit 1; }
R="$OUT/e2e.csv"
lt() { timeout 60 "$LT/LoadTest" --url http://127.0.0.1:18001 --protocol grpc -m resnet50 --batch "$1" --concurrency "$2" \
  --duration "${3:-5}" --warmup 2 --channels "${4:-4}" | tee -a "$R"; }
lt 1 1
lt 8 32 5 8
lt 16 32 5 8
lt 32 16 5 8
curl -sf http://127.0.0.1:18000/v2/models/resnet50/stats > "$OUT/e2e-stats.json"
kill $SP; wait $SP 2>/dev/null
echo "== e2e results"; cat "$R"
