# Shared by bench/reliability/*.sh (source it from the repository root).
# free_port: a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# start_server LOG ARGS...: starts the Release server on three free ports bound to 127.0.0.1; sets SERVER_PID,
# HTTP_PORT, GRPC_PORT, METRICS_PORT and waits up to 3 minutes for readiness (fails the script otherwise).
start_server() {
  local log=$1; shift
  HTTP_PORT=$(free_port); GRPC_PORT=$(free_port); METRICS_PORT=$(free_port)
  dotnet Inference.Server/bin/Release/net10.0/Inference.Server.dll --http-address=127.0.0.1 \
    --http-port="$HTTP_PORT" --grpc-port="$GRPC_PORT" --metrics-port="$METRICS_PORT" \
    --Logging:LogLevel:Default=Warning "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 900); do
    curl -sf "http://127.0.0.1:$HTTP_PORT/v2/health/ready" >/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited during start-up:"; tail -20 "$log"; exit 1; }
    sleep 0.2
  done
  echo "server on $HTTP_PORT not ready after 3 minutes"; tail -20 "$log"; exit 1
}
# stop_server: SIGTERM to SERVER_PID (if still running) and waits for it; sets SERVER_EXIT.
stop_server() {
  SERVER_EXIT=0
  if kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID"; fi
  wait "$SERVER_PID" 2>/dev/null || SERVER_EXIT=$?
}
# machine: one line describing this machine.
machine() {
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(uname -sr), .NET SDK $(dotnet --version)"
}
