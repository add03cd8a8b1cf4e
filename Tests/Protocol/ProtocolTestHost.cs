using Grpc.Net.Client;
using Inference.Server.Core;
using Inference.Server.Protocol;
using Inference.Server.Protocol.Grpc;
using Inference.Server.Protocol.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Inference.Tests.Protocol;

/// <summary>
/// A real Kestrel on 127.0.0.1 with two ephemeral ports: HTTP/1.1+HTTP/2 for the REST API and HTTP/2 cleartext
/// for gRPC, serving the protocol layer over a <see cref="ReferenceInferenceServer"/>.
/// </summary>
internal sealed class ProtocolTestHost : IAsyncDisposable
{
    /// <summary>Small on purpose, so that the 413 path is cheap to reach.</summary>
    public const long MaxBodyBytes = 1024 * 1024;

    private readonly WebApplication _app;

    private ProtocolTestHost(WebApplication app, ReferenceInferenceServer server, Uri http, Uri grpc)
    {
        _app = app;
        Server = server;
        Http = new HttpClient { BaseAddress = http };
        Channel = GrpcChannel.ForAddress(grpc);
        Http2Address = grpc;
    }

    /// <summary>The HTTP/2-only (h2c) endpoint: gRPC, and the REST API for clients speaking HTTP/2.</summary>
    public Uri Http2Address { get; }

    public ReferenceInferenceServer Server { get; }

    public HttpClient Http { get; }

    public GrpcChannel Channel { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts the host; <paramref name="configure"/> sets the protocol options (restrictions, say).</summary>
    public static async Task<ProtocolTestHost> StartAsync(Action<KServeProtocolOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        ListenOptions? rest = null, grpc = null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = MaxBodyBytes;
            k.Listen(System.Net.IPAddress.Loopback, 0, o => { o.Protocols = HttpProtocols.Http1AndHttp2; rest = o; });
            k.Listen(System.Net.IPAddress.Loopback, 0, o => { o.Protocols = HttpProtocols.Http2; grpc = o; });
        });
        var server = new ReferenceInferenceServer();
        builder.Services.AddSingleton<IInferenceServer>(server);
        builder.Services.AddKServeProtocol(configure);
        var app = builder.Build();
        app.MapKServeHttp();
        app.MapKServeGrpc();
        await app.StartAsync(TestContext.Current.CancellationToken);
        // Kestrel writes the bound ports back into the listen options.
        return new ProtocolTestHost(app, server, new Uri($"http://127.0.0.1:{rest!.IPEndPoint!.Port}"), new Uri($"http://127.0.0.1:{grpc!.IPEndPoint!.Port}"));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
