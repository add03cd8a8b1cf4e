using Grpc.Core;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Inference.Server.Core;
using Microsoft.Extensions.Options;

namespace Inference.Server.Protocol.Grpc;

/// <summary>
/// <c>grpc.health.v1.Health</c> whose status follows <see cref="IInferenceServer.IsReady"/> for the whole server
/// ("") and for <c>inference.GRPCInferenceService</c>. Check reads readiness live; Watch is served by the
/// package's <see cref="HealthServiceImpl"/>, which <see cref="Refresh"/> keeps current (called on every Check
/// and periodically by <see cref="HealthRefreshService"/>). Thread-safe.
/// </summary>
public sealed class ReadinessHealthService(IInferenceServer server, HealthServiceImpl impl) : Health.HealthBase
{
    public const string InferenceServiceName = "inference.GRPCInferenceService";

    public override Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        Refresh();
        return impl.Check(request, context);
    }

    public override Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context)
    {
        Refresh();
        return impl.Watch(request, responseStream, context);
    }

    /// <summary>Copies the server's readiness into the status table.</summary>
    public void Refresh()
    {
        var status = server.IsReady ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing;
        impl.SetStatus("", status);
        impl.SetStatus(InferenceServiceName, status);
    }
}

/// <summary>Refreshes <see cref="ReadinessHealthService"/> every <see cref="KServeProtocolOptions.HealthRefreshInterval"/>
/// so that Watch streams see readiness changes.</summary>
public sealed class HealthRefreshService(ReadinessHealthService health, IOptions<KServeProtocolOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HealthRefreshInterval, time);
        do
        {
            health.Refresh();
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
