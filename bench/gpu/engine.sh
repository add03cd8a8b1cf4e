#!/usr/bin/env bash
# Device call 2 (carries .gpu-app: the self-contained server and LoadTest, and these scripts): unpack, build our own
# ResNet-50, then the engine-only ladder through OnnxRuntimeInstance (gpu-bench): FP32 CUDA baseline -> graph
# optimizations -> NHWC -> conv+bias fusion -> CUDA graphs -> FP16; the host-copy variants; batch 1..256; 1/2/4 instances.
set -uo pipefail
S=$(dirname "$0"); . "$S/common.sh"
if [ ! -x "$APP/Inference.Server" ]; then
  mkdir -p "$H/app"
  python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$S/app.tar.xz" "$H/app" || exit 1
  ln -sf "$H/lib/libonnxruntime_providers_cuda.so" "$APP/libonnxruntime_providers_cuda.so"
fi
[ -f "$M/our_fp32.onnx" ] || timeout 120 "$APP/Inference.Server" build-resnet50 --output "$M/our_fp32.onnx" | tail -1

G='cuda { graphs: true graph_spec [ { batch_size: 1 }, { batch_size: 256 } ] }'
F=$(accel prefer_nhwc=1 fuse_conv_bias=1)
cfg base   'optimization { graph { level: 2 } }'
cfg opt    ''
cfg ortcopy 'parameters { key: "gpu_io_copy" value: { string_value: "ort" } }'
cfg nhwc   "$(cuda_opts prefer_nhwc=1)"
cfg fuse   "$(cuda_opts prefer_nhwc=1 fuse_conv_bias=1)"
cfg graphs "optimization { $F $G }"
cfg sweep  "optimization { $F cuda { graphs: true } }"
cfg inst128 "optimization { $F cuda { graphs: true graph_spec [ { batch_size: 128 } ] } }"
cfg nchw_graphs "optimization { $G }"

R="$OUT/engine.csv"; [ -f "$R" ] || echo "label,batch,instances,images_per_s,p50_ms,p99_ms" > "$R"
skip() { [ -n "${FROM:-}" ] && [ "$1" != "$FROM" ] && [ -z "${STARTED:-}" ] && return 0; STARTED=1; return 1; }
gb() { # gb LABEL MODEL CONFIG BATCHES [INSTANCES] [extra]; with FROM=LABEL, runs start at that label
  skip "$1" && return 0
  timeout 150 "$APP/Inference.Server" gpu-bench --label "$1" --model "$M/$2.onnx" --config "$C/$3.pbtxt" --batch "$4" \
    --instances "${5:-1}" --seconds 2 ${6:-} 2>>"$OUT/engine.log" | tee -a "$R"
}
gb fp32_base          tv_fp32 base    1,256 1 --verify
gb fp32_graphopt      tv_fp32 opt     1,256
gb fp32_graphopt_ortcopy tv_fp32 ortcopy 1,256
gb fp32_nhwc          tv_fp32 nhwc    1,256
gb fp32_nhwc_fuse     tv_fp32 fuse    1,256 1 --verify
gb fp32_nhwc_fuse_graphs tv_fp32 graphs 1,256 1 --verify
gb fp16_nchw_graphs   tv_fp16 nchw_graphs 1,256
gb fp16_nhwc_fuse_graphs tv_fp16 graphs 1,256
gb our_fp32_nhwc_fuse_graphs our_fp32 graphs 1,256 1 --verify
gb fp16_sweep         tv_fp16 sweep   1,2,4,8,16,32,64,128,256
for n in 1 2 4; do gb fp16_instances tv_fp16 inst128 128 $n; done
echo "== engine results"; cat "$R"
