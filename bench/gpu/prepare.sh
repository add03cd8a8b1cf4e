#!/usr/bin/env bash
# Device call 1 (carries .gpu-stage: the pruned CUDA provider and these scripts): unpack the provider outside the repo
# copy, record the machine, export torchvision's ResNet-50 (FP32, FP16), and measure the PyTorch peer.
set -uo pipefail
S=$(dirname "$0"); . "$S/common.sh"
mkdir -p "$H/lib"
python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'), 1<<24)" \
  "$S/libonnxruntime_providers_cuda.so.xz" "$H/lib/libonnxruntime_providers_cuda.so" || exit 1
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv,noheader
  nproc; grep -m1 'model name' /proc/cpuinfo; python3 -c 'import torch,torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)'
  ls /usr/lib/x86_64-linux-gnu | grep -m3 libcudnn.so; ls /usr/local/cuda-13.0/targets/x86_64-linux/lib | grep -m2 libcudart; } 2>&1 | tee "$OUT/machine.txt"
timeout 200 python3 "$S/export_models.py" "$M" 2>&1 | grep -v Warning | tail -4
[ -n "${SKIP_TORCH:-}" ] || timeout 280 python3 "$S/torch_peer.py" 1,256 2>"$OUT/torch.log" | tee "$OUT/torch.csv"
ls -la "$M" "$H/lib"
