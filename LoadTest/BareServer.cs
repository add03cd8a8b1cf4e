using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace LoadTest;

/// <summary>
/// The benchmark's peer: a bare Kestrel endpoint that reads the request body and answers with a body of
/// the same size, with no protocol parsing, model or scheduling. The server's HTTP overhead is measured
/// as a ratio against this in the same run.
/// </summary>
public static class BareServer
{
    public static async Task RunAsync(int port, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, l => l.Protocols = HttpProtocols.Http1AndHttp2));
        var app = builder.Build();
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
        await app.RunAsync(cancellationToken);
    }
}
