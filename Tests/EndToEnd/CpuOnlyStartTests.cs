using System.Diagnostics;
using Inference.Server.ModelTools;
using Inference.Tests.ModelTools;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// A KIND_CPU model asks nothing of CUDA, so the server does not load the CUDA provider to find out: on a machine
/// without CUDA (as CI) that attempt prints ONNX Runtime's own red error at every start. Run as a separate process,
/// since the probe's answer is cached per process.
/// </summary>
public sealed class CpuOnlyStartTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task KindCpuModels_LoadWithoutProbingCuda()
    {
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "cpu_only", width: 4);
        Assert.Contains("kind: KIND_CPU", File.ReadAllText(Path.Combine(repository.Path, "cpu_only", "config.pbtxt")), StringComparison.Ordinal);

        var output = await RunUntilReadyAsync(repository.Path);

        Assert.Contains("Model cpu_only ready", output, StringComparison.Ordinal);
        Assert.DoesNotContain("libonnxruntime_providers_cuda", output, StringComparison.Ordinal);
        Assert.DoesNotContain("CUDA", output, StringComparison.Ordinal);
    }

    private static async Task<string> RunUntilReadyAsync(string repository)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Inference.Server.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { dll, $"--model-repository={repository}", "--http-address=127.0.0.1", "--http-port=0", "--grpc-port=0", "--metrics-port=0" })
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var lines = new System.Text.StringBuilder();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (lines)
            {
                lines.AppendLine(line);
            }
            if (line.Contains("model(s) ready", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(Ct);
        }
        lock (lines)
        {
            return lines.ToString();
        }
    }
}
