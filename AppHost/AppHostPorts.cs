using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;

/// <summary>
/// The ports the AppHost serves on this machine, as Aspire parameters with Triton's and the tools' defaults:
/// <c>inference-http-port</c> 8000, <c>inference-grpc-port</c> 8001, <c>inference-metrics-port</c> 8002,
/// <c>prometheus-port</c> 9090, <c>grafana-port</c> 3000 (<c>--Parameters:inference-http-port=18000</c>, ...).
/// They shape the model (endpoints), so they are read from configuration while it is built. A port another process
/// holds is reported when the application starts, before anything runs: otherwise Aspire's proxy binds what it can
/// (the IPv6 loopback while another process holds IPv4's) and clients reach whichever process answers.
/// </summary>
internal sealed record AppHostPorts(int InferenceHttp, int InferenceGrpc, int InferenceMetrics, int Prometheus, int Grafana)
{
    public static readonly IReadOnlyList<(string Name, int Default, string Role)> Parameters =
    [
        ("inference-http-port", 8000, "the inference server's HTTP (KServe v2)"),
        ("inference-grpc-port", 8001, "the inference server's gRPC"),
        ("inference-metrics-port", 8002, "the inference server's metrics"),
        ("prometheus-port", 9090, "Prometheus"),
        ("grafana-port", 3000, "Grafana"),
    ];

    public static AppHostPorts Read(IConfiguration configuration)
    {
        var ports = new int[Parameters.Count];
        for (var i = 0; i < Parameters.Count; i++)
        {
            var (name, fallback, _) = Parameters[i];
            var text = configuration[$"Parameters:{name}"] ?? fallback.ToString(CultureInfo.InvariantCulture);
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                throw new DistributedApplicationException($"Parameters:{name} must be a port number 1..65535 (got '{text}').");
            }
            var clash = Array.IndexOf(ports, port, 0, i);
            if (clash >= 0)
            {
                throw new DistributedApplicationException($"Parameters:{name} and Parameters:{Parameters[clash].Name} are both {port}; give each its own port.");
            }
            ports[i] = port;
        }
        return new AppHostPorts(ports[0], ports[1], ports[2], ports[3], ports[4]);
    }

    public IEnumerable<(string Name, int Port, string Role)> All() =>
        Parameters.Zip([InferenceHttp, InferenceGrpc, InferenceMetrics, Prometheus, Grafana], (p, port) => (p.Name, port, p.Role));

    /// <summary>Throws, naming the parameter to change, for every port that another process already holds on the
    /// IPv4 or IPv6 loopback or on all addresses.</summary>
    public void ThrowIfInUse()
    {
        var taken = All().Where(p => InUse(p.Port)).ToList();
        if (taken.Count > 0)
        {
            throw new DistributedApplicationException("Ports in use by another process on this machine: " +
                string.Join("; ", taken.Select(p => $"{p.Port} ({p.Role}; change it with --Parameters:{p.Name}=PORT)")) +
                ". Stop that process or choose other ports.");
        }
    }

    private static bool InUse(int port)
    {
        foreach (var address in new[] { IPAddress.Loopback, IPAddress.IPv6Loopback, IPAddress.Any })
        {
            if (address.AddressFamily == AddressFamily.InterNetworkV6 && !Socket.OSSupportsIPv6)
            {
                continue;
            }
            try
            {
                using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { ExclusiveAddressUse = true };
                socket.Bind(new IPEndPoint(address, port));
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
            {
                return true;
            }
        }
        return false;
    }
}
