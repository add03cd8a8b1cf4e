using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace LoadTest.Tune;

/// <summary>
/// The server the tune measures through: either one it starts itself (<see cref="StartAsync"/>: the
/// <c>Inference.Server.dll</c> beside this program, on 127.0.0.1 with free ports, explicit model control over the
/// tune's repository, its output appended to a log file) or one it is pointed at (<see cref="Attach"/>). Disposing a
/// started server stops it (SIGKILL of its process tree; it holds nothing the tune needs afterwards).
/// </summary>
public sealed class TuneServer : IAsyncDisposable
{
    private readonly Process? _process;
    private readonly EventHandler? _onExit;

    private TuneServer(Uri http, Uri grpc, Process? process)
    {
        HttpAddress = http;
        GrpcAddress = grpc;
        _process = process;
        if (process is not null)
        {
            // Should the tune end without disposing this (a second Ctrl+C, the signal grace running out), its server
            // goes with it rather than holding the ports and a model.
            _onExit = (_, _) => Kill(process);
            AppDomain.CurrentDomain.ProcessExit += _onExit;
        }
    }

    public Uri HttpAddress { get; }

    public Uri GrpcAddress { get; }

    public bool Started => _process is not null;

    public static TuneServer Attach(Uri http, Uri grpc) => new(http, grpc, null);

    /// <summary>How the server beside this program is started: through the dotnet host that runs this program (or
    /// <c>DOTNET_HOST_PATH</c>) with the dll as its first argument (<paramref name="viaHost"/>), or, when this program
    /// runs from its own executable (a self-contained publish, as on a machine without dotnet), through the server's
    /// executable beside it.</summary>
    internal static string ServerCommand(string dll, out bool viaHost)
    {
        viaHost = true;
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host)
        {
            return host;
        }
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            return Environment.ProcessPath!;
        }
        var apphost = Path.Combine(Path.GetDirectoryName(dll)!, OperatingSystem.IsWindows() ? "Inference.Server.exe" : "Inference.Server");
        if (File.Exists(apphost))
        {
            viaHost = false;
            return apphost;
        }
        return "dotnet";
    }

    /// <summary>Starts the server over <paramref name="repository"/> and waits (up to two minutes) for
    /// <c>/v2/health/ready</c>. Throws <see cref="InvalidOperationException"/> with the end of its log when it exits
    /// or never turns ready.</summary>
    public static async Task<TuneServer> StartAsync(string repository, IReadOnlyList<string> extraArgs, string logPath, CancellationToken cancellationToken)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Inference.Server.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"Inference.Server.dll is not beside LoadTest ({AppContext.BaseDirectory}); point --url at a running server instead");
        }
        int http = FreePort(), grpc = FreePort(), metrics = FreePort();
        var info = new ProcessStartInfo(ServerCommand(dll, out var viaHost)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (viaHost)
        {
            info.ArgumentList.Add(dll);
        }
        var c = CultureInfo.InvariantCulture;
        foreach (var a in new[]
        {
            "--model-repository=" + repository, "--model-control-mode=explicit", "--strict-readiness=false", "--http-address=127.0.0.1",
            "--http-port=" + http.ToString(c), "--grpc-port=" + grpc.ToString(c), "--metrics-port=" + metrics.ToString(c),
        }.Concat(extraArgs))
        {
            info.ArgumentList.Add(a);
        }
        info.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.Exited += (_, _) => log.Dispose();
        process.EnableRaisingEvents = true;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new TuneServer(new Uri($"http://127.0.0.1:{http}/"), new Uri($"http://127.0.0.1:{grpc}/"), process);
        try
        {
            await server.WaitReadyAsync(process, logPath, cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task WaitReadyAsync(Process process, string logPath, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = HttpAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the server exited with code {process.ExitCode} before it was ready: {Tail(logPath)}");
            }
            try
            {
                using var response = await client.GetAsync("/v2/health/ready", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"the server did not turn ready within 2 minutes: {Tail(logPath)}");
            }
            await Task.Delay(100, cancellationToken);
        }
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private static string Tail(string logPath)
    {
        try
        {
            using var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return string.Join(" | ", lines.TakeLast(5));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // exited meanwhile
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is null)
        {
            return;
        }
        AppDomain.CurrentDomain.ProcessExit -= _onExit;
        Kill(_process);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
