# Shared by the device scripts: where things live on the GPU machine, and config writing.
H=$HOME/gpu-bench                      # outside the repo copy: survives between calls while the machine stays warm
APP=$H/app/server; LT=$H/app/loadtest; M=$H/models; C=$H/configs
export LD_LIBRARY_PATH=$APP:/usr/local/cuda-13.0/targets/x86_64-linux/lib:${LD_LIBRARY_PATH:-}
export DOTNET_gcServer=1 PYTHONUNBUFFERED=1
mkdir -p "$H" "$M" "$C"

# cfg NAME EXTRA...: a config.pbtxt for ResNet-50 (input FP32 [3,224,224], output FP32 [1000], max_batch_size 256)
# plus the given text (optimization blocks, parameters, instance groups, dynamic batching).
cfg() {
  local name=$1; shift
  { echo 'name: "resnet50" platform: "onnxruntime_onnx" max_batch_size: 256'
    echo 'input [ { name: "input" data_type: TYPE_FP32 dims: [ 3, 224, 224 ] } ]'
    echo 'output [ { name: "logits" data_type: TYPE_FP32 dims: [ 1000 ] } ]'
    printf '%s\n' "$@"; } > "$C/$name.pbtxt"
}
cuda_opts() { # cuda_opts key=value ...: a gpu_execution_accelerator "cuda" block
  local p=""; for kv in "$@"; do p="$p parameters { key: \"${kv%%=*}\" value: \"${kv#*=}\" }"; done
  echo "optimization { execution_accelerators { gpu_execution_accelerator [ { name: \"cuda\"$p } ] } }"
}
