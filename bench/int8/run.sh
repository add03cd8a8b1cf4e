#!/usr/bin/env bash
# INT8 vs FP32 on the CPU (issue 3, section 4): images/s of ResNet-50 (the generated one) at batch 8 with
# ONNX Runtime's CPU provider, engine only (bench-model: one session, back-to-back runs), for the FP32 model and
# its QDQ INT8 variants (int8-symmetric: TensorRT's form; int8: asymmetric with ReLUs folded, ORT's S8S8 default).
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
$S quantize --int8 -m "$work/fp32.onnx" -o "$work/int8-asym.onnx" --activations int8 --method minmax --calibration-samples 8 --eval-samples 4 | head -1

summary="$OUT/int8-summary.txt"; : >"$summary"
for m in fp32 int8-sym int8-asym; do
  r=$($S bench-model -m "$work/$m.onnx" --batch "$BATCH" --seconds "$DUR" --warmup 3)
  echo "$m $r" | tee -a "$OUT/int8-runs.txt"
  echo "$m $(echo "$r" | grep -o '[0-9.]* images/s' | cut -d' ' -f1)" >>"$summary"
done
fp32=$(awk '$1=="fp32"{print $2}' "$summary")
for m in int8-sym int8-asym; do
  v=$(awk -v m=$m '$1==m{print $2}' "$summary")
  echo "$m / fp32 = $(awk -v a="$v" -v b="$fp32" 'BEGIN{printf "%.2f", a/b}')x" | tee -a "$OUT/int8-runs.txt"
done
