using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using Grpc.Net.Client;
using Inference.Server.Protos;
using Inference.Tests.Telemetry;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// The real server as a child process (<c>dotnet Inference.Server.dll</c> from the test's output folder) on 127.0.0.1,
/// with ports that were free a moment before, over a model repository folder. Its standard output and error are kept
/// for log assertions and failure messages. Owns the process: dispose kills it (with its children) if still running.
/// </summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private const int Sigterm = 15;

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, int httpPort, int grpcPort, int metricsPort)
    {
        _process = process;
        HttpAddress = new Uri($"http://127.0.0.1:{httpPort}/");
        GrpcAddress = new Uri($"http://127.0.0.1:{grpcPort}/");
        MetricsAddress = new Uri($"http://127.0.0.1:{metricsPort}/");
        Http = new HttpClient { BaseAddress = HttpAddress, Timeout = TimeSpan.FromSeconds(120) };
        Channel = GrpcChannel.ForAddress(GrpcAddress);
        Grpc = new GRPCInferenceService.GRPCInferenceServiceClient(Channel);
    }

    public Uri HttpAddress { get; }

    public Uri GrpcAddress { get; }

    public Uri MetricsAddress { get; }

    public HttpClient Http { get; }

    public GrpcChannel Channel { get; }

    public GRPCInferenceService.GRPCInferenceServiceClient Grpc { get; }

    public bool HasExited => _process.HasExited;

    public int Pid => _process.Id;

    /// <summary>Valid once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the server wrote to standard output and error so far.</summary>
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

    /// <summary>Starts the server and waits (up to two minutes) until <c>/v2/health/ready</c> answers 200. A start that
    /// fails (a port taken in between, say) is tried again with other ports, three times in all.</summary>
    public static async Task<ServerProcess> StartAsync(string repository, params string[] extraArgs)
    {
        for (var attempt = 1; ; attempt++)
        {
            var server = Start(repository, extraArgs);
            try
            {
                await server.WaitUntilReadyAsync(TimeSpan.FromMinutes(2));
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3 && server.HasExited)
            {
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Sends SIGTERM, as Kubernetes does when it stops a pod (Process.Kill would be SIGKILL).</summary>
    public void Terminate()
    {
        if (Kill(_process.Id, Sigterm) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>True when the process exits within <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Channel.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private static ServerProcess Start(string repository, string[] extraArgs)
    {
        int httpPort = ExternalProcess.FreePort(), grpcPort = ExternalProcess.FreePort(), metricsPort = ExternalProcess.FreePort();
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } dotnet ? dotnet : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        string[] args =
        [
            Path.Combine(AppContext.BaseDirectory, "Inference.Server.dll"),
            "--model-repository=" + repository, "--http-address=127.0.0.1",
            "--http-port=" + httpPort.ToString(CultureInfo.InvariantCulture),
            "--grpc-port=" + grpcPort.ToString(CultureInfo.InvariantCulture),
            "--metrics-port=" + metricsPort.ToString(CultureInfo.InvariantCulture),
            .. extraArgs,
        ];
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        // Plain one-line console logs, no colours, no telemetry export from the child.
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        info.Environment["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled";
        info.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        var process = new Process { StartInfo = info };
        var server = new ServerProcess(process, httpPort, grpcPort, metricsPort);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (HasExited)
            {
                throw new InvalidOperationException($"the server exited with {ExitCode} while starting:\n{Output}");
            }
            try
            {
                using var ready = await Http.GetAsync("v2/health/ready");
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the server was not ready within {timeout.TotalSeconds} s:\n{Output}");
            }
            await Task.Delay(100);
        }
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

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
