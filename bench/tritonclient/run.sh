#!/usr/bin/env bash
# NVIDIA's Python tritonclient (HTTP, gRPC, both asyncio clients, shared-memory utils) against this server on loopback.
# Stages the client from its source (stage.sh), writes a repository with the server's model tools (identity, resnet_tiny),
# starts the Release server in explicit mode and runs compat.py: one line per case, PASS or FAIL.
# Usage: bench/tritonclient/run.sh CLIENT_SOURCE [OUTPUT_MD]
#   CLIENT_SOURCE: a checkout or bare git folder of github.com/triton-inference-server/client
#   OUTPUT_MD: default bench/tritonclient/results/<date>-<commit>.md
# Needs (Debian): protobuf-compiler python3-grpc-tools python3-grpcio python3-protobuf python3-numpy python3-rapidjson
#                 python3-geventhttpclient python3-aiohttp python3-packaging
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=${1:?client source folder}
commit=$(git rev-parse --short HEAD)
OUT=${2:-bench/tritonclient/results/$(date -u +%F)-$commit.md}
mkdir -p "$(dirname "$OUT")"
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

bench/tritonclient/stage.sh "$SRC" "$work/client" >/dev/null
source bench/common.sh
dotnet build -c Release Inference.Server/Inference.Server.csproj -v q -nologo | tail -1
S=Inference.Server/bin/Release/net10.0/Inference.Server
$S write-identity -r "$work/repo" --name identity --width 16 --max-batch-size 8 --max-queue-delay-us 0 >/dev/null
$S write-tiny -r "$work/repo" >/dev/null
# Scheduling cases: the accumulator (sequence batcher, implicit state), an ensemble of one step over identity, and
# identity with the response cache.
$S write-accumulator -r "$work/repo" >/dev/null
$S write-identity -r "$work/repo" --name identity_cached --width 16 --max-batch-size 8 --max-queue-delay-us 0 >/dev/null
echo 'response_cache { enable: true }' >> "$work/repo/identity_cached/config.pbtxt"
mkdir -p "$work/repo/identity_ensemble/1"
cat > "$work/repo/identity_ensemble/config.pbtxt" <<'PBTXT'
name: "identity_ensemble"
platform: "ensemble"
max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 16 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 16 ] } ]
ensemble_scheduling { step [ { model_name: "identity" model_version: -1
  input_map { key: "INPUT0" value: "INPUT0" } output_map { key: "OUTPUT0" value: "OUTPUT0" } } ] }
PBTXT
$S --model-repository="$work/repo" --model-control-mode=explicit --load-model='*' --http-port=18600 --grpc-port=18601 \
   --metrics-port=18602 --http-address=127.0.0.1 --trace-config=triton,file="$work/trace.json" --cache-config=local,size=1048576 >"$work/server.log" 2>&1 &
wait_ready 18600

{
  echo "# tritonclient against AspireInference"
  echo
  echo "$(date -u +%F), commit $commit, tritonclient $(cat "$work/client/tritonclient.rev") (triton-inference-server/client),"
  echo "$(nproc)-core $(uname -m) machine, $(/usr/bin/python3 --version), grpcio $(/usr/bin/python3 -c 'import grpc; print(grpc.__version__)'),"
  echo "protobuf $(/usr/bin/python3 -c 'import google.protobuf as p; print(p.__version__)'). Command: \`bench/tritonclient/run.sh CLIENT_SOURCE\`."
  echo
} > "$OUT"
rc=0
PYTHONPATH="$work/client" /usr/bin/python3 bench/tritonclient/compat.py --http 127.0.0.1:18600 --grpc 127.0.0.1:18601 \
  --repository "$work/repo" --markdown "$work/table.md" || rc=$?
cat "$work/table.md" >> "$OUT"
if grep -qi "unhandled\|exception" "$work/server.log"; then
  echo "server log:"; grep -i "unhandled\|exception" "$work/server.log" | head -20
fi
echo "results: $OUT"
exit $rc
