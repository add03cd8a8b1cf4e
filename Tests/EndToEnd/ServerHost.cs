using Grpc.Net.Client;
using Inference.Server.Hosting;
using Inference.Server.Protos;
using Inference.Server.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// The real server (the same pipeline as Program.cs) on 127.0.0.1 with free ports, over a model
/// repository folder. Waits until the server reports ready (or the start-up loads are done).
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ServerHost(WebApplication app, Uri http, Uri grpc)
    {
        _app = app;
        HttpAddress = http;
        GrpcAddress = grpc;
        Http = new HttpClient { BaseAddress = http, Timeout = TimeSpan.FromSeconds(60) };
        Channel = GrpcChannel.ForAddress(grpc, new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20, MaxSendMessageSize = 64 << 20 });
        Grpc = new GRPCInferenceService.GRPCInferenceServiceClient(Channel);
    }

    public Uri HttpAddress { get; }

    public Uri GrpcAddress { get; }

    /// <summary>The metrics port's base address (serves only <c>/metrics</c>).</summary>
    public Uri MetricsAddress => new($"http://127.0.0.1:{Services.GetRequiredService<MetricsListener>().EndPoints[0].Port}/");

    public HttpClient Http { get; }

    public GrpcChannel Channel { get; }

    public GRPCInferenceService.GRPCInferenceServiceClient Grpc { get; }

    public IServiceProvider Services => _app.Services;

    public static Task<ServerHost> StartAsync(string repository, params string[] extraArgs) =>
        StartAsync(repository, configureServices: null, extraArgs);

    /// <summary>As <see cref="StartAsync(string, string[])"/>; <paramref name="configureServices"/> runs after the
    /// server's own registrations, so it can replace one (a fake clock, say).</summary>
    public static async Task<ServerHost> StartAsync(string repository, Action<IServiceCollection>? configureServices, params string[] extraArgs)
    {
        string[] args =
        [
            "--model-repository=" + repository, "--http-port=0", "--grpc-port=0", "--metrics-port=0", "--http-address=127.0.0.1",
            .. extraArgs,
        ];
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, EnvironmentName = "Testing" });
        builder.Configuration.AddCommandLine(TritonCommandLine.ExpandLoadModel(args), TritonCommandLine.SwitchMappings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddServiceDefaults();
        builder.AddInferenceServer();
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapInferenceServer();
        await app.StartAsync();

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        var host = new ServerHost(app, new Uri(addresses[0]), new Uri(addresses[1]));
        await host.WaitForStartupLoadsAsync();
        return host;
    }

    private async Task WaitForStartupLoadsAsync()
    {
        var server = _app.Services.GetRequiredService<Inference.Server.Repository.ModelManager>();
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!server.StartupCompleted)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("server start-up loads did not finish in 2 minutes");
            }
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
