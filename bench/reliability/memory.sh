#!/usr/bin/env bash
# What the server's resident memory is made of with the default ResNet-50 on the CPU (docs/reliability.md).
# Starts the Release server six times on loopback and reads /proc/PID (status, smaps_rollup, smaps) and the .NET GC's
# figures on /metrics (memory_breakdown.py):
#   A baseline: a repository with only the identity model (runtime, ASP.NET Core, ONNX Runtime loaded; no weights);
#   B default:  no --model-repository (the default repository: resnet50, FP32, two CPU instances), idle after the load;
#   C B after 20 s of gRPC load at batch 8 (ONNX Runtime's arenas and the activations grown);
#   D, E the same ResNet-50 with one CPU instance, idle and after the same load (B-D, C-E: one more instance);
#   F the first start on an empty cache, which generates the default repository in the server process itself;
#   G a bare ONNX Runtime session of the same model in a process of its own (ort-session/), with all and with basic
#     graph optimizations: what a session costs at creation and after batch-1 and batch-8 runs, without the server.
# The repository for B-E is generated beforehand by `Inference.Server default-repository`, so that they are normal starts.
# The default repository goes to $ASPIRE_INFERENCE_CACHE (default /tmp/aspire-inference-cache), not the home folder.
# Usage: bench/reliability/memory.sh   Results: bench/reliability/results/memory-<UTC date>-<commit>/ (memory.jsonl, summary.txt)
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/reliability/common.sh
export ASPIRE_INFERENCE_CACHE=${ASPIRE_INFERENCE_CACHE:-/tmp/aspire-inference-cache}
dotnet build -c Release Inference.Server/Inference.Server.csproj -v q -nologo | tail -1
dotnet build -c Release LoadTest/LoadTest.csproj -v q -nologo | tail -1
dotnet build -c Release bench/reliability/ort-session/ort-session.csproj -v q -nologo | tail -1
S="dotnet Inference.Server/bin/Release/net10.0/Inference.Server.dll"
L="dotnet LoadTest/bin/Release/net10.0/LoadTest.dll"
OUT=bench/reliability/results/memory-$(date -u +%Y-%m-%d)-$(git rev-parse --short HEAD)
mkdir -p "$OUT"; : >"$OUT/memory.jsonl"
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
machine | tee "$OUT/summary.txt"

snapshot() { sleep 3; python3 bench/reliability/memory_breakdown.py "$SERVER_PID" "http://127.0.0.1:$HTTP_PORT" "$1" >>"$OUT/memory.jsonl"; }
load() { $L --url "http://127.0.0.1:$GRPC_PORT" --protocol grpc -m resnet50 --batch 8 --concurrency 2 --duration 20 --warmup 2 -q | tail -1 >>"$OUT/summary.txt"; }

$S write-identity -r "$work/identity" --name identity >/dev/null
start_server "$work/a.log" --model-repository="$work/identity"
snapshot "A identity only"; stop_server

$S default-repository >/dev/null
start_server "$work/b.log"
snapshot "B resnet50 x2 instances, idle"
load; snapshot "C resnet50 x2 instances, after batch-8 load"; stop_server

base=$($S default-repository)
mkdir -p "$work/one/resnet50/1"
ln -s "$base/resnet50/1/model.onnx" "$work/one/resnet50/1/model.onnx"
cp "$base/resnet50/labels.txt" "$work/one/resnet50/"
sed "0,/count: [0-9]*/s//count: 1/" "$base/resnet50/config.pbtxt" >"$work/one/resnet50/config.pbtxt"
start_server "$work/d.log" --model-repository="$work/one"
snapshot "D resnet50 x1 instance, idle"
load; snapshot "E resnet50 x1 instance, after batch-8 load"; stop_server

ASPIRE_INFERENCE_CACHE=$work/fresh-cache start_server "$work/f.log"
snapshot "F resnet50 x2 instances, idle, first start (generated the repository in-process)"; stop_server

for level in all basic; do
  dotnet bench/reliability/ort-session/bin/Release/net10.0/ort-session.dll "$base/resnet50/1/model.onnx" $level | tee -a "$OUT/summary.txt"
done
echo "model file: $(stat -c %s "$base/resnet50/1/model.onnx") bytes" | tee -a "$OUT/summary.txt"
python3 - "$OUT/memory.jsonl" <<'PY' | tee -a "$OUT/summary.txt"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line); s = r['status_kib']; g = r['gc']; b = r['rss_by_backing_kib']
    mib = lambda k: k / 1024
    libs = {k: v for k, v in b.items() if not k.startswith('[')}
    print(f"{r['label']}: RSS {mib(s['VmRSS']):.0f} MiB = anon {mib(s['RssAnon']):.0f} + file {mib(s['RssFile']):.0f} + shmem {mib(s.get('RssShmem', 0)):.0f};"
          f" GC committed {mib(g.get('committed_kib', 0)):.0f} MiB; threads {s['Threads']};"
          f" anon unnamed {mib(b.get('[anon]', 0)):.0f}, [heap] {mib(b.get('[heap]', 0)):.0f};"
          f" largest files: " + ", ".join(f"{k} {mib(v):.0f}" for k, v in sorted(libs.items(), key=lambda kv: -kv[1])[:5]))
PY
echo "results in $OUT"
