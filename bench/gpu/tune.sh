#!/usr/bin/env bash
# `LoadTest tune` on the lent GPU machine (carries .gpu-app, after prepare.sh): ResNet-50 as torchvision exports it
# (FP32, one GPU instance, no batching: the baseline) through the whole method: the FP32, FP16, INT8, UINT8 and
# UINT8-over-FP16 variants made by our model tools, the cuda accelerator with and without NHWC and conv/bias fusion,
# CUDA graphs off or at the powers of two, 1, 2 or 4 instances, dynamic batching off or with no delay; measured over
# gRPC streams at concurrency 1, 16, 64 and 256 with p99 <= 50 ms. A call runs the search for at most BUDGET seconds
# (SIGINT, as Ctrl+C: the state is saved after every config) and the next call resumes it; the report, CSV, JSON and
# the best config come back as tune-out.tar.gz. Compare the best with the hand-tuned config afterwards with e2e.sh
# (MODELS="resnet50_u8 tuned" TUNED=$HOME/gpu-bench/tune-out/best/resnet50).
set -uo pipefail
S=$(dirname "$0"); . "$S/common.sh"
unpack_app
TO=$H/tune-out; SRC=$H/tune-src/resnet50
if [ ! -f "$SRC/config.pbtxt" ]; then
  mkdir -p "$SRC/1"; place_model "$M/tv_fp32.onnx" "$SRC/1/model.onnx"
  NAME=resnet50 cfg tune_src 'instance_group [ { kind: KIND_GPU count: 1 } ]'; cp "$C/tune_src.pbtxt" "$SRC/config.pbtxt"
fi
ARGS=(tune -m "$SRC" -o "$TO" --objective throughput --max-p99-ms 50 --max-gpu-memory-mb 16384
  --precision fp32,fp16,int8,preprocess,fp16-preprocess --accelerator cuda --accelerator cuda:prefer_nhwc=1,fuse_conv_bias=1
  --instances 1,2,4 --max-queue-delay-us off,0 --preferred-batch-sizes none
  --protocol grpc-stream --channels 16 --concurrency 1,16,64,256 --measurement-interval ${INTERVAL_MS:-1500} --warmup 1
  --max-configs ${MAX_CONFIGS:-16})
[ -f "$TO/tune-state.json" ] && ARGS+=(--resume)
echo "$LT/LoadTest ${ARGS[*]}" | sed "s#$H#\$H#g" > "$OUT/tune-command.txt"
timeout -s INT "${BUDGET:-520}" "$LT/LoadTest" "${ARGS[@]}" 2> >(tr '\r' '\n' | grep -v '^\s*$' > "$OUT/tune-progress.log")
echo "tune exit code $?"
sleep 1
# What comes back: everything but the model files.
tar -C "$H" --exclude='*.onnx' --exclude='tune-out/repository' -czf "$OUT/tune-out.tar.gz" tune-out
grep -E "^\[|best|config [0-9]+" "$OUT/tune-progress.log" | tail -40
