#!/usr/bin/env bash
# Stages NVIDIA's Python tritonclient from its source (the triton-inference-server/client repository: a checkout or a
# bare git folder) into DEST/tritonclient, with the gRPC stubs generated from the Triton protos this server ships
# (Inference.Server/Protos) by Debian's protoc and python3-grpc-tools, as the client's build_wheel.py lays them out.
# Usage: bench/tritonclient/stage.sh CLIENT_SOURCE DEST
# Needs (Debian): protobuf-compiler python3-grpc-tools python3-grpcio python3-protobuf python3-numpy python3-rapidjson
#                 python3-geventhttpclient python3-aiohttp python3-packaging
set -euo pipefail
SRC=${1:?client source (checkout or bare git folder of triton-inference-server/client)}
DEST=${2:?destination folder}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$DEST"
rm -rf "$DEST/tritonclient" "$DEST/src"
if [ -d "$SRC/src/python/library/tritonclient" ]; then
  cp -a "$SRC/src/python/library/tritonclient" "$DEST/tritonclient"
  rev=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
else
  git --git-dir="$SRC" archive HEAD src/python/library/tritonclient | tar -x -C "$DEST"
  mv "$DEST/src/python/library/tritonclient" "$DEST/tritonclient"; rm -rf "$DEST/src"
  rev=$(git --git-dir="$SRC" rev-parse --short HEAD)
fi
protos=$REPO/Inference.Server/Protos
gen=$(mktemp -d); trap 'rm -rf "$gen"' EXIT
protoc -I "$protos" --python_out="$gen" "$protos/model_config.proto" "$protos/grpc_service.proto"
/usr/bin/python3 -m grpc_tools.protoc -I "$protos" --grpc_python_out="$gen" "$protos/grpc_service.proto"
g=$DEST/tritonclient/grpc
cp "$gen/model_config_pb2.py" "$g/model_config_pb2.py"
cp "$gen/grpc_service_pb2.py" "$g/service_pb2.py"
cp "$gen/grpc_service_pb2_grpc.py" "$g/service_pb2_grpc.py"
sed -i -E 's/^import ([^ ]*)_pb2 as ([^ ]*)$/from tritonclient.grpc import \1_pb2 as \2/' "$g/model_config_pb2.py" "$g/service_pb2.py"
sed -i -E 's/^import grpc_([^ ]*)_pb2 as ([^ ]*)$/from tritonclient.grpc import \1_pb2 as \2/' "$g/service_pb2_grpc.py"
echo "$rev" > "$DEST/tritonclient.rev"
echo "tritonclient $rev staged in $DEST"
