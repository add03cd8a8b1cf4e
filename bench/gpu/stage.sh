#!/usr/bin/env bash
# Stages what the lent GPU machine needs (it has no dotnet and no network) into two folders of the checkout that the
# device tool sends (this checkout by default), each git-ignored through .git/info/exclude and under 64 MiB:
#   .gpu-stage/  the CUDA provider pruned to sm_90 (xz -9, ~52 MB) + the device scripts   -> carry in call 1 (prepare.sh)
#   .gpu-app/    the self-contained server and LoadTest (xz) + the device scripts           -> carry in calls 2, 3
# Usage: bench/gpu/stage.sh [CHECKOUT] (run from the repository root of the worktree to publish)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DEST=${1:-$SRC}
# The material folder beside the checkout (../shared) holds the CUDA fatbin pruner; SHARED overrides it.
SHARED=${SHARED:-$SRC/../shared}
W=${WORK:-/tmp/gpu-bench-stage}; mkdir -p "$W"
mkdir -p "$DEST/.git/info"; touch "$DEST/.git/info/exclude"
for d in /.gpu-stage/ /.gpu-app/; do grep -qxF "$d" "$DEST/.git/info/exclude" || echo "$d" >> "$DEST/.git/info/exclude"; done

if [ ! -f "$W/server/Inference.Server" ]; then
  dotnet publish "$SRC/Inference.Server/Inference.Server.csproj" -c Release -r linux-x64 --self-contained -o "$W/server" -v q -nologo
  dotnet publish "$SRC/LoadTest/LoadTest.csproj" -c Release -r linux-x64 --self-contained -o "$W/loadtest" -v q -nologo
fi
if [ ! -f "$W/libonnxruntime_providers_cuda.so.xz" ]; then
  python3 "$SHARED/gpu/prune-cuda-fatbin.py" "$W/server/libonnxruntime_providers_cuda.so" "$W/libonnxruntime_providers_cuda.so" 90
  xz -T2 -9 -c "$W/libonnxruntime_providers_cuda.so" > "$W/libonnxruntime_providers_cuda.so.xz"
fi
rm -rf "$W/app"; mkdir -p "$W/app"
cp -a "$W/server" "$W/app/server"
# LoadTest is self-contained on the same runtime: its files that the server lacks go into the server's folder, so the
# runtime travels once (two copies do not fit in 64 MiB). Satellite resource folders are dropped (English only).
for f in "$W/loadtest"/*; do [ -e "$W/app/server/$(basename "$f")" ] || cp -a "$f" "$W/app/server/"; done
# Not needed there: the CUDA provider travels pruned in .gpu-stage, TensorRT cannot load (no libnvinfer), the
# Windows natives come with the Gpu meta package.
rm -f "$W/app/server"/libonnxruntime_providers_{cuda,tensorrt}.so "$W/app/server"/onnxruntime*.dll "$W/app/server"/*.pdb
find "$W/app/server" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
tar -C "$W/app" -cf - server | xz -T2 -6 > "$W/app.tar.xz"

rm -rf "$DEST/.gpu-stage" "$DEST/.gpu-app"; mkdir -p "$DEST/.gpu-stage" "$DEST/.gpu-app"
cp "$W/libonnxruntime_providers_cuda.so.xz" "$DEST/.gpu-stage/"
cp "$W/app.tar.xz" "$DEST/.gpu-app/"
for d in .gpu-stage .gpu-app; do cp "$SRC"/bench/gpu/*.sh "$SRC"/bench/gpu/*.py "$DEST/$d/"; done
du -sh "$DEST/.gpu-stage" "$DEST/.gpu-app"
