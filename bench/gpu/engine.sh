#!/usr/bin/env bash
# Engine-only through OnnxRuntimeInstance (gpu-bench), most telling rows first (a call stops early past DEADLINE and
# the next call resumes with FROM=label; ONLY="label ..." runs just those rows): FP16 (our convert --fp16) with NHWC + conv/bias fusion + CUDA graphs, with
# host I/O (the server's path: gather into pinned memory, copies in and out) and device-resident (inputs already on
# the GPU, as the bare ORT loop and the PyTorch peer measure); the UINT8 preprocess variant; 1/2/4 instances; batch
# sweep; many small requests; then the FP32 ladder: baseline -> graph optimizations -> NHWC -> fusion -> CUDA graphs.
set -uo pipefail
S=$(dirname "$0"); . "$S/common.sh"
unpack_app; make_models

G='cuda { graphs: true graph_spec [ { batch_size: 1 }, { batch_size: 256 } ] }'
F=$(accel prefer_nhwc=1 fuse_conv_bias=1)
cfg base   'optimization { graph { level: 2 } }'
cfg opt    ''
cfg ortcopy 'parameters { key: "gpu_io_copy" value: { string_value: "ort" } }'
cfg nhwc   "$(cuda_opts prefer_nhwc=1)"
cfg fuse   "$(cuda_opts prefer_nhwc=1 fuse_conv_bias=1)"
cfg fuse_ortcopy "$(cuda_opts prefer_nhwc=1 fuse_conv_bias=1)" 'parameters { key: "gpu_io_copy" value: { string_value: "ort" } }'
cfg graphs "optimization { $F $G }"
cfg sweep  "optimization { $F cuda { graphs: true } }"
cfg inst128 "optimization { $F cuda { graphs: true graph_spec [ { batch_size: 128 } ] } }"
U8=1 cfg u8_graphs "optimization { $F $G }"
U8=1 cfg u8_inst128 "optimization { $F cuda { graphs: true graph_spec [ { batch_size: 128 } ] } }"
BLOCK='parameters { key: "gpu_sync" value: { string_value: "blocking" } }'
U8=1 cfg u8_graphs_block "optimization { $F $G }" "$BLOCK"
U8=1 cfg u8_inst128_block "optimization { $F cuda { graphs: true graph_spec [ { batch_size: 128 } ] } }" "$BLOCK"

R="$OUT/engine.csv"; [ -f "$R" ] || echo "label,batch,instances,images_per_s,p50_ms,p99_ms,input_ms,infer_ms,cpu_cores" > "$R"
skip() { [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $1 "* ]] && return 0
  [ -n "${FROM:-}" ] && [ "$1" != "$FROM" ] && [ -z "${STARTED:-}" ] && return 0; STARTED=1; return 1; }
gb() { # gb LABEL MODEL CONFIG BATCHES [INSTANCES] [extra...]
  skip "$1" && return 0
  if late; then echo "SKIPPED from $1 (deadline): resume with FROM=$1"; exit 0; fi
  local label=$1 model=$2 config=$3 batches=$4 n=${5:-1}; shift 5 2>/dev/null || shift $#
  timeout 90 "$APP/Inference.Server" gpu-bench --label "$label" --model "$M/$model.onnx" --config "$C/$config.pbtxt" \
    --batch "$batches" --instances "$n" --seconds ${SECONDS_PER:-2} --device ${GB_DEVICE:-gpu} "$@" 2>>"$OUT/engine.log" | tee -a "$R"
}
gb fp16_graphs           tv_fp16c graphs 1,256 1 --verify
gb fp16_graphs_resident  tv_fp16c graphs 1,256 1 --resident
gb u8_graphs             tv_u8 u8_graphs 1,256 1 --verify
gb u8_graphs_resident    tv_u8 u8_graphs 1,256 1 --resident
for n in 1 2 4; do gb fp16_instances_$n tv_fp16c inst128 128 $n; done
for n in 1 2 4; do gb u8_instances_$n tv_u8 u8_inst128 128 $n; done
# Many 150 KB requests per batch, as the gRPC front-end receives them: page-locked (copied to the device one by one,
# no gather) and, for comparison, pageable (gathered into the staging buffer first).
gb u8_instances_2_split1          tv_u8 u8_inst128 128 2 --split 1
gb u8_instances_2_split1_pageable tv_u8 u8_inst128 128 2 --split 1 --pageable
gb u8_graphs_blocking    tv_u8 u8_graphs_block 1,256
for n in 2 4; do gb u8_instances_${n}_blocking tv_u8 u8_inst128_block 128 $n; done
gb fp16_split1           tv_fp16c graphs 256 1 --split 1
gb torchhalf_graphs_resident tv_fp16 graphs 1,256 1 --resident
gb fp16_fuse_stream      tv_fp16c fuse 1,256
gb fp16_fuse_ortcopy     tv_fp16c fuse_ortcopy 1,256
gb fp16_fuse_resident    tv_fp16c fuse 1,256 1 --resident
gb fp16_sweep            tv_fp16c sweep 1,2,4,8,16,32,64,128,256
gb fp32_base             tv_fp32 base 1,256 1 --verify
gb fp32_graphopt         tv_fp32 opt 1,256
gb fp32_graphopt_ortcopy tv_fp32 ortcopy 1,256
gb fp32_nhwc             tv_fp32 nhwc 1,256
gb fp32_nhwc_fuse        tv_fp32 fuse 1,256 1 --verify
gb fp32_nhwc_fuse_graphs tv_fp32 graphs 1,256 1 --verify
gb our_fp32_nhwc_fuse_graphs our_fp32 graphs 1,256 1 --verify
echo "== engine results"; cat "$R"
