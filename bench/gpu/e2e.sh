#!/usr/bin/env bash
# The server over gRPC with dynamic batching, measured with LoadTest on the same machine: the FP16 model (FP32 input,
# 602 KB per image) and its UINT8 preprocess variant (150 KB per image), 2 GPU instances each, CUDA graphs at
# 1,2,4,8,16,32,64,96,128,192,256 (a session per size: conv+bias fusion) captured on each instance's thread before
# ready; no batching delay (Triton's default). MODELS picks the models (default both); image_sink (write-image-sink:
# the UINT8 wire shape, a model that costs nothing, on N CPU instances) measures the server's own ceiling. Batch 1 at
# concurrency 1 (latency), then saturation with batch-1 requests (the dynamic batcher forms the batches) and with
# batch-8 requests. Results append to e2e.csv and cpu.csv, so several calls (other MODELS, LEVELS) share one table.
# EXTRA is appended to the GPU models' config (e.g. a gpu_sync parameter); SERVER_ARGS to the server's command line.
# MODELS may name "tuned": the folder TUNED (what `LoadTest tune` wrote as best/<model>, see tune.sh) as it is.
set -uo pipefail
S=$(dirname "$0"); . "$S/common.sh"
unpack_app; make_models
N=${INSTANCES:-2}
SIZES=$(echo "${GRAPH_SIZES:-1,2,4,8,16,32,64,96,128,192,256}" | sed -E 's/([0-9]+)/{ batch_size: \1 }/g')
E2E="optimization { $(accel prefer_nhwc=1 fuse_conv_bias=1) cuda { graphs: true graph_spec [ $SIZES ] } }
instance_group [ { kind: ${KIND:-KIND_GPU} count: $N } ]
dynamic_batching { max_queue_delay_microseconds: ${DELAY_US:-0} }
${EXTRA:-}"
MODELS=${MODELS:-resnet50_u8 resnet50}
rm -rf "$H/repo"
for m in $MODELS; do
  mkdir -p "$H/repo/$m/1"
  if [ "$m" = image_sink ]; then "$APP/Inference.Server" write-image-sink -r "$H/repo" --instances "$N" >/dev/null; continue; fi
  if [ "$m" = tuned ]; then # the model folder tune chose (TUNED), served as it wrote it, under the name "tuned"
    cp -r "${TUNED:?TUNED names the folder tune wrote as best/<model>}/." "$H/repo/tuned/"
    sed -i -E '0,/^name: /s/^name: .*/name: "tuned"/' "$H/repo/tuned/config.pbtxt"; cp "$H/repo/tuned/config.pbtxt" "$OUT/tuned-config.pbtxt"; continue; fi
  if [ "$m" = resnet50_u8 ]; then place_model "$M/tv_u8.onnx" "$H/repo/$m/1/model.onnx"; NAME=$m U8=1 cfg "e2e_$m" "$E2E"
  else place_model "$M/tv_fp16c.onnx" "$H/repo/$m/1/model.onnx"; NAME=$m cfg "e2e_$m" "$E2E"; fi
  cp "$C/e2e_$m.pbtxt" "$H/repo/$m/config.pbtxt"
done
t=$(date +%s)
${SERVER_CPUS:+taskset -c $SERVER_CPUS} "$APP/Inference.Server" --model-repository="$H/repo" --http-port=18000 --grpc-port=18001 --http-address=127.0.0.1 \
  --Logging:LogLevel:Default=Warning ${SERVER_ARGS:-} > "$OUT/server.log" 2>&1 &
SP=$!
for _ in $(seq 1 900); do curl -sf http://127.0.0.1:18000/v2/health/ready >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:18000/v2/models/${MODELS%% *}/config" > "$OUT/e2e-config.json" || { echo "server not ready"; tail -20 "$OUT/server.log"; kill $SP; exit 1; }
echo "server ready after $(( $(date +%s) - t )) s ($MODELS; $N instances each, graphs captured)${EXTRA:+ $EXTRA}"
echo "# server: $MODELS, $N instances${EXTRA:+, $EXTRA}${SERVER_ARGS:+, $SERVER_ARGS}" >> "$OUT/e2e.csv"
R="$OUT/e2e.csv"
cpu_s() { awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$1/stat"; }
lt() { # lt MODEL BATCH CONCURRENCY [CHANNELS] [PROTOCOL: grpc or grpc-stream]; CLIENT_CPUS pins LoadTest; CPU seconds go to cpu.csv
  echo "# model=$1 protocol=${5:-grpc}" >> "$R"
  local s0; s0=$(cpu_s $SP)
  local TIMEFORMAT="%U %S"
  local c; c=$( { time ${CLIENT_CPUS:+taskset -c $CLIENT_CPUS} timeout 30 "$LT/LoadTest" --url http://127.0.0.1:18001 --protocol "${5:-grpc}" \
    -m "$1" --batch "$2" --concurrency "$3" --duration ${DUR:-5} --warmup ${WARM:-2} --channels "${4:-8}" -q \
    2>>"$OUT/loadtest.log" >> "$R"; } 2>&1 )
  echo "$1${5:+/$5},$2,$3,${CLIENT_CPUS:-all},$(awk -v a="$s0" -v b="$(cpu_s $SP)" 'BEGIN { printf "%.1f", b - a }'),$(echo $c | awk '{ printf "%.1f", $1 + $2 }')" >> "$OUT/cpu.csv"
  tail -1 "$R"; }
[ -f "$OUT/cpu.csv" ] || echo "model,batch,concurrency,client_cpus,server_cpu_s,client_cpu_s" > "$OUT/cpu.csv"
if [ -n "${LEVELS:-}" ]; then eval "$LEVELS"; else
for m in $MODELS; do lt $m 1 1 1; done
for m in $MODELS; do lt $m 1 256 16; lt $m 8 64 16; lt $m 32 16 16; done
fi
curl -sf http://127.0.0.1:18000/v2/models/stats > "$OUT/e2e-stats.json"
nvidia-smi --query-gpu=memory.used --format=csv,noheader >> "$OUT/e2e-stats.json" 2>/dev/null
kill $SP; wait $SP 2>/dev/null
# The log can be large (one line per failed request): keep its distinct lines, counted.
sed -E 's/[0-9a-f]{8}-[0-9a-f-]{27}//g; s/[0-9]+(\.[0-9]+)? ?(ms|us|s)\b/N\2/g' "$OUT/server.log" | sort | uniq -c | sort -rn | head -60 > "$OUT/server-summary.txt"
tail -c 100000 "$OUT/server.log" > "$OUT/server-tail.log"; rm -f "$OUT/server.log"
echo "== e2e results"; cat "$R"
