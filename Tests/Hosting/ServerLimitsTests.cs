using System.Net;
using System.Net.Sockets;
using System.Text;
using Inference.Server.Hosting;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;

namespace Inference.Tests.Hosting;

/// <summary>Kestrel's connection and header limits, set by the server's options, on the real server.</summary>
public sealed class ServerLimitsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Defaults_AreKestrels_AndConnectionsAreUnlimited()
    {
        var o = new InferenceServerOptions();
        Assert.Equal((32 * 1024, 100, 130, 30, 0L, 1024),
            (o.MaxRequestHeaderBytes, o.MaxRequestHeaderCount, o.KeepAliveTimeoutSeconds, o.RequestHeadersTimeoutSeconds, o.MaxConcurrentConnections, o.GrpcMaxConcurrentStreams));
        Assert.Empty(o.Validate());
    }

    [Fact]
    public void BadLimits_AreStartupErrorsNamingTheKeys() =>
        Assert.Equal(
            [
                "Inference:MaxRequestHeaderBytes must be at least 1024 (got 10).",
                "Inference:MaxRequestHeaderCount must be at least 1 (got 0).",
                "Inference:KeepAliveTimeoutSeconds must be 1..86400 seconds (got 0).",
                "Inference:RequestHeadersTimeoutSeconds must be 1..86400 seconds (got -1).",
                "Inference:MaxConcurrentConnections must be 0 (unlimited) or more (got -1).",
                "Inference:GrpcMaxConcurrentStreams must be 1..65536 (got 0).",
            ],
            new InferenceServerOptions
            {
                MaxRequestHeaderBytes = 10, MaxRequestHeaderCount = 0, KeepAliveTimeoutSeconds = 0, RequestHeadersTimeoutSeconds = -1, MaxConcurrentConnections = -1,
                GrpcMaxConcurrentStreams = 0,
            }.Validate());

    [Fact]
    public async Task HeaderSizeAndCount_OverTheLimits_Are431()
    {
        using var repository = new TempDirectory();
        await using var server = await ServerHost.StartAsync(repository.Path, "--max-request-header-bytes=4096", "--max-request-header-count=20");

        using (var big = new HttpRequestMessage(HttpMethod.Get, "/v2/health/live"))
        {
            big.Headers.Add("x-big", new string('a', 5000));
            using var response = await server.Http.SendAsync(big, Ct);
            Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        }
        using (var many = new HttpRequestMessage(HttpMethod.Get, "/v2/health/live"))
        {
            for (var i = 0; i < 30; i++)
            {
                many.Headers.Add($"x-h{i}", "v");
            }
            using var response = await server.Http.SendAsync(many, Ct);
            Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        }
        using (var ok = await server.Http.GetAsync("/v2/health/live", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
    }

    [Fact]
    public async Task IdleKeepAlive_AndSlowHeaders_AreCutOffAfterTheirTimeouts()
    {
        using var repository = new TempDirectory();
        await using var server = await ServerHost.StartAsync(repository.Path, "--keep-alive-timeout-secs=1", "--request-headers-timeout-secs=1");

        using (var idle = await ConnectAsync(server))
        {
            await SendAsync(idle, "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 200", await ReadAsync(idle));
            // Kestrel checks timeouts once a second: closed well within 10 s, not after the default 130 s.
            Assert.True(await ClosedWithinAsync(idle, TimeSpan.FromSeconds(10)));
        }
        using (var slow = await ConnectAsync(server))
        {
            await SendAsync(slow, "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n");
            Assert.True(await ClosedWithinAsync(slow, TimeSpan.FromSeconds(10)));
        }
    }

    [Fact]
    public async Task ConnectionsOverTheLimit_AreClosed()
    {
        using var repository = new TempDirectory();
        await using var server = await ServerHost.StartAsync(repository.Path, "--max-concurrent-connections=1");

        using var first = await ConnectAsync(server);
        await SendAsync(first, "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", await ReadAsync(first));
        using var second = await ConnectAsync(server);
        await SendAsync(second, "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.True(await ClosedWithinAsync(second, TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData(null, 1024)]
    [InlineData("--grpc-max-concurrent-streams=7", 7)]
    public async Task GrpcPort_AnnouncesItsStreamLimit_InItsHttp2Settings(string? option, int expected)
    {
        using var repository = new TempDirectory();
        await using var server = await ServerHost.StartAsync(repository.Path, option is null ? Array.Empty<string>() : [option]);

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, server.GrpcAddress.Port, Ct);
        // The client preface and an empty SETTINGS frame; the server's first frame is its SETTINGS.
        await socket.SendAsync(Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").Concat(new byte[] { 0, 0, 0, 4, 0, 0, 0, 0, 0 }).ToArray(), SocketFlags.None, Ct);
        var header = await ReceiveExactlyAsync(socket, 9);
        Assert.Equal(4, header[3]); // SETTINGS
        var payload = await ReceiveExactlyAsync(socket, (header[0] << 16) | (header[1] << 8) | header[2]);
        var settings = Enumerable.Range(0, payload.Length / 6).ToDictionary(
            i => (payload[6 * i] << 8) | payload[(6 * i) + 1],
            i => (payload[(6 * i) + 2] << 24) | (payload[(6 * i) + 3] << 16) | (payload[(6 * i) + 4] << 8) | payload[(6 * i) + 5]);
        Assert.Equal(expected, settings[3]); // SETTINGS_MAX_CONCURRENT_STREAMS
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        for (var read = 0; read < count;)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, Ct);
            Assert.True(n > 0, "the server closed the connection");
            read += n;
        }
        return buffer;
    }

    private static async Task<Socket> ConnectAsync(ServerHost server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, server.HttpAddress.Port, Ct);
        return socket;
    }

    private static async Task SendAsync(Socket socket, string text) => await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, Ct);

    private static async Task<string> ReadAsync(Socket socket)
    {
        var buffer = new byte[4096];
        var n = await socket.ReceiveAsync(buffer, SocketFlags.None, Ct);
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    /// <summary>True when the server closes the connection (after any answer it sends) within <paramref name="limit"/>.</summary>
    private static async Task<bool> ClosedWithinAsync(Socket socket, TimeSpan limit)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(limit);
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0)
            {
            }
            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            return false;
        }
    }
}
