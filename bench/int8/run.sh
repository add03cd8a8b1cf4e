#!/usr/bin/env bash
# INT8 vs FP32 on the CPU (issue 3, section 4): images/s of ResNet-50 (the generated one) at batch 8 with
# ONNX Runtime's CPU provider, engine only (bench-model: one session, back-to-back runs), for the FP32 model and
# its QDQ INT8 variants (int8-u8: uint8 activations with ReLUs folded, the default, fully fused by ORT on CPU;
# int8-sym: int8 symmetric activations, the form TensorRT consumes, where ReLUs stay between Q/DQ pairs).
# Usage: bench/int8/run.sh [seconds] [batch]   Results: bench/out/int8-*.txt and a summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}
BATCH=${2:-8}
OUT=bench/out; mkdir -p "$OUT"
dotnet build -c Release Inference.Server/Inference.Server.csproj -v q -nologo | tail -1
S=Inference.Server/bin/Release/net10.0/Inference.Server
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

vnni=$(grep -o -m1 -E 'avx512_vnni|avx_vnni' /proc/cpuinfo || echo none)
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), vnni: $vnni, $(dotnet --version)" | tee "$OUT/int8-machine.txt"

$S build-resnet50 -o "$work/fp32.onnx" >/dev/null
$S quantize --int8 -m "$work/fp32.onnx" -o "$work/int8-sym.onnx" --activations int8-symmetric --method minmax --calibration-samples 8 --eval-samples 4 | head -1
$S quantize --int8 -m "$work/fp32.onnx" -o "$work/int8-u8.onnx" --activations uint8 --method minmax --calibration-samples 8 --eval-samples 4 | head -1

# Rounds alternate the models so that load from other processes hits all of them alike; each model's best round counts.
summary="$OUT/int8-summary.txt"; : >"$summary"; : >"$OUT/int8-runs.txt"
for round in 1 2; do
  for m in fp32 int8-u8 int8-sym; do
    r=$($S bench-model -m "$work/$m.onnx" --batch "$BATCH" --seconds "$DUR" --warmup 3)
    echo "round $round $m $r" | tee -a "$OUT/int8-runs.txt"
    echo "$m $(echo "$r" | grep -o '[0-9.]* images/s' | cut -d' ' -f1)" >>"$summary"
  done
done
best() { awk -v m="$1" '$1==m && $2>b{b=$2} END{print b}' "$summary"; }
fp32=$(best fp32)
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/int8-runs.txt"
echo "best fp32 = $fp32 images/s" | tee -a "$OUT/int8-runs.txt"
for m in int8-u8 int8-sym; do
  v=$(best $m)
  echo "best $m = $v images/s" | tee -a "$OUT/int8-runs.txt"
  echo "$m / fp32 = $(awk -v a="$v" -v b="$fp32" 'BEGIN{printf "%.2f", a/b}')x" | tee -a "$OUT/int8-runs.txt"
done
