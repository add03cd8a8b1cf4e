using System.Net;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Inference.Server.Telemetry;

/// <summary>
/// The Kestrel listener of the metrics port (Triton's 8002): marks the connections it accepts so that the
/// pipeline answers them only with the scraping endpoint, and reports the bound address (useful with port 0).
/// Configure it once from <c>ConfigureKestrel</c>; read it after the server started. Thread-safe for reading.
/// </summary>
public sealed class MetricsListener
{
    private static readonly object ConnectionMarker = new();
    private readonly List<ListenOptions> _listeners = [];

    /// <summary>Marks <paramref name="listenOptions"/> as a metrics listener.</summary>
    public void Attach(ListenOptions listenOptions)
    {
        listenOptions.Use(next => connection =>
        {
            connection.Items[ConnectionMarker] = ConnectionMarker;
            return next(connection);
        });
        lock (_listeners)
        {
            _listeners.Add(listenOptions);
        }
    }

    /// <summary>The bound endpoints (actual ports once the server started; empty when no listener was attached).</summary>
    public IReadOnlyList<IPEndPoint> EndPoints
    {
        get
        {
            lock (_listeners)
            {
                return [.. _listeners.Select(l => l.IPEndPoint).OfType<IPEndPoint>()];
            }
        }
    }

    /// <summary>True when the request arrived on a connection accepted by a metrics listener.</summary>
    public static bool IsMetricsConnection(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(ConnectionMarker) == true;
}
