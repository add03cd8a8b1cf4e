namespace Inference.Server.Hosting;

/// <summary>
/// While the server drains (<see cref="ServerDrain.IsDraining"/>), every HTTP/1.x answer that starts goes out with
/// <c>Connection: close</c> (answers to requests that came before the drain included), so that clients and layer-4 load
/// balancers open their next connection to another replica instead of reusing a kept-alive one to a server about to close
/// its listeners, where a request sent just as the connection closes is cut off unanswered. HTTP/2 clients (gRPC) are told
/// by Kestrel's GOAWAY when the listeners close.
/// </summary>
public static class DrainConnectionClose
{
    public static IApplicationBuilder UseConnectionCloseWhileDraining(this IApplicationBuilder app)
    {
        var services = app.ApplicationServices;
        ServerDrain? drain = null;
        // One delegate for every request; the drain is resolved on first use, not while the pipeline is built.
        Func<object, Task> closeIfDraining = state =>
        {
            drain ??= services.GetRequiredService<ServerDrain>();
            if (drain.IsDraining)
            {
                ((HttpResponse)state).Headers.Connection = "close";
            }
            return Task.CompletedTask;
        };
        return app.Use((context, next) =>
        {
            var protocol = context.Request.Protocol;
            if (HttpProtocol.IsHttp11(protocol) || HttpProtocol.IsHttp10(protocol))
            {
                context.Response.OnStarting(closeIfDraining, context.Response);
            }
            return next(context);
        });
    }
}
