# Shared by the device scripts: where things live on the GPU machine, and config writing.
H=$HOME/gpu-bench                      # outside the repo copy: survives between calls while the machine stays warm
APP=$H/app/server; LT=$H/app/server; M=$H/models; C=$H/configs
export LD_LIBRARY_PATH=$APP:/usr/local/cuda-13.0/targets/x86_64-linux/lib:${LD_LIBRARY_PATH:-}
export DOTNET_gcServer=1 PYTHONUNBUFFERED=1 DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
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
accel() { # accel key=value ...: an execution_accelerators block with a gpu_execution_accelerator "cuda"
  local p=""; for kv in "$@"; do p="$p parameters { key: \"${kv%%=*}\" value: \"${kv#*=}\" }"; done
  echo "execution_accelerators { gpu_execution_accelerator [ { name: \"cuda\"$p } ] }"
}
cuda_opts() { echo "optimization { $(accel "$@") }"; }   # the same, as a whole optimization block
