using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace LoadTest;

/// <summary>
/// The benchmark's peer: a bare Kestrel endpoint that reads the request body and answers with a body of
/// the same size, with no protocol parsing, model or scheduling. The server's HTTP overhead is measured
/// as a ratio against this in the same run. With a gRPC port it also serves <see cref="BareGrpcService"/> there
/// (h2c), the peer of the gRPC benchmarks, configured as the inference server configures its gRPC port (message size
/// limits raised, 1,024 streams per connection).
/// </summary>
public static class BareServer
{
    public static async Task RunAsync(int port, int? grpcPort, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.ListenLocalhost(port, l => l.Protocols = HttpProtocols.Http1AndHttp2);
            if (grpcPort is { } g)
            {
                k.Limits.Http2.MaxStreamsPerConnection = 1024;
                k.ListenLocalhost(g, l => l.Protocols = HttpProtocols.Http2);
            }
        });
        if (grpcPort is not null)
        {
            builder.Services.AddGrpc(o =>
            {
                o.MaxReceiveMessageSize = 64 * 1024 * 1024;
                o.MaxSendMessageSize = 64 * 1024 * 1024;
            });
            builder.Services.AddSingleton(new BareGrpcService.Reply(1000));
        }
        var app = builder.Build();
        if (grpcPort is not null)
        {
            app.MapGrpcService<BareGrpcService>();
        }
        app.MapPost("/echo", async (HttpContext ctx) =>
        {
            var length = (int)(ctx.Request.ContentLength ?? 0);
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
            try
            {
                var read = 0;
                while (read < length)
                {
                    var n = await ctx.Request.Body.ReadAsync(buffer.AsMemory(read, length - read));
                    if (n == 0)
                    {
                        break;
                    }
                    read += n;
                }
                ctx.Response.ContentType = "application/octet-stream";
                ctx.Response.ContentLength = read;
                await ctx.Response.Body.WriteAsync(buffer.AsMemory(0, read));
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        });
        // The peer of an inference over HTTP binary, shaped as KServe v2 enough for LoadTest's HTTP client (metadata,
        // config, infer): read the whole body, answer one FP32 [rows, 1000] binary output, rows being the body's count
        // of 224x224x3 UINT8 images, as the server does for the image-sink model.
        app.MapGet("/v2/models/bare", () => Results.Text(BareHttpReplies.Metadata, "application/json"));
        app.MapGet("/v2/models/bare/config", () => Results.Text(BareHttpReplies.Config, "application/json"));
        app.MapPost("/v2/models/bare/infer", BareHttpReplies.InferAsync);
        await app.RunAsync(cancellationToken);
    }
}
