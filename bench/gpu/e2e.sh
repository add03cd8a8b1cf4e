#!/usr/bin/env bash
# The server over gRPC with dynamic batching, measured with LoadTest on the same machine: the FP16 model (FP32 input,
# 602 KB per image) and its UINT8 preprocess variant (150 KB per image), 2 GPU instances each, CUDA graphs at
# 1,4,16,64,128,256 (a session per size: conv+bias fusion) captured on each instance's thread before ready. Batch 1 at concurrency 1
# (latency), then saturation with batch-1 requests (the dynamic batcher forms the batches) and with batch-8 requests.
set -uo pipefail
S=$(dirname "$0"); . "$S/common.sh"
unpack_app; make_models
N=${INSTANCES:-2}
SIZES='{ batch_size: 1 }, { batch_size: 4 }, { batch_size: 16 }, { batch_size: 64 }, { batch_size: 128 }, { batch_size: 256 }'
E2E="optimization { $(accel prefer_nhwc=1 fuse_conv_bias=1) cuda { graphs: true graph_spec [ $SIZES ] } }
instance_group [ { kind: ${KIND:-KIND_GPU} count: $N } ]
dynamic_batching { max_queue_delay_microseconds: ${DELAY_US:-100} }"
rm -rf "$H/repo"; mkdir -p "$H/repo/resnet50/1" "$H/repo/resnet50_u8/1"
ln -sf "$M/tv_fp16c.onnx" "$H/repo/resnet50/1/model.onnx"; ln -sf "$M/tv_u8.onnx" "$H/repo/resnet50_u8/1/model.onnx"
cfg e2e "$E2E"; cp "$C/e2e.pbtxt" "$H/repo/resnet50/config.pbtxt"
NAME=resnet50_u8 U8=1 cfg e2e_u8 "$E2E"; cp "$C/e2e_u8.pbtxt" "$H/repo/resnet50_u8/config.pbtxt"
t=$(date +%s)
"$APP/Inference.Server" --model-repository="$H/repo" --http-port=18000 --grpc-port=18001 --http-address=127.0.0.1 \
  --Logging:LogLevel:Default=Warning > "$OUT/server.log" 2>&1 &
SP=$!
for _ in $(seq 1 900); do curl -sf http://127.0.0.1:18000/v2/health/ready >/dev/null && break; sleep 0.2; done
curl -sf http://127.0.0.1:18000/v2/models/resnet50_u8/config > "$OUT/e2e-config.json" || { echo "server not ready"; tail -20 "$OUT/server.log"; kill $SP; exit 1; }
echo "server ready after $(( $(date +%s) - t )) s (4 GPU instances, graphs captured)"
R="$OUT/e2e.csv"
lt() { # lt MODEL BATCH CONCURRENCY [CHANNELS]
  echo "# model=$1" >> "$R"
  timeout 30 "$LT/LoadTest" --url http://127.0.0.1:18001 --protocol grpc -m "$1" --batch "$2" --concurrency "$3" \
    --duration ${DUR:-5} --warmup ${WARM:-2} --channels "${4:-8}" -q 2>>"$OUT/loadtest.log" | tee -a "$R"; }
lt resnet50_u8 1 1 1
lt resnet50 1 1 1
lt resnet50_u8 1 256 16
lt resnet50_u8 8 64 16
lt resnet50 1 256 16
lt resnet50 8 64 16
curl -sf http://127.0.0.1:18000/v2/models/stats > "$OUT/e2e-stats.json"
nvidia-smi --query-gpu=memory.used --format=csv,noheader >> "$OUT/e2e-stats.json" 2>/dev/null
kill $SP; wait $SP 2>/dev/null
# The log can be large (one line per failed request): keep its distinct lines, counted.
sed -E 's/[0-9a-f]{8}-[0-9a-f-]{27}//g; s/[0-9]+(\.[0-9]+)? ?(ms|us|s)\b/N\2/g' "$OUT/server.log" | sort | uniq -c | sort -rn | head -60 > "$OUT/server-summary.txt"
tail -c 100000 "$OUT/server.log" > "$OUT/server-tail.log"; rm -f "$OUT/server.log"
echo "== e2e results"; cat "$R"
