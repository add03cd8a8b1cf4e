#!/usr/bin/env bash
# The reliability suite (docs/reliability.md) against the real server on loopback:
#   builds (Release), generates a model repository with the server's own model tools (identity: FP32 [batch,16];
#   overload: the small ResNet with dynamic_batching default_queue_policy max_queue_size 8), starts the server in
#   explicit mode and runs `LoadTest reliability` on it with its pid and repository, ending with the SIGTERM drain
#   check (--drain: the suite signals the server under load and times its exit); then starts a second server in poll
#   mode (1 s) on a copy of the repository and runs the faults category on it (poll-mode reload and deletion).
# Usage: bench/reliability/run.sh [--short|--long] [extra reliability options...]
# Results: bench/reliability/results/<UTC date>-<commit>-<form>/ (summary.md, summary.csv, failures.csv, skipped.csv,
#   log.txt, poll/ (the same for the poll-mode run), run.txt (the printed lines), machine.txt). Exit code: 0 only when every check of both runs passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
FORM=--short
if [[ "${1:-}" == --short || "${1:-}" == --long ]]; then FORM=$1; shift; fi
source bench/reliability/common.sh

dotnet build -c Release Inference.Server/Inference.Server.csproj -v q -nologo | tail -1
dotnet build -c Release LoadTest/LoadTest.csproj -v q -nologo | tail -1
S="dotnet Inference.Server/bin/Release/net10.0/Inference.Server.dll"
L="dotnet LoadTest/bin/Release/net10.0/LoadTest.dll"
COMMIT=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench/reliability/results' || echo "-dirty")
OUT=bench/reliability/results/$(date -u +%Y-%m-%d)-$COMMIT-${FORM#--}
mkdir -p "$OUT/poll"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
machine | tee "$OUT/machine.txt"
echo "commit $COMMIT, form ${FORM#--}, started $(date -u +%FT%TZ)" | tee -a "$OUT/machine.txt"

# --- the repository, written by the server's model tools
repo=$work/repository
$S write-identity -r "$repo" --name identity --width 16 --max-batch-size 8 --max-queue-delay-us 0 >/dev/null
$S write-tiny -r "$repo" --name overload >/dev/null
# write-tiny has no queue-policy option: bound the queue in its dynamic_batching block.
sed -i '/max_queue_delay_microseconds/a\  default_queue_policy { max_queue_size: 8 }' "$repo/overload/config.pbtxt"
grep -q "max_queue_size: 8" "$repo/overload/config.pbtxt" || { echo "could not bound the overload model's queue"; exit 1; }
cp -r "$repo" "$work/poll-repository"

# --- 1. explicit mode: every category, then the drain (ends the server)
start_server "$work/server.log" --model-repository="$repo" --model-control-mode=explicit --load-model='*' --max-request-body-bytes=4194304
echo "server pid $SERVER_PID on http $HTTP_PORT, grpc $GRPC_PORT, metrics $METRICS_PORT"
$L reliability "$FORM" --url-http "http://127.0.0.1:$HTTP_PORT" --url-grpc "http://127.0.0.1:$GRPC_PORT" \
  --server-pid "$SERVER_PID" --repository "$repo" --max-body-bytes 4194304 --drain --output-dir "$OUT" "$@" \
  2>"$OUT/log.txt" | tee "$OUT/run.txt"
rc=${PIPESTATUS[0]}
stop_server
echo "server exit code after SIGTERM: $SERVER_EXIT; error log entries: $(grep -c '^fail:' "$work/server.log")" | tee -a "$OUT/run.txt"

# --- 2. poll mode: faults (reload of a corrupt version, deletion) and the disconnect storm
start_server "$work/poll.log" --model-repository="$work/poll-repository" --model-control-mode=poll --repository-poll-secs=1
echo "poll-mode server pid $SERVER_PID"
$L reliability "$FORM" --url-http "http://127.0.0.1:$HTTP_PORT" --url-grpc "http://127.0.0.1:$GRPC_PORT" \
  --server-pid "$SERVER_PID" --repository "$work/poll-repository" --categories faults --output-dir "$OUT/poll" "$@" \
  2>"$OUT/poll/log.txt" | sed 's/^/poll mode: /' | tee -a "$OUT/run.txt"
prc=${PIPESTATUS[0]}
stop_server

echo "results in $OUT"
[[ $rc -eq 0 && $prc -eq 0 ]]
