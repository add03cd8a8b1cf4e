# Shared by the device scripts: where things live on the GPU machine, config writing, unpacking and the models.
H=$HOME/gpu-bench                      # outside the repo copy: survives between calls while the machine stays warm
APP=$H/app/server; LT=${LT:-$H/app/server}; M=$H/models; C=$H/configs
export LD_LIBRARY_PATH=$APP:/usr/local/cuda-13.0/targets/x86_64-linux/lib:${LD_LIBRARY_PATH:-}
export DOTNET_gcServer=1 PYTHONUNBUFFERED=1 DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
mkdir -p "$H" "$M" "$C"
T0=${T0:-$(date +%s)}; export T0       # with DEADLINE (seconds after T0), long loops stop early and say where

# cfg NAME EXTRA...: a config.pbtxt for ResNet-50 (input FP32 [3,224,224], output FP32 [1000], max_batch_size 256)
# plus the given text (optimization blocks, parameters, instance groups, dynamic batching).
cfg() {
  local name=$1; shift
  { echo "name: \"${NAME:-resnet50}\" platform: \"onnxruntime_onnx\" max_batch_size: 256"
    if [ -n "${U8:-}" ]; then echo 'input [ { name: "pixels" data_type: TYPE_UINT8 dims: [ 224, 224, 3 ] } ]'
    else echo 'input [ { name: "input" data_type: TYPE_FP32 dims: [ 3, 224, 224 ] } ]'; fi
    echo 'output [ { name: "logits" data_type: TYPE_FP32 dims: [ 1000 ] } ]'
    printf '%s\n' "$@"; } > "$C/$name.pbtxt"
}
accel() { # accel key=value ...: an execution_accelerators block with a gpu_execution_accelerator "cuda"
  local p=""; for kv in "$@"; do p="$p parameters { key: \"${kv%%=*}\" value: \"${kv#*=}\" }"; done
  echo "execution_accelerators { gpu_execution_accelerator [ { name: \"cuda\"$p } ] }"
}
cuda_opts() { echo "optimization { $(accel "$@") }"; }   # the same, as a whole optimization block
late() { [ -n "${DEADLINE:-}" ] && [ $(( $(date +%s) - T0 )) -gt "$DEADLINE" ]; }

# The self-contained server + LoadTest (carried as .gpu-app/app.tar.xz), linked to the provider unpacked by prepare.sh.
unpack_app() {
  [ -x "$APP/Inference.Server" ] && return 0
  mkdir -p "$H/app"
  python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$S/app.tar.xz" "$H/app" || exit 1
  ln -sf "$H/lib/libonnxruntime_providers_cuda.so" "$APP/libonnxruntime_providers_cuda.so"
}

# Models made there by the project's own tools from torchvision's export (prepare.sh): FP16 (convert --fp16) and the
# UINT8 NHWC preprocess variant of it (preprocess); our own builder's FP32.
make_models() {
  [ -f "$M/tv_fp16c.onnx" ] || timeout 200 "$APP/Inference.Server" convert --fp16 -m "$M/tv_fp32.onnx" -o "$M/tv_fp16c.onnx" --eval-samples 8 | tail -2
  [ -f "$M/tv_u8.onnx" ] || timeout 200 "$APP/Inference.Server" preprocess -m "$M/tv_fp16c.onnx" -o "$M/tv_u8.onnx" --eval-samples 8 | tail -2
  [ -f "$M/our_fp32.onnx" ] || timeout 120 "$APP/Inference.Server" build-resnet50 --output "$M/our_fp32.onnx" | tail -1
  cp -f "$M"/*.accuracy.json "$OUT/" 2>/dev/null || true
}
# place_model SRC DEST: puts a model file into a repository as a hard link, or a copy across file systems (the server
# refuses a symlink that resolves outside its repository).
place_model() { ln -f "$1" "$2" 2>/dev/null || cp "$1" "$2"; }
