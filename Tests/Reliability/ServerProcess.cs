using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Inference.Tests.Reliability;

/// <summary>
/// The real server as a child process (<c>dotnet Inference.Server.dll</c> from the test's output folder, where the
/// project reference puts it) on 127.0.0.1 with free ports: what the reliability suite needs, since it reads the
/// server's /proc entries and ends it with SIGTERM. Output is kept for failure messages; killed on dispose if still
/// running.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, int httpPort, int grpcPort)
    {
        _process = process;
        HttpAddress = new Uri($"http://127.0.0.1:{httpPort}");
        GrpcAddress = new Uri($"http://127.0.0.1:{grpcPort}");
    }

    public Uri HttpAddress { get; }

    public Uri GrpcAddress { get; }

    public int Pid => _process.Id;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the server with <paramref name="arguments"/> (ports and address are added) and waits until
    /// <c>/v2/health/ready</c> answers 200.</summary>
    public static async Task<ServerProcess> StartAsync(string[] arguments, CancellationToken cancellationToken)
    {
        int http = FreePort(), grpc = FreePort(), metrics = FreePort();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Inference.Server.dll"));
        foreach (var a in (string[])[.. arguments, "--http-address=127.0.0.1", $"--http-port={http}", $"--grpc-port={grpc}", $"--metrics-port={metrics}",
            "--Logging:LogLevel:Default=Warning"])
        {
            info.ArgumentList.Add(a);
        }
        var process = new Process { StartInfo = info };
        var server = new ServerProcess(process, http, grpc);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the server exited during start-up ({process.ExitCode}):\n{server.Output}");
            }
            try
            {
                using var r = await probe.GetAsync(new Uri(server.HttpAddress, "/v2/health/ready"), cancellationToken);
                if (r.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            await Task.Delay(200, cancellationToken);
        }
        await server.DisposeAsync();
        throw new TimeoutException($"the server was not ready within 2 minutes:\n{server.Output}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
