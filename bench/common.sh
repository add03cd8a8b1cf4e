# Shared by the CPU benchmark scripts (source it from the repository root).
# build_release: Release builds of the server and LoadTest; sets S and L to their executables.
build_release() {
  dotnet build -c Release Inference.Server/Inference.Server.csproj -v q -nologo | tail -1
  dotnet build -c Release LoadTest/LoadTest.csproj -v q -nologo | tail -1
  S=Inference.Server/bin/Release/net10.0/Inference.Server
  L=LoadTest/bin/Release/net10.0/LoadTest
}
# wait_ready PORT: waits up to 2 minutes for the server's HTTP readiness on 127.0.0.1:PORT, else fails the script.
wait_ready() {
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$1/v2/health/ready" >/dev/null && return 0; sleep 0.2; done
  echo "server on $1 not ready"; exit 1
}
